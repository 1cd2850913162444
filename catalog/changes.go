package catalog

import (
	"bytes"
	"encoding/json"
	"reflect"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/view"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

// What requests ask of tables and views arrives as raw JSON (the overlay
// keeps it so) and is decoded here, once, into iceberg-go's typed values,
// which the catalog's operations take. iceberg-go knows fields the pinned
// REST spec does not, so nothing a client sends is lost on the way.

// TableChange is one table's part of a commit: its requirements and
// updates, decoded.
type TableChange struct {
	Ident        store.Ident
	Requirements table.Requirements
	Updates      table.Updates
	// Create is set by assert-create: the commit of a staged create, which
	// creates the table.
	Create bool
	// FormatVersion is what the first upgrade-format-version asks for (0:
	// none) and AssignsUUID whether an update assigns the UUID: where a
	// staged create's metadata starts from.
	FormatVersion int
	AssignsUUID   bool

	// rawUpdates are the updates as sent. Applying updates mutates them
	// (iceberg-go's builder renumbers added schemas and sort orders in
	// place), so an attempt after the first decodes a fresh copy from
	// them: the one repeated decode.
	rawUpdates json.RawMessage
	used       bool
}

// ParseTableChange decodes a table commit's requirements and updates.
func ParseTableChange(id store.Ident, requirements, updates json.RawMessage) (TableChange, error) {
	c := TableChange{Ident: id, rawUpdates: updates}
	if !present(updates) {
		return TableChange{}, errs.New(errs.BadRequest, "Malformed request body: missing field updates")
	}
	if present(requirements) {
		if err := json.Unmarshal(requirements, &c.Requirements); err != nil {
			return TableChange{}, errs.New(errs.BadRequest, "Invalid requirements: %s", err.Error())
		}
	}
	upds, err := decodeTableUpdates(updates)
	if err != nil {
		return TableChange{}, err
	}
	c.Updates = upds
	for i, r := range c.Requirements {
		if r == nil {
			return TableChange{}, errs.New(errs.BadRequest, "Invalid requirements: item %d is null", i)
		}
		c.Create = c.Create || r.GetType() == "assert-create"
	}
	for _, u := range upds {
		switch u.Action() {
		case table.UpdateUpgradeFormatVersion:
			if c.FormatVersion == 0 {
				c.FormatVersion = intField(u, "FormatVersion")
			}
		case table.UpdateAssignUUID:
			c.AssignsUUID = true
		}
	}
	return c, nil
}

func decodeTableUpdates(raw json.RawMessage) (table.Updates, error) {
	var upds table.Updates
	if err := json.Unmarshal(raw, &upds); err != nil {
		if serr := checkAddedSchemas(raw); serr != nil {
			return nil, serr
		}
		return nil, errs.New(errs.BadRequest, "Invalid updates: %s", err.Error())
	}
	for i, u := range upds {
		if u == nil {
			return nil, errs.New(errs.BadRequest, "Invalid updates: item %d is null", i)
		}
	}
	return upds, nil
}

// checkAddedSchemas runs checkSchemaJSON on the schemas of a commit's
// add-schema updates, to say better what iceberg-go refused. Only the
// updates that name the action are looked at.
func checkAddedSchemas(raw json.RawMessage) error {
	if !bytes.Contains(raw, []byte(`"add-schema"`)) {
		return nil
	}
	var upds []struct {
		Action string          `json:"action"`
		Schema json.RawMessage `json:"schema"`
	}
	if json.Unmarshal(raw, &upds) != nil {
		return nil // iceberg-go's decoder says what is wrong
	}
	for _, u := range upds {
		if u.Action == table.UpdateAddSchema && present(u.Schema) {
			if err := checkSchemaJSON("schema of add-schema", u.Schema); err != nil {
				return err
			}
		}
	}
	return nil
}

// updates returns the updates for one application: the decoded ones the
// first time, a fresh decode after (see rawUpdates).
func (c *TableChange) updates() (table.Updates, error) {
	if !c.used {
		c.used = true
		return c.Updates, nil
	}
	return decodeTableUpdates(c.rawUpdates)
}

// ViewChange is a view commit (replaceView): its requirements and updates,
// decoded.
type ViewChange struct {
	Ident        store.Ident
	Requirements view.Requirements
	Updates      []viewUpdate

	rawUpdates json.RawMessage
	used       bool
}

// ParseViewChange decodes a view commit's requirements and updates with
// iceberg-go. It also rejects what iceberg-go v0.7.0's decoders let through
// although its builder cannot take it: add-schema without a schema and
// add-view-version without a view-version (the builder dereferences them),
// and view versions without the fields the spec requires.
func ParseViewChange(id store.Ident, requirements, updates json.RawMessage) (ViewChange, error) {
	c := ViewChange{Ident: id, rawUpdates: updates}
	if present(requirements) {
		if err := json.Unmarshal(requirements, &c.Requirements); err != nil {
			return ViewChange{}, errs.New(errs.BadRequest, "Invalid requirements: %s", err.Error())
		}
	}
	upds, err := decodeViewUpdates(updates)
	if err != nil {
		return ViewChange{}, err
	}
	c.Updates = upds
	return c, nil
}

// updates is TableChange.updates for views.
func (c *ViewChange) updates() ([]viewUpdate, error) {
	if !c.used {
		c.used = true
		return c.Updates, nil
	}
	return decodeViewUpdates(c.rawUpdates)
}

func decodeViewUpdates(updsJSON json.RawMessage) ([]viewUpdate, error) {
	var raws []json.RawMessage
	if present(updsJSON) {
		if err := json.Unmarshal(updsJSON, &raws); err != nil {
			return nil, errs.New(errs.BadRequest, "Invalid updates: %s", err.Error())
		}
	}
	upds := make([]viewUpdate, 0, len(raws))
	for i, raw := range raws {
		var wire struct {
			Action        string          `json:"action"`
			Schema        json.RawMessage `json:"schema"`
			ViewVersion   json.RawMessage `json:"view-version"`
			ViewVersionID *int64          `json:"view-version-id"`
		}
		if !present(raw) || json.Unmarshal(raw, &wire) != nil {
			return nil, errs.New(errs.BadRequest, "Invalid updates: item %d is not an update", i)
		}
		var u viewUpdate
		switch wire.Action {
		case view.UpdateAddSchema:
			if !present(wire.Schema) {
				return nil, errs.New(errs.BadRequest, "Invalid updates: %s without schema", wire.Action)
			}
			var sc iceberg.Schema
			if err := json.Unmarshal(wire.Schema, &sc); err != nil {
				if serr := checkSchemaJSON("schema of add-schema", wire.Schema); serr != nil {
					return nil, serr
				}
				return nil, errs.New(errs.BadRequest, "Invalid updates: %s: %s", wire.Action, err.Error())
			}
			u.Update, u.schema = view.NewAddSchemaUpdate(&sc), &sc
		case view.UpdateAddViewVersion:
			if !present(wire.ViewVersion) {
				return nil, errs.New(errs.BadRequest, "Invalid updates: %s without view-version", wire.Action)
			}
			v, err := ParseViewVersion(wire.ViewVersion)
			if err != nil {
				return nil, err
			}
			u.Update, u.version = view.NewAddViewVersionUpdate(v), v
		case view.UpdateSetCurrentViewVersion:
			if wire.ViewVersionID == nil {
				return nil, errs.New(errs.BadRequest, "Invalid updates: %s without view-version-id", wire.Action)
			}
			u.currentID = wire.ViewVersionID
		}
		if u.Update == nil {
			var one view.Updates
			if err := json.Unmarshal(append(append([]byte{'['}, raw...), ']'), &one); err != nil || len(one) != 1 {
				msg := "not an update"
				if err != nil {
					msg = err.Error()
				}
				return nil, errs.New(errs.BadRequest, "Invalid updates: %s", msg)
			}
			u.Update = one[0]
		}
		upds = append(upds, u)
	}
	return upds, nil
}

// ParseSchema decodes the schema of a create request (nil when there is
// none).
func ParseSchema(raw json.RawMessage) (*iceberg.Schema, error) {
	if !present(raw) {
		return nil, nil
	}
	var sc iceberg.Schema
	if err := json.Unmarshal(raw, &sc); err != nil {
		if serr := checkSchemaJSON("schema", raw); serr != nil {
			return nil, serr
		}
		return nil, errs.New(errs.BadRequest, "Invalid schema: %s", err.Error())
	}
	return &sc, nil
}

// ParsePartitionSpec decodes the partition spec of a create request (nil
// when there is none).
func ParsePartitionSpec(raw json.RawMessage) (*iceberg.PartitionSpec, error) {
	if !present(raw) {
		return nil, nil
	}
	var u iceberg.UnboundPartitionSpec
	if err := json.Unmarshal(raw, &u); err != nil {
		return nil, errs.New(errs.BadRequest, "Invalid partition spec: %s", err.Error())
	}
	return &u.PartitionSpec, nil
}

// ParseSortOrder decodes the write order of a create request (unsorted
// when there is none).
func ParseSortOrder(raw json.RawMessage) (table.SortOrder, error) {
	if !present(raw) {
		return table.UnsortedSortOrder, nil
	}
	var u table.UnboundSortOrder
	if err := json.Unmarshal(raw, &u); err != nil {
		return table.SortOrder{}, errs.New(errs.BadRequest, "Invalid write order: %s", err.Error())
	}
	return u.SortOrder, nil
}

// ParseViewVersion decodes a view version from a request (nil when there
// is none). The REST spec requires summary and default-namespace (Java
// clients cannot read a view whose version lacks them); iceberg-go does not
// check for them.
func ParseViewVersion(raw json.RawMessage) (*view.Version, error) {
	if !present(raw) {
		return nil, nil
	}
	var v view.Version
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, errs.New(errs.BadRequest, "Invalid view version: %s", err.Error())
	}
	var wire struct {
		Summary          json.RawMessage `json:"summary"`
		DefaultNamespace json.RawMessage `json:"default-namespace"`
	}
	_ = json.Unmarshal(raw, &wire) // it decoded above
	if !present(wire.DefaultNamespace) {
		return nil, errs.New(errs.BadRequest, "Invalid view version: default-namespace is required")
	}
	if !present(wire.Summary) {
		return nil, errs.New(errs.BadRequest, "Invalid view version: summary is required")
	}
	return &v, nil
}

func present(b json.RawMessage) bool {
	t := bytes.TrimSpace(b)
	return len(t) > 0 && !bytes.Equal(t, []byte("null"))
}

// iceberg-go v0.7.0 keeps the fields of its requirements and updates in
// unexported types, reachable only as interfaces. The catalog needs a few
// of them (the expected values a failed requirement is worded with, the
// version an upgrade asks for): these read the exported field by name,
// which is how the types expose them to encoding/json too.

func fieldOf(v any, name string) (reflect.Value, bool) {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return reflect.Value{}, false
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return reflect.Value{}, false
	}
	f := rv.FieldByName(name)
	return f, f.IsValid()
}

func intField(v any, name string) int {
	if f, ok := fieldOf(v, name); ok && f.CanInt() {
		return int(f.Int())
	}
	return 0
}

func stringField(v any, name string) string {
	if f, ok := fieldOf(v, name); ok {
		if s, ok := f.Interface().(interface{ String() string }); ok {
			return s.String()
		}
		if f.Kind() == reflect.String {
			return f.String()
		}
	}
	return ""
}

// int64PtrField reads a *int64 field (nil: absent or null).
func int64PtrField(v any, name string) *int64 {
	if f, ok := fieldOf(v, name); ok && f.Kind() == reflect.Pointer && !f.IsNil() && f.Elem().CanInt() {
		n := f.Elem().Int()
		return &n
	}
	return nil
}

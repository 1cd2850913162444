package catalog

// Decoding of function requests: definitions (create, add-definition),
// definition versions, requirements and updates. The udf package parses
// and validates every piece (types, representations, the rules of the
// FunctionMetadata schema); what is here only walks the request so that a
// malformed piece is answered with 400 naming where it is
// ("definitions[0].parameters[1].type: ...").

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/udf"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

// functionFieldError is the 400 of a malformed function request at field.
// The udf package's own prefix ("invalid UDF metadata: ") says nothing the
// field does not.
func functionFieldError(field string, err error) error {
	msg := err.Error()
	for _, prefix := range []string{udf.ErrInvalidUDFMetadata.Error() + ": ", udf.ErrInvalidUDFType.Error() + ": "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	return errs.New(errs.BadRequest, "Invalid function %s: %s", field, msg)
}

// ParseFunctionDefinitions decodes the definitions of a create-function
// request.
func ParseFunctionDefinitions(raws []json.RawMessage) ([]FunctionDefinition, error) {
	out := make([]FunctionDefinition, len(raws))
	for i, raw := range raws {
		d, err := parseFunctionDefinition(fmt.Sprintf("definitions[%d]", i), raw)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

// definitionWire is a definition as requests carry it: the signature and
// its first version, without the ids and timestamps the server assigns.
type definitionWire struct {
	Parameters     json.RawMessage `json:"parameters"`
	ReturnType     json.RawMessage `json:"return-type"`
	ReturnNullable *bool           `json:"return-nullable"`
	FunctionType   string          `json:"function-type"`
	Doc            string          `json:"doc"`
	SpecificName   string          `json:"specific-name"`
	Version        json.RawMessage `json:"version"`
}

// versionWire is a definition version as requests carry it.
type versionWire struct {
	Representations []json.RawMessage `json:"representations"`
	Deterministic   bool              `json:"deterministic"`
	OnNullInput     string            `json:"on-null-input"`
}

func parseFunctionDefinition(field string, raw json.RawMessage) (FunctionDefinition, error) {
	var w definitionWire
	if err := strictObject(raw, &w); err != nil {
		return FunctionDefinition{}, functionFieldError(field, err)
	}
	if !present(w.Parameters) {
		return FunctionDefinition{}, functionFieldError(field+".parameters", errors.New("required (an empty list for a function without parameters)"))
	}
	var rawParams []json.RawMessage
	if err := json.Unmarshal(w.Parameters, &rawParams); err != nil {
		return FunctionDefinition{}, functionFieldError(field+".parameters", errors.New("must be a list"))
	}
	params := make([]udf.Parameter, len(rawParams))
	for j, rp := range rawParams {
		f := fmt.Sprintf("%s.parameters[%d]", field, j)
		var p struct {
			Name *string         `json:"name"`
			Type json.RawMessage `json:"type"`
		}
		if err := strictObject(rp, &p); err != nil {
			return FunctionDefinition{}, functionFieldError(f, err)
		}
		if p.Name == nil || *p.Name == "" {
			return FunctionDefinition{}, functionFieldError(f+".name", errors.New("required"))
		}
		if !present(p.Type) {
			return FunctionDefinition{}, functionFieldError(f+".type", errors.New("required"))
		}
		if err := json.Unmarshal(rp, &params[j]); err != nil {
			return FunctionDefinition{}, functionFieldError(f+".type", err)
		}
	}
	if !present(w.ReturnType) {
		return FunctionDefinition{}, functionFieldError(field+".return-type", errors.New("required"))
	}
	ret, err := parseFunctionType(w.ReturnType)
	if err != nil {
		return FunctionDefinition{}, functionFieldError(field+".return-type", err)
	}
	ft := udf.FunctionType(w.FunctionType)
	if ft != udf.FunctionTypeUDF && ft != udf.FunctionTypeUDTF {
		return FunctionDefinition{}, functionFieldError(field+".function-type", fmt.Errorf("%q must be %q or %q", w.FunctionType, udf.FunctionTypeUDF, udf.FunctionTypeUDTF))
	}
	var opts []udf.DefinitionOpt
	if w.SpecificName != "" {
		opts = append(opts, udf.WithSpecificName(w.SpecificName))
	}
	if w.Doc != "" {
		opts = append(opts, udf.WithDefinitionDoc(w.Doc))
	}
	if w.ReturnNullable != nil {
		opts = append(opts, udf.WithReturnNullable(*w.ReturnNullable))
	}
	def, err := udf.NewDefinition(ft, params, ret, opts...)
	if err != nil {
		return FunctionDefinition{}, functionFieldError(field+".parameters", err)
	}
	if !present(w.Version) {
		return FunctionDefinition{}, functionFieldError(field+".version", errors.New("required: a definition starts with its first version"))
	}
	version, err := parseFunctionVersion(field+".version", w.Version)
	if err != nil {
		return FunctionDefinition{}, err
	}
	// The udf builder checks a definition as a whole (a udtf must return a
	// struct with fields, on-null-input, dialects) only when it builds
	// metadata: building one holding this definition alone lets its error
	// name this definition rather than the function.
	b, err := udf.NewMetadataBuilder()
	if err != nil {
		return FunctionDefinition{}, errs.Wrap(errs.Internal, err, "starting function metadata")
	}
	if _, err := b.AddDefinition(def).AddDefinitionVersion(def.DefinitionID, version).Build(); err != nil {
		return FunctionDefinition{}, functionFieldError(field, err)
	}
	return FunctionDefinition{def: def, version: version}, nil
}

// parseFunctionType decodes a parameter or return type with the udf
// package. Its type decoder is unexported; a Parameter's decoder is the
// exported door to it, so the type is decoded as a parameter's.
func parseFunctionType(raw json.RawMessage) (udf.Type, error) {
	doc, err := json.Marshal(map[string]json.RawMessage{"name": json.RawMessage(`"_"`), "type": raw})
	if err != nil {
		return nil, err
	}
	var p udf.Parameter
	if err := json.Unmarshal(doc, &p); err != nil {
		return nil, err
	}
	return p.Type, nil
}

// parseFunctionVersion decodes a definition version of a request: SQL
// representations (the only kind the spec defines; a request may not send
// another, though a registered file may hold one, which the udf package
// keeps as it is), deterministic and on-null-input.
func parseFunctionVersion(field string, raw json.RawMessage) (*udf.DefinitionVersion, error) {
	var w versionWire
	if err := strictObject(raw, &w); err != nil {
		return nil, functionFieldError(field, err)
	}
	if len(w.Representations) == 0 {
		return nil, functionFieldError(field+".representations", errors.New("must hold at least one representation"))
	}
	reprs := make([]udf.Representation, len(w.Representations))
	seen := map[string]int{}
	for k, rr := range w.Representations {
		f := fmt.Sprintf("%s.representations[%d]", field, k)
		var r struct {
			Type    string `json:"type"`
			Dialect string `json:"dialect"`
			SQL     string `json:"sql"`
		}
		if err := strictObject(rr, &r); err != nil {
			return nil, functionFieldError(f, err)
		}
		if r.Type != "sql" {
			return nil, functionFieldError(f+".type", fmt.Errorf("%q is not a representation type; the only one is \"sql\"", r.Type))
		}
		if r.Dialect == "" {
			return nil, functionFieldError(f+".dialect", errors.New("required"))
		}
		if r.SQL == "" {
			return nil, functionFieldError(f+".sql", errors.New("required"))
		}
		dialect := strings.ToLower(r.Dialect)
		if prev, ok := seen[dialect]; ok {
			return nil, functionFieldError(f+".dialect", fmt.Errorf("%q repeats the dialect of representations[%d]: one representation per dialect", r.Dialect, prev))
		}
		seen[dialect] = k
		sql, err := udf.NewSQLRepresentation(r.Dialect, r.SQL)
		if err != nil {
			return nil, functionFieldError(f, err)
		}
		reprs[k] = sql
	}
	switch udf.OnNullInput(w.OnNullInput) {
	case "", udf.OnNullInputCall, udf.OnNullInputReturnNull:
	default:
		return nil, functionFieldError(field+".on-null-input", fmt.Errorf("%q must be %q or %q", w.OnNullInput, udf.OnNullInputCall, udf.OnNullInputReturnNull))
	}
	opts := []udf.DefinitionVersionOpt{udf.WithDeterministic(w.Deterministic)}
	if w.OnNullInput != "" {
		opts = append(opts, udf.WithOnNullInput(udf.OnNullInput(w.OnNullInput)))
	}
	v, err := udf.NewDefinitionVersion(reprs, opts...)
	if err != nil {
		return nil, functionFieldError(field, err)
	}
	return v, nil
}

// strictObject decodes a JSON object into v, saying what is wrong in words
// a client can act on.
func strictObject(raw json.RawMessage, v any) error {
	t := strings.TrimSpace(string(raw))
	if !strings.HasPrefix(t, "{") {
		return errors.New("must be a JSON object")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fmt.Errorf("%s must be %s, not %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
		}
		return err
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "int", "int64":
		return "an integer"
	case "slice":
		return "a list"
	case "map", "struct":
		return "an object"
	}
	return goKind
}

// FunctionChange is a decoded replace-function request.
type FunctionChange struct {
	Ident        store.Ident
	requirements []functionRequirement
	updates      []functionUpdate
}

// functionRequirement is one requirement of a replace: assert-function-uuid
// or assert-current-version.
type functionRequirement struct {
	typ          string
	uuid         string
	definitionID string
	versionID    int
}

// check fails with CommitFailed when m does not meet r.
func (r functionRequirement) check(m udf.Metadata) error {
	switch r.typ {
	case "assert-function-uuid":
		if got := m.FunctionUUID().String(); !strings.EqualFold(got, r.uuid) {
			return errs.New(errs.CommitFailed, "Requirement failed: function UUID does not match: expected %s != %s", r.uuid, got)
		}
	case "assert-current-version":
		def, ok := m.DefinitionByID(r.definitionID)
		if !ok {
			return errs.New(errs.CommitFailed, "Requirement failed: definition %q does not exist", r.definitionID)
		}
		if def.CurrentVersionID != r.versionID {
			return errs.New(errs.CommitFailed, "Requirement failed: current version of definition %q changed: expected %d != %d",
				r.definitionID, r.versionID, def.CurrentVersionID)
		}
	}
	return nil
}

// functionUpdate is one update of a replace, applied to the udf builder
// at nowMS, the commit's time; its errors stay in the builder
// (MetadataBuilder.Err).
type functionUpdate struct {
	action string
	apply  func(b *udf.MetadataBuilder, nowMS int64)
}

// versionAt is v as added at nowMS: a version's timestamp-ms is when it
// became part of the function (the commit), like the definition-log entry
// the same commit writes, not when the request was decoded.
func versionAt(v *udf.DefinitionVersion, nowMS int64) *udf.DefinitionVersion {
	at := v.Clone()
	at.TimestampMS = nowMS
	return at
}

// ParseFunctionChange decodes a replace-function request's requirements
// and updates. Each update maps to one udf.MetadataBuilder method.
func ParseFunctionChange(id store.Ident, requirements, updates []json.RawMessage) (FunctionChange, error) {
	c := FunctionChange{Ident: id}
	for i, raw := range requirements {
		f := fmt.Sprintf("requirements[%d]", i)
		var w struct {
			Type         string  `json:"type"`
			UUID         *string `json:"uuid"`
			DefinitionID *string `json:"definition-id"`
			VersionID    *int    `json:"version-id"`
		}
		if err := strictObject(raw, &w); err != nil {
			return FunctionChange{}, functionFieldError(f, err)
		}
		r := functionRequirement{typ: w.Type}
		switch w.Type {
		case "assert-function-uuid":
			if w.UUID == nil || *w.UUID == "" {
				return FunctionChange{}, functionFieldError(f+".uuid", errors.New("required"))
			}
			r.uuid = *w.UUID
		case "assert-current-version":
			if w.DefinitionID == nil {
				return FunctionChange{}, functionFieldError(f+".definition-id", errors.New("required"))
			}
			if w.VersionID == nil {
				return FunctionChange{}, functionFieldError(f+".version-id", errors.New("required"))
			}
			r.definitionID, r.versionID = *w.DefinitionID, *w.VersionID
		default:
			return FunctionChange{}, functionFieldError(f+".type", fmt.Errorf("unknown requirement %q (assert-function-uuid or assert-current-version)", w.Type))
		}
		c.requirements = append(c.requirements, r)
	}
	for i, raw := range updates {
		u, err := parseFunctionUpdate(fmt.Sprintf("updates[%d]", i), raw)
		if err != nil {
			return FunctionChange{}, err
		}
		c.updates = append(c.updates, u)
	}
	return c, nil
}

// functionActions lists the update actions, for messages.
const functionActions = "add-definition, add-definition-version, set-current-version, remove-definition, set-properties, remove-properties, set-location, set-secure, set-doc"

func parseFunctionUpdate(f string, raw json.RawMessage) (functionUpdate, error) {
	var w struct {
		Action       string            `json:"action"`
		Definition   json.RawMessage   `json:"definition"`
		DefinitionID *string           `json:"definition-id"`
		Version      json.RawMessage   `json:"version"`
		VersionID    *int              `json:"version-id"`
		Updates      map[string]string `json:"updates"`
		Removals     []string          `json:"removals"`
		Location     *string           `json:"location"`
		Secure       *bool             `json:"secure"`
		Doc          *string           `json:"doc"`
	}
	if err := strictObject(raw, &w); err != nil {
		return functionUpdate{}, functionFieldError(f, err)
	}
	u := functionUpdate{action: w.Action}
	definitionID := func() (string, error) {
		if w.DefinitionID == nil {
			return "", functionFieldError(f+".definition-id", errors.New("required"))
		}
		return *w.DefinitionID, nil
	}
	switch w.Action {
	case "add-definition":
		if !present(w.Definition) {
			return functionUpdate{}, functionFieldError(f+".definition", errors.New("required"))
		}
		d, err := parseFunctionDefinition(f+".definition", w.Definition)
		if err != nil {
			return functionUpdate{}, err
		}
		u.apply = func(b *udf.MetadataBuilder, nowMS int64) {
			b.AddDefinition(d.def).AddDefinitionVersion(d.def.DefinitionID, versionAt(d.version, nowMS))
		}
	case "add-definition-version":
		id, err := definitionID()
		if err != nil {
			return functionUpdate{}, err
		}
		if !present(w.Version) {
			return functionUpdate{}, functionFieldError(f+".version", errors.New("required"))
		}
		v, err := parseFunctionVersion(f+".version", w.Version)
		if err != nil {
			return functionUpdate{}, err
		}
		u.apply = func(b *udf.MetadataBuilder, nowMS int64) { b.AddDefinitionVersion(id, versionAt(v, nowMS)) }
	case "set-current-version":
		id, err := definitionID()
		if err != nil {
			return functionUpdate{}, err
		}
		if w.VersionID == nil {
			return functionUpdate{}, functionFieldError(f+".version-id", errors.New("required"))
		}
		vid := *w.VersionID
		u.apply = func(b *udf.MetadataBuilder, _ int64) { b.SetCurrentVersion(id, vid) }
	case "remove-definition":
		id, err := definitionID()
		if err != nil {
			return functionUpdate{}, err
		}
		u.apply = func(b *udf.MetadataBuilder, _ int64) { b.RemoveDefinition(id) }
	case "set-properties":
		if err := store.CheckProperties(w.Updates); err != nil {
			return functionUpdate{}, functionFieldError(f+".updates", err)
		}
		props := iceberg.Properties(maps.Clone(w.Updates))
		u.apply = func(b *udf.MetadataBuilder, _ int64) { b.SetProperties(props) }
	case "remove-properties":
		removals := w.Removals
		u.apply = func(b *udf.MetadataBuilder, _ int64) { b.RemoveProperties(removals) }
	case "set-location":
		if w.Location == nil || strings.TrimRight(*w.Location, "/") == "" {
			return functionUpdate{}, functionFieldError(f+".location", errors.New("required"))
		}
		if err := store.CheckLocation("Location", *w.Location); err != nil {
			return functionUpdate{}, functionFieldError(f+".location", err)
		}
		loc := strings.TrimRight(*w.Location, "/")
		u.apply = func(b *udf.MetadataBuilder, _ int64) { b.SetLoc(loc) }
	case "set-secure":
		if w.Secure == nil {
			return functionUpdate{}, functionFieldError(f+".secure", errors.New("required"))
		}
		secure := *w.Secure
		u.apply = func(b *udf.MetadataBuilder, _ int64) { b.SetSecure(secure) }
	case "set-doc":
		if w.Doc == nil {
			return functionUpdate{}, functionFieldError(f+".doc", errors.New("required"))
		}
		doc := *w.Doc
		u.apply = func(b *udf.MetadataBuilder, _ int64) { b.SetDoc(doc) }
	default:
		return functionUpdate{}, functionFieldError(f+".action", fmt.Errorf("unknown action %q (one of %s)", w.Action, functionActions))
	}
	return u, nil
}

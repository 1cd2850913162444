package catalog

// Views: the same lifecycle as tables, with iceberg-go's view package for
// the metadata. A view's metadata file is written through the same FileIO as
// a table's, and its row lives next to the tables of its namespace (one name
// space for both kinds, enforced by the store).

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/view"
	"github.com/google/uuid"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

// CreateViewInput is a create-view request. Schema and ViewVersion are JSON
// as the REST spec defines them.
type CreateViewInput struct {
	Ident       store.Ident
	Location    string
	Schema      json.RawMessage
	ViewVersion json.RawMessage
	Properties  map[string]string
}

// ViewResult is a view's current metadata and the file it is in.
type ViewResult struct {
	MetadataLocation string
	Metadata         []byte
}

// CreateView creates a view: its first metadata (version 1, the request's
// schema as schema 0) is built with iceberg-go, written to a new file, and
// the view inserted. A table or view of the same name makes it fail with
// AlreadyExists.
func (s *Service) CreateView(ctx context.Context, in CreateViewInput) (ViewResult, error) {
	id := in.Ident
	if err := s.checkEntityIdent(store.KindView, id); err != nil {
		return ViewResult{}, err
	}

	if !present(in.Schema) {
		return ViewResult{}, errs.New(errs.BadRequest, "Create view request must have a schema")
	}
	var sc iceberg.Schema
	if err := json.Unmarshal(in.Schema, &sc); err != nil {
		return ViewResult{}, errs.New(errs.BadRequest, "Invalid schema: %s", err.Error())
	}
	if !present(in.ViewVersion) {
		return ViewResult{}, errs.New(errs.BadRequest, "Create view request must have a view-version")
	}
	version, err := decodeViewVersion(in.ViewVersion)
	if err != nil {
		return ViewResult{}, err
	}

	nsLoc, err := s.locationOfNamespace(ctx, id.Warehouse, id.Namespace)
	if err != nil {
		return ViewResult{}, err
	}
	viewUUID := uuid.New()
	loc := strings.TrimRight(in.Location, "/")
	if loc == "" {
		loc = s.defaultEntityLocation(nsLoc, id, viewUUID)
	}
	props := entityProperties(store.KindView, s.opts.Defaults, in.Properties, s.opts.Overrides)
	claims, err := s.entityPlacement(id.Warehouse, nsLoc, loc, props)
	if err != nil {
		return ViewResult{}, err
	}
	// The builder numbers the version 1 and the schema 0 whatever the
	// request said, as Java's does.
	meta, err := view.NewMetadataWithUUID(version, &sc, loc, props, viewUUID)
	if err != nil {
		return ViewResult{}, updatesError(err)
	}
	doc, err := encodeViewMetadata(meta)
	if err != nil {
		return ViewResult{}, err
	}
	metaLoc, err := newViewMetadataLocation(meta, 0)
	if err != nil {
		return ViewResult{}, err
	}
	if err := s.io.WriteNew(ctx, metaLoc, doc); err != nil {
		return ViewResult{}, err
	}
	err = s.st.CreateEntity(ctx, store.Entity{
		Ident: id, Kind: store.KindView, MetadataLocation: metaLoc, Metadata: doc,
		UUID: viewUUID.String(), Claims: claims,
	})
	if err != nil {
		s.discardFile(ctx, metaLoc, err)
		return ViewResult{}, err
	}
	return ViewResult{MetadataLocation: metaLoc, Metadata: doc}, nil
}

// LoadView returns a view's current metadata.
func (s *Service) LoadView(ctx context.Context, id store.Ident) (ViewResult, error) {
	e, err := s.loadEntity(ctx, store.KindView, id)
	if err != nil {
		return ViewResult{}, err
	}
	return ViewResult{MetadataLocation: e.MetadataLocation, Metadata: e.Metadata}, nil
}

// ViewExists returns nil when the view exists and a NoSuchView error when
// it does not (a table of that name is not a view).
func (s *Service) ViewExists(ctx context.Context, id store.Ident) error {
	return s.entityExists(ctx, store.KindView, id)
}

// ListViews returns one page of the views of a namespace and the token of
// the next page ("" on the last page).
func (s *Service) ListViews(ctx context.Context, warehouse string, namespace []string, pg Page) ([]store.Ident, string, error) {
	return s.listEntities(ctx, store.KindView, warehouse, namespace, pg)
}

// DropView drops a view. Its metadata files stay where they are: a view has
// no data, and the REST spec has no purge for views.
func (s *Service) DropView(ctx context.Context, id store.Ident) error {
	if err := s.checkEntityIdent(store.KindView, id); err != nil {
		return err
	}
	_, err := s.st.DropEntity(ctx, store.KindView, id, false)
	return err
}

// RenameView renames a view, possibly into another namespace of the same
// warehouse. The view keeps its metadata file.
func (s *Service) RenameView(ctx context.Context, from, to store.Ident) error {
	return s.renameEntity(ctx, store.KindView, from, to)
}

// RegisterView adds a view whose metadata file already exists. The name
// must be free: a table or view of that name makes it fail with
// AlreadyExists.
func (s *Service) RegisterView(ctx context.Context, id store.Ident, metadataLocation string) (ViewResult, error) {
	if err := s.checkEntityIdent(store.KindView, id); err != nil {
		return ViewResult{}, err
	}
	doc, nsLoc, err := s.readRegistered(ctx, id, metadataLocation)
	if err != nil {
		return ViewResult{}, err
	}
	meta, err := view.ParseMetadataBytes(doc)
	if err != nil {
		return ViewResult{}, errs.New(errs.BadRequest, "Not a valid Iceberg view metadata file: %s: %s", metadataLocation, err.Error())
	}
	if err := inOwnLocation(metadataLocation, meta.Location(), meta.Properties()); err != nil {
		return ViewResult{}, err
	}
	claims, err := s.entityPlacement(id.Warehouse, nsLoc, meta.Location(), meta.Properties())
	if err != nil {
		return ViewResult{}, err
	}
	err = s.st.CreateEntity(ctx, store.Entity{
		Ident: id, Kind: store.KindView, MetadataLocation: metadataLocation, Metadata: doc, EventType: store.EventViewRegistered,
		UUID: meta.ViewUUID().String(), Claims: claims, Register: true,
	})
	if err != nil {
		return ViewResult{}, err
	}
	return ViewResult{MetadataLocation: metadataLocation, Metadata: doc}, nil
}

// CommitView applies a replace-view request: the requirements are checked
// against the view's current metadata and the updates applied to it in
// request order with iceberg-go's view builder; the new metadata goes to a
// new file and the view's pointer is swapped if the view has not moved
// meanwhile. When a concurrent commit wins that race, the commit is tried
// again on the new metadata (requirements checked again) within Options'
// retry bounds; once they are used up it fails with CommitFailed.
func (s *Service) CommitView(ctx context.Context, id store.Ident, requirements, updates json.RawMessage) (ViewResult, error) {
	if err := s.checkEntityIdent(store.KindView, id); err != nil {
		return ViewResult{}, err
	}
	if _, _, err := parseViewChanges(requirements, updates); err != nil {
		return ViewResult{}, err
	}
	deadline := s.retryDeadline()
	for attempt := 0; ; attempt++ {
		res, lostRace, err := s.commitViewOnce(ctx, id, requirements, updates)
		if err == nil {
			return res, nil
		}
		// Only a lost race is worth another attempt; a requirement that
		// failed on the current metadata fails again.
		if !lostRace || attempt >= s.opts.MaxRetries || !s.backoff(ctx, attempt, deadline) {
			return ViewResult{}, err
		}
	}
}

// commitViewOnce is one attempt of CommitView on the metadata the view has
// now. Requirements and updates are decoded anew for every attempt, as for
// tables: applying them may mutate them. lostRace reports that the store
// refused the swap because the view moved (CommitFailed from the store).
func (s *Service) commitViewOnce(ctx context.Context, id store.Ident, reqsJSON, updsJSON json.RawMessage) (res ViewResult, lostRace bool, err error) {
	reqs, upds, err := parseViewChanges(reqsJSON, updsJSON)
	if err != nil {
		return ViewResult{}, false, err
	}
	cur, err := s.st.GetEntity(ctx, store.KindView, id)
	if err != nil {
		return ViewResult{}, false, err
	}
	base, err := view.ParseMetadataBytes(cur.Metadata)
	if err != nil {
		return ViewResult{}, false, errs.Wrap(errs.Internal, err, "Stored metadata of %s is invalid", id)
	}
	for _, r := range reqs {
		if err := r.Validate(base); err != nil {
			return ViewResult{}, false, requirementError(err)
		}
	}
	next, changed, err := applyViewUpdates(base, upds)
	if err != nil {
		return ViewResult{}, false, err
	}
	if !changed {
		return ViewResult{MetadataLocation: cur.MetadataLocation, Metadata: cur.Metadata}, false, nil
	}
	var claims []string
	if locationsChanged(base.Location(), next.Location(), base.Properties(), next.Properties()) {
		if claims, err = s.placeEntity(ctx, id, next.Location(), next.Properties()); err != nil {
			return ViewResult{}, false, err
		}
	}
	doc, err := encodeViewMetadata(next)
	if err != nil {
		return ViewResult{}, false, err
	}
	loc, err := newViewMetadataLocation(next, metadataVersion(cur.MetadataLocation)+1)
	if err != nil {
		return ViewResult{}, false, err
	}
	if err := s.io.WriteNew(ctx, loc, doc); err != nil {
		return ViewResult{}, false, err
	}
	err = s.st.Commit(ctx, []store.Commit{{
		Ident: id, Kind: store.KindView, BaseVersion: cur.Version, MetadataLocation: loc, Metadata: doc, Claims: claims,
	}})
	if err != nil {
		s.discardFile(ctx, loc, err)
		return ViewResult{}, errs.Is(err, errs.CommitFailed), movedOntoOwned(err)
	}
	return ViewResult{MetadataLocation: loc, Metadata: doc}, false, nil
}

// viewUpdate is one decoded update of a view commit. For add-schema,
// add-view-version and set-current-view-version the payload is kept as
// well, because applyViewUpdates needs it and iceberg-go's update types are
// unexported.
type viewUpdate struct {
	view.Update
	schema    *iceberg.Schema // add-schema
	version   *view.Version   // add-view-version
	currentID *int64          // set-current-view-version
}

// parseViewChanges decodes a view commit's requirements and updates with
// iceberg-go. It also rejects what iceberg-go v0.7.0's decoders let through
// although its builder cannot take it: add-schema without a schema and
// add-view-version without a view-version (the builder dereferences them),
// and view versions without the fields the spec requires.
func parseViewChanges(reqsJSON, updsJSON json.RawMessage) (view.Requirements, []viewUpdate, error) {
	var reqs view.Requirements
	if present(reqsJSON) {
		if err := json.Unmarshal(reqsJSON, &reqs); err != nil {
			return nil, nil, errs.New(errs.BadRequest, "Invalid requirements: %s", err.Error())
		}
	}
	var raws []json.RawMessage
	if present(updsJSON) {
		if err := json.Unmarshal(updsJSON, &raws); err != nil {
			return nil, nil, errs.New(errs.BadRequest, "Invalid updates: %s", err.Error())
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
			return nil, nil, errs.New(errs.BadRequest, "Invalid updates: item %d is not an update", i)
		}
		var u viewUpdate
		switch wire.Action {
		case view.UpdateAddSchema:
			if !present(wire.Schema) {
				return nil, nil, errs.New(errs.BadRequest, "Invalid updates: %s without schema", wire.Action)
			}
			var sc iceberg.Schema
			if err := json.Unmarshal(wire.Schema, &sc); err != nil {
				return nil, nil, errs.New(errs.BadRequest, "Invalid updates: %s: %s", wire.Action, err.Error())
			}
			u.Update, u.schema = view.NewAddSchemaUpdate(&sc), &sc
		case view.UpdateAddViewVersion:
			if !present(wire.ViewVersion) {
				return nil, nil, errs.New(errs.BadRequest, "Invalid updates: %s without view-version", wire.Action)
			}
			v, err := decodeViewVersion(wire.ViewVersion)
			if err != nil {
				return nil, nil, err
			}
			u.Update, u.version = view.NewAddViewVersionUpdate(v), v
		case view.UpdateSetCurrentViewVersion:
			if wire.ViewVersionID == nil {
				return nil, nil, errs.New(errs.BadRequest, "Invalid updates: %s without view-version-id", wire.Action)
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
				return nil, nil, errs.New(errs.BadRequest, "Invalid updates: %s", msg)
			}
			u.Update = one[0]
		}
		upds = append(upds, u)
	}
	return reqs, upds, nil
}

// decodeViewVersion decodes a view version from a request. The REST spec
// requires summary and default-namespace (Java clients cannot read a view
// whose version lacks them); iceberg-go does not check for them.
func decodeViewVersion(raw json.RawMessage) (*view.Version, error) {
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

// applyViewUpdates applies upds in request order on base with iceberg-go's
// view builder and reports changed=false when they left the metadata as it
// was (then no new file is written).
//
// This is the one place that works around iceberg-go v0.7.0's builder
// where a request re-adds what the view already has:
//   - add-view-version of a version equal to an existing one (same SQL,
//     schema, namespaces and summary; id and timestamp aside) makes the
//     builder append a second version with the same id, and Build fails.
//     Java's builder reuses the existing version; so does this: the add is
//     skipped.
//   - after such a re-add, and after an add-schema of a schema the view
//     already has, "-1" (the one just added) finds nothing in either
//     builder and fails. Here it means the existing version or schema.
//     That is what the client asked for, and it is what a retried replace
//     meets when a concurrent replace already added the same schema.
func applyViewUpdates(base view.Metadata, upds []viewUpdate) (view.Metadata, bool, error) {
	b, err := view.MetadataBuilderFromBase(base)
	if err != nil {
		return nil, false, errs.Wrap(errs.Internal, err, "loading view metadata")
	}
	baseVersions, baseSchemas := base.Versions(), base.Schemas()
	var reusedVersion *int64 // the existing version the last add-view-version meant
	var reusedSchema *int    // the existing schema the last add-schema meant
	for _, u := range upds {
		upd := u.Update
		switch {
		case u.schema != nil:
			reusedSchema = nil
			for _, sc := range baseSchemas {
				if u.schema.Equals(sc) {
					reusedSchema = &sc.ID
					break
				}
			}
		case u.version != nil:
			if u.version.SchemaID == view.LastAddedID && reusedSchema != nil {
				v := u.version.Clone()
				v.SchemaID = *reusedSchema
				upd = view.NewAddViewVersionUpdate(v)
				u.version = v
			}
			reusedVersion = nil
			for _, v := range baseVersions {
				if v.Equals(u.version) {
					reusedVersion = &v.VersionID
					break
				}
			}
			if reusedVersion != nil {
				continue
			}
		case u.currentID != nil && *u.currentID == view.LastAddedID && reusedVersion != nil:
			upd = view.NewSetCurrentVersionUpdate(*reusedVersion)
		}
		if err := upd.Apply(b); err != nil {
			return nil, false, updatesError(err)
		}
	}
	if !b.HasChanges() {
		return base, false, nil
	}
	m, err := b.Build()
	if err != nil {
		return nil, false, updatesError(err)
	}
	return m.Metadata, true, nil
}

// encodeViewMetadata is the JSON document of m, as stored and served.
func encodeViewMetadata(m view.Metadata) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "encoding view metadata")
	}
	return b, nil
}

// newViewMetadataLocation names the file of view metadata version version:
// <location>/metadata/NNNNN-<uuid>.metadata.json, or below
// write.metadata.path when the view sets it, as Java names view metadata
// files. iceberg-go has no view location provider; its table provider makes
// the same names when given only write.metadata.path (view metadata is
// never compressed, nor laid out for object stores).
func newViewMetadataLocation(m view.Metadata, version int) (string, error) {
	props := iceberg.Properties{}
	if p, ok := m.Properties()[table.WriteMetadataPathKey]; ok {
		props[table.WriteMetadataPathKey] = strings.TrimRight(p, "/")
	}
	p, err := table.LoadLocationProvider(m.Location(), props)
	if err != nil {
		return "", errs.New(errs.BadRequest, "Invalid view location %q: %s", m.Location(), err.Error())
	}
	loc, err := p.NewTableMetadataFileLocation(version)
	if err != nil {
		return "", errs.New(errs.BadRequest, "%s", err.Error())
	}
	return loc, nil
}

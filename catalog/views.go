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

// CreateViewInput is a create-view request, decoded (ParseSchema,
// ParseViewVersion).
type CreateViewInput struct {
	Ident       store.Ident
	Location    string
	Schema      *iceberg.Schema
	ViewVersion *view.Version
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

	if in.Schema == nil {
		return ViewResult{}, errs.New(errs.BadRequest, "Create view request must have a schema")
	}
	if in.ViewVersion == nil {
		return ViewResult{}, errs.New(errs.BadRequest, "Create view request must have a view-version")
	}
	sc, version := in.Schema, in.ViewVersion

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
	meta, err := view.NewMetadataWithUUID(version, sc, loc, props, viewUUID)
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
		if discardable(err) {
			// Writing the file made its directories; a failed create
			// leaves none behind (those holding other files stay).
			_ = s.io.RemoveEmptyDirectories(context.WithoutCancel(ctx), loc)
		}
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
// files.
func newViewMetadataLocation(m view.Metadata, version int) (string, error) {
	return newMetadataFileLocation("view", m.Location(), m.Properties(), version)
}

// newMetadataFileLocation names a view's or function's metadata file.
// iceberg-go has no location provider for them; its table provider makes
// the same names when given only write.metadata.path (such metadata is
// never compressed, nor laid out for object stores). what names the kind
// in messages.
func newMetadataFileLocation(what, location string, properties iceberg.Properties, version int) (string, error) {
	props := iceberg.Properties{}
	if p, ok := properties[table.WriteMetadataPathKey]; ok {
		props[table.WriteMetadataPathKey] = strings.TrimRight(p, "/")
	}
	p, err := table.LoadLocationProvider(location, props)
	if err != nil {
		return "", errs.New(errs.BadRequest, "Invalid %s location %q: %s", what, location, err.Error())
	}
	loc, err := p.NewTableMetadataFileLocation(version)
	if err != nil {
		return "", errs.New(errs.BadRequest, "%s", err.Error())
	}
	return loc, nil
}

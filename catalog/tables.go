package catalog

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/vend"
)

// CreateTableInput is a create-table request, decoded (ParseSchema,
// ParsePartitionSpec, ParseSortOrder); PartitionSpec may be nil (none) and
// WriteOrder zero (unsorted).
type CreateTableInput struct {
	Ident         store.Ident
	Location      string
	Schema        *iceberg.Schema
	PartitionSpec *iceberg.PartitionSpec
	WriteOrder    table.SortOrder
	Properties    map[string]string
	StageCreate   bool
	// Access, when set, asks for delegated access to the new table's
	// files; it is granted before anything is written, so a create whose
	// credentials cannot be vended leaves nothing behind.
	Access *AccessRequest
}

// TableResult is a table's current metadata. For a staged create,
// MetadataLocation and ETag are empty.
type TableResult struct {
	MetadataLocation string
	Metadata         []byte
	ETag             string
	// Access is the delegated access CreateTable granted (see
	// CreateTableInput.Access).
	Access vend.Grant
}

// CreateTable creates a table: it builds fresh metadata with iceberg-go,
// writes the first metadata file and then inserts the table. A staged create
// only builds the metadata; the table comes into being with the commit that
// carries assert-create.
func (s *Service) CreateTable(ctx context.Context, in CreateTableInput) (TableResult, error) {
	id := in.Ident
	if err := s.checkEntityIdent(store.KindTable, id); err != nil {
		return TableResult{}, err
	}
	if in.Schema == nil {
		return TableResult{}, errs.New(errs.BadRequest, "Create table request must have a schema")
	}
	sc := in.Schema
	// iceberg-go takes identifier-field-ids as they come; Java's Schema
	// refuses ids that are not required primitive fields, and so cannot
	// read a table created with them.
	for _, fid := range sc.IdentifierFieldIDs {
		f, ok := sc.FindFieldByID(fid)
		switch {
		case !ok:
			return TableResult{}, errs.New(errs.BadRequest, "Cannot add fieldId %d as an identifier field: field does not exist", fid)
		case !f.Required:
			return TableResult{}, errs.New(errs.BadRequest, "Cannot add field %s as an identifier field: not a required field", f.Name)
		}
		if _, ok := f.Type.(iceberg.PrimitiveType); !ok {
			return TableResult{}, errs.New(errs.BadRequest, "Cannot add field %s as an identifier field: not a primitive type field", f.Name)
		}
		if f.Type.Equals(iceberg.PrimitiveTypes.Float32) || f.Type.Equals(iceberg.PrimitiveTypes.Float64) {
			return TableResult{}, errs.New(errs.BadRequest, "Cannot add field %s as an identifier field: must not be float or double field", f.Name)
		}
	}
	order := in.WriteOrder
	if order.Len() == 0 {
		order = table.UnsortedSortOrder // also the zero value's meaning
	}

	res, cached, err := s.createTable(ctx, in, order, false)
	if cached && (errors.Is(err, store.ErrNamespaceMoved) || errs.Is(err, errs.BadRequest)) {
		// Placed by a remembered namespace location that is no longer
		// the namespace's: place it again on a fresh read.
		res, _, err = s.createTable(ctx, in, order, true)
	}
	return res, err
}

// createTable is CreateTable after the request's checks, placing the table
// by the namespace's remembered location unless fresh (namespaceForCreate);
// cached reports that it did.
func (s *Service) createTable(ctx context.Context, in CreateTableInput, order table.SortOrder, fresh bool) (_ TableResult, cached bool, _ error) {
	id := in.Ident
	// The namespace is read before anything is written: a create in a
	// namespace that does not exist touches no storage (unless this node
	// remembers it from before another node dropped it).
	nsLoc, nsKey, cached, err := s.namespaceForCreate(ctx, id.Warehouse, id.Namespace, fresh)
	if err != nil {
		return TableResult{}, cached, err
	}
	tableUUID := uuid.New()
	loc := strings.TrimRight(in.Location, "/")
	if loc == "" {
		loc = s.defaultEntityLocation(nsLoc, id, tableUUID)
	}
	props := entityProperties(store.KindTable, s.opts.Defaults, in.Properties, s.opts.Overrides)
	claims, err := s.entityPlacement(id.Warehouse, nsLoc, loc, props)
	if err != nil {
		return TableResult{}, cached, err
	}
	meta, err := table.NewMetadataWithUUID(in.Schema, in.PartitionSpec, order, loc, props, tableUUID)
	if err != nil {
		return TableResult{}, cached, errs.New(errs.BadRequest, "%s", err.Error())
	}
	doc, err := encodeMetadata(meta)
	if err != nil {
		return TableResult{}, cached, err
	}
	var grant vend.Grant
	if in.Access != nil {
		if grant, err = s.grant(ctx, id.Warehouse, meta.Location(), meta.Properties(), *in.Access); err != nil {
			return TableResult{}, cached, err
		}
	}

	if in.StageCreate {
		// Nothing is written, but a create that cannot succeed should fail
		// now rather than at the commit.
		if err := s.checkCreatable(ctx, id); err != nil {
			return TableResult{}, cached, err
		}
		return TableResult{Metadata: doc, Access: grant}, cached, nil
	}

	metaLoc, err := newMetadataLocation(meta, 0)
	if err != nil {
		return TableResult{}, cached, err
	}
	if err := s.writeMetadataFile(ctx, metaLoc, doc, meta.Properties()); err != nil {
		return TableResult{}, cached, err
	}
	err = s.st.CreateEntity(ctx, store.Entity{
		Ident: id, Kind: store.KindTable, MetadataLocation: metaLoc, Metadata: doc,
		UUID: tableUUID.String(), Claims: claims, NamespaceKey: nsKey,
	})
	if err != nil {
		s.discardFile(ctx, metaLoc, err)
		if discardable(err) {
			// Writing the file made its directories; a failed create
			// leaves none behind (those holding other files stay).
			_ = s.io.RemoveEmptyDirectories(context.WithoutCancel(ctx), loc)
		}
		return TableResult{}, cached, err
	}
	// The first commit (an ingestion's first append, typically) starts
	// from here, as if this node had committed the table (land).
	s.metaCache.put(metaLoc, meta, len(doc))
	s.metaCache.setHead(entityCommitKey(store.KindTable, id), store.Entity{Ident: id, Kind: store.KindTable, MetadataLocation: metaLoc, Version: 1})
	return TableResult{MetadataLocation: metaLoc, Metadata: doc, ETag: etag(metaLoc, SnapshotsAll), Access: grant}, cached, nil
}

// checkCreatable fails unless the namespace exists and the name is free.
func (s *Service) checkCreatable(ctx context.Context, id store.Ident) error {
	ok, err := s.st.NamespaceExists(ctx, id.Warehouse, id.Namespace)
	if err != nil {
		return err
	}
	if !ok {
		return noSuchNamespace(id.Namespace)
	}
	if ok, err := s.st.EntityExists(ctx, store.KindTable, id); err != nil {
		return err
	} else if ok {
		return errs.New(errs.AlreadyExists, "Table already exists: %s", id)
	}
	if ok, err := s.st.EntityExists(ctx, store.KindView, id); err != nil {
		return err
	} else if ok {
		return errs.New(errs.AlreadyExists, "View with same name already exists: %s", id)
	}
	return nil
}

// writeMetadataFile writes doc, compressed as props ask, to a new file.
func (s *Service) writeMetadataFile(ctx context.Context, loc string, doc []byte, props iceberg.Properties) error {
	data, err := metadataFileBytes(doc, props)
	if err != nil {
		return err
	}
	start := time.Now()
	err = s.io.WriteNew(ctx, loc, data)
	s.opts.Metrics.MetadataWritten(time.Since(start))
	return err
}

// discardFile deletes a metadata file whose commit failed with cause (nil:
// the commit was never attempted). When the outcome of the commit is
// unknown, the file stays: the catalog may point at it.
func (s *Service) discardFile(ctx context.Context, loc string, cause error) {
	if !discardable(cause) {
		s.log.Warn("keeping metadata file of a commit with unknown outcome", "location", loc, "error", cause)
		return
	}
	if err := s.io.Delete(context.WithoutCancel(ctx), loc); err != nil {
		s.log.Warn("could not delete metadata file of a failed commit", "location", loc, "error", err)
	}
}

// discardable reports whether a store error proves that nothing was
// committed. Kinds that do not (unknown commit state, database failures)
// keep the files: the catalog may point at them.
func discardable(cause error) bool {
	if cause == nil {
		return true
	}
	switch errs.KindOf(cause) {
	case errs.CommitStateUnknown, errs.Internal, errs.ServiceUnavailable:
		return false
	}
	return true
}

// LoadTable returns a table's current metadata. With snapshots "" or "all"
// the stored document is returned as it is; with "refs" only the snapshots
// that branches and tags point at are kept.
func (s *Service) LoadTable(ctx context.Context, id store.Ident, snapshots string) (TableResult, error) {
	switch snapshots {
	case "", SnapshotsAll, SnapshotsRefs:
	default:
		return TableResult{}, errs.New(errs.BadRequest, "Invalid snapshots mode %q: must be all or refs", snapshots)
	}
	e, err := s.loadEntity(ctx, store.KindTable, id)
	if err != nil {
		return TableResult{}, err
	}
	doc := e.Metadata
	if snapshots == SnapshotsRefs {
		if doc, err = referencedSnapshotsOnly(e.Metadata); err != nil {
			return TableResult{}, errs.Wrap(errs.Internal, err, "Stored metadata of %s is invalid", id)
		}
	}
	return TableResult{MetadataLocation: e.MetadataLocation, Metadata: doc, ETag: etag(e.MetadataLocation, snapshots)}, nil
}

// TableExists returns nil when the table exists and a NoSuchTable error
// when it does not.
func (s *Service) TableExists(ctx context.Context, id store.Ident) error {
	return s.entityExists(ctx, store.KindTable, id)
}

// ListTables returns one page of the tables of a namespace and the token
// of the next page ("" on the last page).
func (s *Service) ListTables(ctx context.Context, warehouse string, namespace []string, pg Page) ([]store.Ident, string, error) {
	return s.listEntities(ctx, store.KindTable, warehouse, namespace, pg)
}

// DropTable drops a table. With purge set, its files are deleted later by
// the purger; the drop never waits for storage.
func (s *Service) DropTable(ctx context.Context, id store.Ident, purge bool) error {
	if err := s.checkEntityIdent(store.KindTable, id); err != nil {
		return err
	}
	_, err := s.st.DropEntity(ctx, store.KindTable, id, purge)
	return err
}

// RenameTable renames a table, possibly into another namespace of the same
// warehouse.
func (s *Service) RenameTable(ctx context.Context, from, to store.Ident) error {
	return s.renameEntity(ctx, store.KindTable, from, to)
}

// RegisterTable adds a table whose metadata file already exists. With
// overwrite, an existing table of that name is pointed at the file instead.
func (s *Service) RegisterTable(ctx context.Context, id store.Ident, metadataLocation string, overwrite bool) (TableResult, error) {
	if err := s.checkEntityIdent(store.KindTable, id); err != nil {
		return TableResult{}, err
	}
	doc, nsLoc, err := s.readRegistered(ctx, id, metadataLocation)
	if err != nil {
		return TableResult{}, err
	}
	meta, err := table.ParseMetadataBytes(doc)
	if err != nil {
		return TableResult{}, errs.New(errs.BadRequest, "Not a valid Iceberg table metadata file: %s: %s", metadataLocation, err.Error())
	}
	if err := inOwnLocation(metadataLocation, meta.Location(), meta.Properties()); err != nil {
		return TableResult{}, err
	}
	claims, err := s.entityPlacement(id.Warehouse, nsLoc, meta.Location(), meta.Properties())
	if err != nil {
		return TableResult{}, err
	}
	res := TableResult{MetadataLocation: metadataLocation, Metadata: doc, ETag: etag(metadataLocation, SnapshotsAll)}
	entity := store.Entity{
		Ident: id, Kind: store.KindTable, MetadataLocation: metadataLocation, Metadata: doc, EventType: store.EventTableRegistered,
		UUID: meta.TableUUID().String(), Claims: claims, Register: true,
	}
	if !overwrite {
		if err := s.st.CreateEntity(ctx, entity); err != nil {
			return TableResult{}, err
		}
		return res, nil
	}

	deadline := s.retryDeadline()
	for attempt := 0; ; attempt++ {
		cur, err := s.st.GetEntity(ctx, store.KindTable, id)
		switch {
		case errs.Is(err, errs.NoSuchTable):
			err = s.st.CreateEntity(ctx, entity)
		case err == nil:
			err = s.st.Commit(ctx, []store.Commit{{
				Ident: id, Kind: store.KindTable, BaseVersion: cur.Version, BaseLocation: cur.MetadataLocation,
				MetadataLocation: metadataLocation, Metadata: doc, EventType: store.EventTableRegistered,
				UUID: entity.UUID, Claims: claims, Register: true,
			}})
		}
		if err == nil {
			return res, nil
		}
		retry := errs.Is(err, errs.CommitFailed) || errs.Is(err, errs.AlreadyExists) || errs.Is(err, errs.NoSuchTable)
		if !retry || attempt >= s.opts.MaxRetries || !s.backoff(ctx, attempt, deadline) {
			return TableResult{}, err
		}
	}
}

// readRegistered reads the metadata file a register names, after checking
// that the namespace exists and that the file lies where a table or view of
// that namespace may live, so that a register never reads (and answers
// with) the files of another namespace. It returns the document and the
// namespace's location.
func (s *Service) readRegistered(ctx context.Context, id store.Ident, metadataLocation string) ([]byte, string, error) {
	if metadataLocation == "" {
		return nil, "", errs.New(errs.BadRequest, "Metadata location must not be empty")
	}
	nsLoc, err := s.locationOfNamespace(ctx, id.Warehouse, id.Namespace)
	if err != nil {
		return nil, "", err
	}
	if _, err := s.entityPlacement(id.Warehouse, nsLoc, metadataLocation, nil); err != nil {
		return nil, "", errs.New(errs.BadRequest, "Cannot register %s: %s", metadataLocation, clientMessage(err))
	}
	raw, err := s.io.Read(ctx, metadataLocation)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			// 404 would read as "no such namespace" to clients.
			return nil, "", errs.New(errs.BadRequest, "Metadata file does not exist: %s", metadataLocation)
		}
		return nil, "", err
	}
	doc, err := decodeMetadataFile(raw)
	if err != nil {
		return nil, "", errs.New(errs.BadRequest, "Cannot read metadata file %s: %s", metadataLocation, err.Error())
	}
	return doc, nsLoc, nil
}

package catalog

// Functions (SQL UDFs): the same lifecycle as views, with iceberg-go's udf
// package for the metadata. A function's metadata is a file in its own
// location, written through the same FileIO as a view's; its row lives
// next to the tables and views of its namespace (one name space for the
// three kinds, enforced by the store), and its location is claimed like
// theirs.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/udf"
	"github.com/google/uuid"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

// FunctionDefinition is one decoded definition of a create request or an
// add-definition update: a signature with its first version.
type FunctionDefinition struct {
	def     *udf.Definition
	version *udf.DefinitionVersion
}

// CreateFunctionInput is a create-function request, decoded
// (ParseFunctionDefinitions).
type CreateFunctionInput struct {
	Ident       store.Ident
	Location    string
	Properties  map[string]string
	Secure      bool
	Doc         string
	Definitions []FunctionDefinition
}

// FunctionResult is a function's current metadata and the file it is in.
type FunctionResult struct {
	MetadataLocation string
	Metadata         []byte
}

// CreateFunction creates a function: its first metadata (each definition
// with version 1, a fresh function-uuid, one definition-log entry) is built
// with iceberg-go's udf builder, written to a new file, and the function
// inserted. A table, view or function of the same name makes it fail with
// AlreadyExists.
func (s *Service) CreateFunction(ctx context.Context, in CreateFunctionInput) (FunctionResult, error) {
	id := in.Ident
	if err := s.checkEntityIdent(store.KindFunction, id); err != nil {
		return FunctionResult{}, err
	}
	if len(in.Definitions) == 0 {
		return FunctionResult{}, errs.New(errs.BadRequest, "Invalid function: definitions must hold at least one definition")
	}
	if err := store.CheckProperties(in.Properties); err != nil {
		return FunctionResult{}, err
	}
	nsLoc, err := s.locationOfNamespace(ctx, id.Warehouse, id.Namespace)
	if err != nil {
		return FunctionResult{}, err
	}
	fnUUID := uuid.New()
	loc := strings.TrimRight(in.Location, "/")
	if loc == "" {
		loc = s.defaultEntityLocation(nsLoc, id, fnUUID)
	}
	props := entityProperties(store.KindFunction, s.opts.Defaults, in.Properties, s.opts.Overrides)
	claims, err := s.entityPlacement(id.Warehouse, nsLoc, loc, props)
	if err != nil {
		return FunctionResult{}, err
	}
	b, err := udf.NewMetadataBuilder()
	if err != nil {
		return FunctionResult{}, errs.Wrap(errs.Internal, err, "starting function metadata")
	}
	now := s.opts.Now().UnixMilli()
	b.SetUUID(fnUUID).SetLoc(loc).SetProperties(props).SetSecure(in.Secure).SetDoc(in.Doc).SetLogTimestampMS(now)
	for i, d := range in.Definitions {
		b.AddDefinition(d.def).AddDefinitionVersion(d.def.DefinitionID, versionAt(d.version, now))
		if err := b.Err(); err != nil {
			return FunctionResult{}, functionFieldError(fmt.Sprintf("definitions[%d]", i), err)
		}
	}
	meta, err := b.Build()
	if err != nil {
		return FunctionResult{}, functionFieldError("definitions", err)
	}
	doc, err := encodeFunctionMetadata(meta)
	if err != nil {
		return FunctionResult{}, err
	}
	metaLoc, err := newFunctionMetadataLocation(meta, 0)
	if err != nil {
		return FunctionResult{}, err
	}
	if err := s.io.WriteNew(ctx, metaLoc, doc); err != nil {
		return FunctionResult{}, err
	}
	err = s.st.CreateEntity(ctx, store.Entity{
		Ident: id, Kind: store.KindFunction, MetadataLocation: metaLoc, Metadata: doc,
		UUID: fnUUID.String(), Claims: claims,
	})
	if err != nil {
		s.discardFile(ctx, metaLoc, err)
		if discardable(err) {
			// Writing the file made its directories; a failed create
			// leaves none behind (those holding other files stay).
			_ = s.io.RemoveEmptyDirectories(context.WithoutCancel(ctx), loc)
		}
		return FunctionResult{}, err
	}
	return FunctionResult{MetadataLocation: metaLoc, Metadata: doc}, nil
}

// LoadFunction returns a function's current metadata. A function missing
// because its namespace is is NoSuchNamespace: the spec lists both answers
// for loadFunction, and clients (iceberg-go's) tell them apart by type.
func (s *Service) LoadFunction(ctx context.Context, id store.Ident) (FunctionResult, error) {
	e, err := s.loadEntity(ctx, store.KindFunction, id)
	if errs.Is(err, errs.NoSuchFunction) {
		// Only the miss pays for the second read.
		if ok, nerr := s.st.NamespaceExists(ctx, id.Warehouse, id.Namespace); nerr == nil && !ok {
			return FunctionResult{}, errs.New(errs.NoSuchNamespace, "Namespace does not exist: %s", strings.Join(id.Namespace, "."))
		}
	}
	if err != nil {
		return FunctionResult{}, err
	}
	return FunctionResult{MetadataLocation: e.MetadataLocation, Metadata: e.Metadata}, nil
}

// FunctionExists returns nil when the function exists and a NoSuchFunction
// error when it does not (a table or view of that name is not a function).
func (s *Service) FunctionExists(ctx context.Context, id store.Ident) error {
	return s.entityExists(ctx, store.KindFunction, id)
}

// ListFunctions returns one page of the functions of a namespace and the
// token of the next page ("" on the last page).
func (s *Service) ListFunctions(ctx context.Context, warehouse string, namespace []string, pg Page) ([]store.Ident, string, error) {
	return s.listEntities(ctx, store.KindFunction, warehouse, namespace, pg)
}

// DropFunction drops a function. With purge its metadata file is deleted
// by the purger (the files below its location that the function owned);
// without, its files stay where they are, as a view's do.
func (s *Service) DropFunction(ctx context.Context, id store.Ident, purge bool) error {
	if err := s.checkEntityIdent(store.KindFunction, id); err != nil {
		return err
	}
	_, err := s.st.DropEntity(ctx, store.KindFunction, id, purge)
	return err
}

// RenameFunction renames a function, possibly into another namespace of the
// same warehouse. The function keeps its metadata file and location.
func (s *Service) RenameFunction(ctx context.Context, from, to store.Ident) error {
	return s.renameEntity(ctx, store.KindFunction, from, to)
}

// RegisterFunction adds a function whose metadata file already exists. The
// name must be free, the file must be a valid function metadata document
// lying inside the location it names, and that location is claimed as a
// created function's is.
func (s *Service) RegisterFunction(ctx context.Context, id store.Ident, metadataLocation string) (FunctionResult, error) {
	if err := s.checkEntityIdent(store.KindFunction, id); err != nil {
		return FunctionResult{}, err
	}
	doc, nsLoc, err := s.readRegistered(ctx, id, metadataLocation)
	if err != nil {
		return FunctionResult{}, err
	}
	meta, err := udf.ParseMetadataBytes(doc)
	if err != nil {
		return FunctionResult{}, errs.New(errs.BadRequest, "Not a valid Iceberg function metadata file: %s: %s", metadataLocation, err.Error())
	}
	if meta.Location() == "" {
		// The UDF spec makes location optional, but without one nothing
		// says which files are the function's: its claim would be empty.
		return FunctionResult{}, errs.New(errs.BadRequest, "Function metadata file %s names no location: a registered function must have one", metadataLocation)
	}
	if err := inOwnLocation(metadataLocation, meta.Location(), meta.Properties()); err != nil {
		return FunctionResult{}, err
	}
	claims, err := s.entityPlacement(id.Warehouse, nsLoc, meta.Location(), meta.Properties())
	if err != nil {
		return FunctionResult{}, err
	}
	err = s.st.CreateEntity(ctx, store.Entity{
		Ident: id, Kind: store.KindFunction, MetadataLocation: metadataLocation, Metadata: doc, EventType: store.EventFunctionRegistered,
		UUID: meta.FunctionUUID().String(), Claims: claims, Register: true,
	})
	if err != nil {
		return FunctionResult{}, err
	}
	return FunctionResult{MetadataLocation: metadataLocation, Metadata: doc}, nil
}

// encodeFunctionMetadata is the JSON document of m, as stored and served.
func encodeFunctionMetadata(m udf.Metadata) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "encoding function metadata")
	}
	return b, nil
}

// newFunctionMetadataLocation names the file of function metadata version
// version as a view's is named (<location>/metadata/NNNNN-<uuid>.metadata.json,
// or below write.metadata.path): the UDF spec names no layout, and one
// layout for every kind keeps the purge and register rules the same.
func newFunctionMetadataLocation(m udf.Metadata, version int) (string, error) {
	return newMetadataFileLocation("function", m.Location(), m.Properties(), version)
}

// functionOps is the commit engine's function part: iceberg-go's udf
// builder, and metadata files that are never compressed.
type functionOps struct {
	s *Service
}

func (functionOps) kind() store.Kind                    { return store.KindFunction }
func (functionOps) ident(c *FunctionChange) store.Ident { return c.Ident }

func (functionOps) parse(s *Service, cur store.Entity) (udf.Metadata, error) {
	if m, ok := s.metaCache.get(cur.MetadataLocation); ok {
		if fm, ok := m.(udf.Metadata); ok {
			return fm, nil
		}
	}
	m, err := udf.ParseMetadataBytes(cur.Metadata)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "Stored metadata of %s is invalid", cur.Ident)
	}
	s.metaCache.put(cur.MetadataLocation, m, len(cur.Metadata))
	return m, nil
}

func (o functionOps) apply(m udf.Metadata, _ string, c *FunctionChange) (udf.Metadata, bool, error) {
	for _, r := range c.requirements {
		if err := r.check(m); err != nil {
			return nil, false, err
		}
	}
	b, err := udf.MetadataBuilderFromBase(m)
	if err != nil {
		return nil, false, errs.Wrap(errs.Internal, err, "loading function metadata")
	}
	now := o.s.opts.Now().UnixMilli()
	b.SetLogTimestampMS(now)
	for i, u := range c.updates {
		u.apply(b, now)
		if err := b.Err(); err != nil {
			return nil, false, functionFieldError(fmt.Sprintf("updates[%d] (%s)", i, u.action), err)
		}
	}
	if !b.HasChanges() {
		return m, false, nil
	}
	next, err := b.Build()
	if err != nil {
		return nil, false, functionFieldError("updates", err)
	}
	return next, true, nil
}

func (functionOps) placement(m udf.Metadata) (string, iceberg.Properties) {
	return m.Location(), m.Properties()
}

func (functionOps) file(m udf.Metadata, version int) ([]byte, string, []byte, error) {
	doc, err := encodeFunctionMetadata(m)
	if err != nil {
		return nil, "", nil, err
	}
	loc, err := newFunctionMetadataLocation(m, version)
	if err != nil {
		return nil, "", nil, err
	}
	return doc, loc, doc, nil
}

func (functionOps) snapshotsAdded(udf.Metadata, udf.Metadata) []int64 { return nil }
func (functionOps) removedFiles(udf.Metadata, udf.Metadata) []string  { return nil }

// CommitFunction applies a replace-function request: the requirements are
// checked against the function's current metadata and the updates applied
// to it in request order with iceberg-go's udf builder, through the same
// commit engine as tables and views (queueing, grouping, retries,
// idempotency, metrics).
func (s *Service) CommitFunction(ctx context.Context, c FunctionChange) (FunctionResult, error) {
	if err := s.checkEntityIdent(store.KindFunction, c.Ident); err != nil {
		return FunctionResult{}, err
	}
	commit, err := commitQueued(ctx, s, functionOps{s: s}, &s.functionQueues, &c)
	if err != nil {
		return FunctionResult{}, err
	}
	return FunctionResult{MetadataLocation: commit.MetadataLocation, Metadata: commit.Metadata}, nil
}

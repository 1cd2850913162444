package catalog

import (
	"context"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/apache/iceberg-go"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

// Tables and views are both entities of a namespace and share one name
// space; what behaves the same for both lives here, parameterised by kind.

// kindTitle is the kind as Iceberg messages name it ("Table", "View",
// "Function").
func kindTitle(kind store.Kind) string { return kind.Title() }

func notFoundKind(kind store.Kind) errs.Kind {
	switch kind {
	case store.KindView:
		return errs.NoSuchView
	case store.KindFunction:
		return errs.NoSuchFunction
	}
	return errs.NoSuchTable
}

// checkEntityIdent validates the warehouse, the namespace levels and the name.
func (s *Service) checkEntityIdent(kind store.Kind, id store.Ident) error {
	if err := s.checkWarehouse(id.Warehouse); err != nil {
		return err
	}
	return store.CheckIdent(kind, id)
}

// loadEntity reads an entity's row and, when configured, checks that its
// current metadata file still exists, as Java catalogs do on load.
func (s *Service) loadEntity(ctx context.Context, kind store.Kind, id store.Ident) (store.Entity, error) {
	if err := s.checkEntityIdent(kind, id); err != nil {
		return store.Entity{}, err
	}
	e, err := s.st.GetEntity(ctx, kind, id)
	if err != nil {
		return store.Entity{}, err
	}
	if s.opts.VerifyMetadataOnLoad && !s.verified.fresh(e.MetadataLocation, s.opts.Now()) {
		ok, err := s.io.Exists(ctx, e.MetadataLocation)
		if err != nil {
			return store.Entity{}, err
		}
		if !ok {
			return store.Entity{}, errs.New(errs.NotFound, "Failed to open input stream for file: %s", e.MetadataLocation)
		}
		if s.opts.VerifiedFor > 0 {
			s.verified.add(e.MetadataLocation, s.opts.Now(), s.opts.VerifiedFor)
		}
	}
	return e, nil
}

// verifiedFiles remembers until when each metadata file found to exist is
// trusted without another check.
type verifiedFiles struct {
	mu    sync.Mutex
	until map[string]time.Time
}

// maxVerifiedFiles bounds the memory of verifiedFiles; past it, expired
// entries are dropped, and if none are, everything (a miss only costs one
// check).
const maxVerifiedFiles = 8192

func (v *verifiedFiles) fresh(loc string, now time.Time) bool {
	v.mu.Lock()
	until, ok := v.until[loc]
	v.mu.Unlock()
	return ok && now.Before(until)
}

func (v *verifiedFiles) add(loc string, now time.Time, d time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.until == nil {
		v.until = map[string]time.Time{}
	}
	if len(v.until) >= maxVerifiedFiles {
		maps.DeleteFunc(v.until, func(_ string, t time.Time) bool { return !now.Before(t) })
		if len(v.until) >= maxVerifiedFiles {
			clear(v.until)
		}
	}
	v.until[loc] = now.Add(d)
}

// entityExists returns nil when the entity exists and NoSuchTable /
// NoSuchView when it does not (an entity of the other kind does not count).
func (s *Service) entityExists(ctx context.Context, kind store.Kind, id store.Ident) error {
	if err := s.checkEntityIdent(kind, id); err != nil {
		return err
	}
	ok, err := s.st.EntityExists(ctx, kind, id)
	if err != nil {
		return err
	}
	if !ok {
		return errs.New(notFoundKind(kind), "%s does not exist: %s", kindTitle(kind), id)
	}
	return nil
}

// listEntities returns one page of a namespace's entities of one kind and
// the token of the next page ("" on the last page).
func (s *Service) listEntities(ctx context.Context, kind store.Kind, warehouse string, namespace []string, pg Page) ([]store.Ident, string, error) {
	if err := s.checkWarehouse(warehouse); err != nil {
		return nil, "", err
	}
	if err := checkLevels(namespace); err != nil {
		return nil, "", err
	}
	p, err := storePage(pg)
	if err != nil {
		return nil, "", err
	}
	ids, err := s.st.ListEntities(ctx, kind, warehouse, namespace, p)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if pg.Size > 0 && len(ids) > pg.Size {
		ids = ids[:pg.Size]
		next = encodePageToken(ids[len(ids)-1].Name)
	}
	return ids, next, nil
}

// renameEntity renames within a warehouse, possibly across namespaces. A
// taken name is worded by the kind that holds it, as Java catalogs do
// ("Cannot rename a to b. View already exists"), because clients check it.
func (s *Service) renameEntity(ctx context.Context, kind store.Kind, from, to store.Ident) error {
	if err := s.checkEntityIdent(kind, from); err != nil {
		return err
	}
	if err := s.checkEntityIdent(kind, to); err != nil {
		return err
	}
	if from.Warehouse != to.Warehouse {
		return errs.New(errs.BadRequest, "Cannot rename %s to another warehouse", from)
	}
	err := s.st.RenameEntity(ctx, kind, from, to)
	if !errs.Is(err, errs.AlreadyExists) {
		return err
	}
	holder := kind
	for _, other := range store.Kinds {
		if other == kind {
			continue
		}
		if ok, e := s.st.EntityExists(ctx, other, to); e == nil && ok {
			holder = other
		}
	}
	return errs.Wrap(errs.AlreadyExists, err, "Cannot rename %s to %s. %s already exists", from, to, kindTitle(holder))
}

// entityProperties merges catalog defaults, the request's properties and
// catalog overrides, in increasing precedence: the <kind>-default.X and
// <kind>-override.X keys of the catalog configuration set property X, as
// Java catalogs do (table-default.X, view-override.X, ...).
func entityProperties(kind store.Kind, defaults, request, overrides map[string]string) iceberg.Properties {
	defPrefix, ovrPrefix := string(kind)+"-default.", string(kind)+"-override."
	props := iceberg.Properties{}
	for k, v := range defaults {
		if name, ok := strings.CutPrefix(k, defPrefix); ok && name != "" {
			props[name] = v
		}
	}
	maps.Copy(props, request)
	for k, v := range overrides {
		if name, ok := strings.CutPrefix(k, ovrPrefix); ok && name != "" {
			props[name] = v
		}
	}
	return props
}

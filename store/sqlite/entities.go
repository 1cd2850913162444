package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/bingsan/bingsan/gen/sqlitedb"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/internal/backend"
)

func (s *Store) CreateEntity(ctx context.Context, e store.Entity) error {
	ns, err := backend.CheckIdent(e.Kind, e.Ident)
	if err != nil {
		return err
	}
	typ, err := backend.EntityEventType(e.Kind, e.EventType, "created")
	if err != nil {
		return err
	}
	err = s.writeEvents(ctx, func(tx *sql.Tx) error {
		if err := s.insertEntity(ctx, tx, e.Kind, e.Ident, ns, e.MetadataLocation, e.Metadata, e.UUID, e.Claims, e.Register); err != nil {
			return err
		}
		if err := s.markIdempotent(ctx, tx, store.IdempotentOutcome{MetadataLocation: e.MetadataLocation}); err != nil {
			return err
		}
		return s.insertEvent(ctx, tx, typ, e.Ident.Warehouse, ns, e.Ident.Name, store.EventDetails{MetadataLocation: e.MetadataLocation})
	})
	switch {
	case errors.Is(err, backend.ErrForeignKey):
		return backend.NoSuchNamespace(e.Ident.Namespace)
	case errors.Is(err, backend.ErrUUIDTaken):
		// When the name is taken too, that is what the client hears about.
		if ok, _ := s.EntityExists(ctx, e.Kind, e.Ident); ok {
			return s.alreadyExists(ctx, e.Kind, e.Ident, ns)
		}
		other := store.KindView
		if e.Kind == store.KindView {
			other = store.KindTable
		}
		if ok, _ := s.EntityExists(ctx, other, e.Ident); ok {
			return s.alreadyExists(ctx, e.Kind, e.Ident, ns)
		}
		return backend.UUIDTaken(e.Kind, e.UUID)
	case errors.Is(err, backend.ErrUnique):
		return s.alreadyExists(ctx, e.Kind, e.Ident, ns)
	}
	return backend.BusyError(err)
}

// insertEntity inserts an entity's row and claims its locations.
func (s *Store) insertEntity(ctx context.Context, tx *sql.Tx, kind store.Kind, id store.Ident, ns, metaLoc string, meta []byte, uuid string, claims []string, register bool) error {
	rowID, err := s.q.InsertEntity(ctx, tx, sqlitedb.InsertEntityParams{
		Warehouse: id.Warehouse, Namespace: ns, Name: id.Name, Kind: string(kind),
		MetadataLocation: metaLoc, Metadata: backend.NonNil(meta), Now: micros(time.Now()),
		Uuid: sql.NullString{String: uuid, Valid: uuid != ""},
	})
	if err != nil {
		return err
	}
	c := backend.Claimant{Kind: string(kind), ID: rowID, Warehouse: id.Warehouse, Namespace: id.Namespace, Register: register}
	return backend.Claim(ctx, claimQueries{s, tx}, c, claims)
}

// alreadyExists words a unique violation on (warehouse, namespace, name)
// after the failed transaction, naming the kind that holds the name.
func (s *Store) alreadyExists(ctx context.Context, requested store.Kind, id store.Ident, ns string) error {
	existing, err := s.q.EntityKind(ctx, s.reader, sqlitedb.EntityKindParams{Warehouse: id.Warehouse, Namespace: ns, Name: id.Name})
	if err != nil {
		existing = "" // dropped meanwhile, or unreadable: the generic wording is still true
	}
	return backend.EntityAlreadyExists(requested, store.Kind(existing), id)
}

func (s *Store) GetEntity(ctx context.Context, kind store.Kind, id store.Ident) (store.Entity, error) {
	ns, err := backend.CheckIdent(kind, id)
	if err != nil {
		return store.Entity{}, err
	}
	row, err := s.q.GetEntity(ctx, s.reader, sqlitedb.GetEntityParams{Warehouse: id.Warehouse, Namespace: ns, Name: id.Name, Kind: string(kind)})
	if isNoRows(err) {
		return store.Entity{}, backend.NoSuchEntity(kind, id)
	}
	if err != nil {
		return store.Entity{}, interpret(err)
	}
	return entityFromRow(row), nil
}

func (s *Store) EntityExists(ctx context.Context, kind store.Kind, id store.Ident) (bool, error) {
	ns, err := backend.CheckIdent(kind, id)
	if err != nil {
		return false, err
	}
	ok, err := s.q.EntityExists(ctx, s.reader, sqlitedb.EntityExistsParams{Warehouse: id.Warehouse, Namespace: ns, Name: id.Name, Kind: string(kind)})
	return ok, interpret(err)
}

func (s *Store) ListEntities(ctx context.Context, kind store.Kind, warehouse string, namespace []string, page store.Page) ([]store.Ident, error) {
	if err := backend.CheckKind(kind); err != nil {
		return nil, err
	}
	ns, err := backend.NamespaceKey(namespace)
	if err != nil {
		return nil, err
	}
	names, err := s.q.ListEntities(ctx, s.reader, sqlitedb.ListEntitiesParams{
		Warehouse: warehouse, Namespace: ns, Kind: string(kind), After: page.After, Lim: int64(backend.Limit(page)),
	})
	if err != nil {
		return nil, interpret(err)
	}
	if len(names) == 0 {
		if ok, err := s.NamespaceExists(ctx, warehouse, namespace); err != nil {
			return nil, err
		} else if !ok {
			return nil, backend.NoSuchNamespace(namespace)
		}
	}
	out := make([]store.Ident, len(names))
	for i, n := range names {
		out[i] = store.Ident{Warehouse: warehouse, Namespace: slices.Clone(namespace), Name: n}
	}
	return out, nil
}

func (s *Store) RenameEntity(ctx context.Context, kind store.Kind, from, to store.Ident) error {
	fromNs, err := backend.CheckIdent(kind, from)
	if err != nil {
		return err
	}
	toNs, err := backend.CheckIdent(kind, to)
	if err != nil {
		return err
	}
	if err := backend.CrossWarehouseRename(from, to); err != nil {
		return err
	}
	err = s.writeEvents(ctx, func(tx *sql.Tx) error {
		loc, err := s.q.RenameEntity(ctx, tx, sqlitedb.RenameEntityParams{
			Warehouse: from.Warehouse, Namespace: fromNs, Name: from.Name, Kind: string(kind),
			ToNamespace: toNs, ToName: to.Name, Now: micros(time.Now()),
		})
		if isNoRows(err) {
			return backend.NoSuchEntity(kind, from)
		}
		if err != nil {
			return err
		}
		if err := s.markIdempotent(ctx, tx, store.IdempotentOutcome{}); err != nil {
			return err
		}
		return s.insertEvent(ctx, tx, store.EventType(string(kind)+".renamed"), from.Warehouse, fromNs, from.Name, store.EventDetails{
			MetadataLocation: loc,
			RenamedTo:        &store.RenamedTo{Namespace: slices.Clone(to.Namespace), Name: to.Name},
		})
	})
	switch {
	case errors.Is(err, backend.ErrForeignKey):
		return backend.NoSuchNamespace(to.Namespace)
	case errors.Is(err, backend.ErrUnique):
		return s.alreadyExists(ctx, kind, to, toNs)
	}
	return backend.BusyError(err)
}

func (s *Store) DropEntity(ctx context.Context, kind store.Kind, id store.Ident, purge bool) (store.Entity, error) {
	return s.dropEntity(ctx, kind, id, purge, "dropped")
}

// dropEntity removes the entity; what names the event ("dropped", or
// "unregistered", whose answer carries the metadata location).
func (s *Store) dropEntity(ctx context.Context, kind store.Kind, id store.Ident, purge bool, what string) (store.Entity, error) {
	ns, err := backend.CheckIdent(kind, id)
	if err != nil {
		return store.Entity{}, err
	}
	var dropped store.Entity
	err = s.writeEvents(ctx, func(tx *sql.Tx) error {
		row, err := s.q.DeleteEntity(ctx, tx, sqlitedb.DeleteEntityParams{Warehouse: id.Warehouse, Namespace: ns, Name: id.Name, Kind: string(kind)})
		if isNoRows(err) {
			return backend.NoSuchEntity(kind, id)
		}
		if err != nil {
			return err
		}
		dropped = entityFromRow(row)
		owner := sqlitedb.DeleteClaimsParams{OwnerKind: row.Kind, OwnerID: row.ID}
		if !purge {
			if err := s.q.DeleteClaims(ctx, tx, owner); err != nil {
				return err
			}
		} else {
			job := backend.PurgeJobFor(dropped)
			now := micros(time.Now())
			jobID, err := s.q.InsertPurgeJob(ctx, tx, sqlitedb.InsertPurgeJobParams{
				Location: job.Location, MetadataLocation: job.MetadataLocation, Metadata: backend.NonNil(job.Metadata), DueAt: now, Now: now,
			})
			if err != nil {
				return err
			}
			// The job holds the files' locations until it ends.
			if err := s.q.MoveClaims(ctx, tx, sqlitedb.MoveClaimsParams{
				OwnerKind: owner.OwnerKind, OwnerID: owner.OwnerID, ToKind: backend.ClaimPurge, ToID: jobID,
			}); err != nil {
				return err
			}
		}
		var outcome store.IdempotentOutcome
		if what == "unregistered" {
			outcome.MetadataLocation = dropped.MetadataLocation
		}
		if err := s.markIdempotent(ctx, tx, outcome); err != nil {
			return err
		}
		return s.insertEvent(ctx, tx, store.EventType(string(kind)+"."+what), id.Warehouse, ns, id.Name, store.EventDetails{
			PreviousMetadataLocation: dropped.MetadataLocation, PurgeRequested: purge,
		})
	})
	if err != nil {
		return store.Entity{}, backend.BusyError(err)
	}
	return dropped, nil
}

func (s *Store) Commit(ctx context.Context, commits []store.Commit) error {
	sorted, err := backend.SortCommits(commits)
	if err != nil {
		return err
	}
	err = s.writeEvents(ctx, func(tx *sql.Tx) error {
		previous := make(map[string]string, len(sorted))
		for _, c := range sorted {
			prev, err := s.commitOne(ctx, tx, c)
			if err != nil {
				return err
			}
			previous[backend.CommitKey(c.Ident)] = prev
		}
		rows, err := backend.CommitEventRows(ctx, commits, previous)
		if err != nil {
			return err
		}
		var outcome store.IdempotentOutcome
		if len(sorted) == 1 {
			outcome.MetadataLocation = sorted[0].MetadataLocation
		}
		if err := s.markIdempotent(ctx, tx, outcome, sorted...); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, rows...)
	})
	return backend.CommitError(sorted, err)
}

// commitOne applies c if its expectation still holds and returns the
// metadata location it replaced ("" for a create). No row locks are
// needed: the write transaction holds SQLite's single write lock.
func (s *Store) commitOne(ctx context.Context, tx *sql.Tx, c store.Commit) (string, error) {
	ns, _ := backend.NamespaceKey(c.Ident.Namespace) // validated by SortCommits
	now := micros(time.Now())
	cur, err := s.q.LockEntity(ctx, tx, sqlitedb.LockEntityParams{Warehouse: c.Ident.Warehouse, Namespace: ns, Name: c.Ident.Name})
	missing := isNoRows(err)
	if err != nil && !missing {
		return "", err
	}
	if c.Create {
		if !missing {
			return "", backend.CreatedConcurrently(c.Kind, c.Ident)
		}
		err := s.insertEntity(ctx, tx, c.Kind, c.Ident, ns, c.MetadataLocation, c.Metadata, c.UUID, c.Claims, c.Register)
		switch err := interpret(err); {
		case errors.Is(err, backend.ErrUUIDTaken):
			return "", backend.UUIDTaken(c.Kind, c.UUID)
		case errors.Is(err, backend.ErrUnique):
			return "", backend.CreatedConcurrently(c.Kind, c.Ident)
		case errors.Is(err, backend.ErrForeignKey):
			return "", backend.NoSuchNamespace(c.Ident.Namespace)
		default:
			return "", err
		}
	}
	if missing || cur.Kind != string(c.Kind) {
		return "", backend.NoSuchEntity(c.Kind, c.Ident)
	}
	if cur.Version != c.BaseVersion {
		return "", backend.StaleVersion(c.Kind, c.Ident, c.BaseVersion, cur.Version)
	}
	n, err := s.q.UpdateEntityMetadata(ctx, tx, sqlitedb.UpdateEntityMetadataParams{
		ID: cur.ID, BaseVersion: c.BaseVersion, MetadataLocation: c.MetadataLocation, Metadata: backend.NonNil(c.Metadata), Now: now,
	})
	if err != nil {
		return "", err
	}
	if n == 0 {
		return "", backend.StaleVersion(c.Kind, c.Ident, c.BaseVersion, cur.Version)
	}
	if c.UUID != "" {
		// A register onto an existing entry: the entry is another table's now.
		if err := s.q.SetEntityUUID(ctx, tx, sqlitedb.SetEntityUUIDParams{ID: cur.ID, Uuid: sql.NullString{String: c.UUID, Valid: true}}); err != nil {
			if errors.Is(interpret(err), backend.ErrUUIDTaken) {
				return "", backend.UUIDTaken(c.Kind, c.UUID)
			}
			return "", err
		}
	}
	if c.Claims != nil {
		claimant := backend.Claimant{Kind: cur.Kind, ID: cur.ID, Warehouse: c.Ident.Warehouse, Namespace: c.Ident.Namespace, Register: c.Register}
		if err := backend.Claim(ctx, claimQueries{s, tx}, claimant, c.Claims); err != nil {
			return "", err
		}
	}
	return cur.MetadataLocation, nil
}

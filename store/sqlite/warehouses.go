package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/bingsan/bingsan/gen/sqlitedb"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/internal/backend"
)

var _ store.Warehouses = (*Store)(nil)

func (s *Store) ListWarehouses(ctx context.Context) ([]store.Warehouse, error) {
	return s.listWarehouses(ctx, s.reader)
}

func (s *Store) listWarehouses(ctx context.Context, db sqlitedb.DBTX) ([]store.Warehouse, error) {
	rows, err := s.q.ListWarehouses(ctx, db)
	if err != nil {
		return nil, interpret(err)
	}
	out := make([]store.Warehouse, len(rows))
	for i, r := range rows {
		out[i] = store.Warehouse{Name: r.Name, Location: r.Location, Key: r.Key, Settings: []byte(r.Settings),
			Secrets: r.Secrets, Active: r.Active != 0, Source: store.WarehouseSource(r.Source),
			CreatedAt: fromMicros(r.CreatedAt), UpdatedAt: fromMicros(r.UpdatedAt)}
	}
	return out, nil
}

func (s *Store) WarehouseRevision(ctx context.Context) (int64, error) {
	rev, err := s.q.WarehouseRevision(ctx, s.reader)
	return rev, interpret(err)
}

// writeWarehouse runs fn in a write transaction (SQLite's one writer
// serializes warehouse mutations) after bumping the revision, handing it
// the other warehouses' keys by name.
func (s *Store) writeWarehouse(ctx context.Context, fn func(tx *sql.Tx, keys map[string]string) error) error {
	return s.writeEvents(ctx, func(tx *sql.Tx) error {
		if _, err := s.q.BumpWarehouseRevision(ctx, tx); err != nil {
			return err
		}
		all, err := s.listWarehouses(ctx, tx)
		if err != nil {
			return err
		}
		keys := make(map[string]string, len(all))
		for _, w := range all {
			keys[w.Name] = w.Key
		}
		return fn(tx, keys)
	})
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func (s *Store) CreateWarehouse(ctx context.Context, w store.Warehouse, event store.EventType) error {
	return s.writeWarehouse(ctx, func(tx *sql.Tx, keys map[string]string) error {
		if _, ok := keys[w.Name]; ok {
			return backend.WarehouseExists(w.Name)
		}
		if err := backend.WarehouseOverlap(keys, w.Name, w.Location, w.Key); err != nil {
			return err
		}
		if err := s.q.InsertWarehouse(ctx, tx, sqlitedb.InsertWarehouseParams{
			Name: w.Name, Location: w.Location, Key: w.Key, Settings: string(w.Settings), Secrets: w.Secrets,
			Active: boolInt(w.Active), Source: string(w.Source), CreatedAt: micros(time.Now()),
		}); err != nil {
			return err
		}
		return s.insertEvent(ctx, tx, event, w.Name, "", "", store.EventDetails{})
	})
}

func (s *Store) UpdateWarehouse(ctx context.Context, w store.Warehouse, event store.EventType) error {
	return s.writeWarehouse(ctx, func(tx *sql.Tx, keys map[string]string) error {
		if _, ok := keys[w.Name]; !ok {
			return backend.NoSuchWarehouse(w.Name)
		}
		if err := backend.WarehouseOverlap(keys, w.Name, w.Location, w.Key); err != nil {
			return err
		}
		if _, err := s.q.UpdateWarehouse(ctx, tx, sqlitedb.UpdateWarehouseParams{
			Name: w.Name, Location: w.Location, Key: w.Key, Settings: string(w.Settings), Secrets: w.Secrets,
			Active: boolInt(w.Active), Source: string(w.Source), UpdatedAt: micros(time.Now()),
		}); err != nil {
			return err
		}
		return s.insertEvent(ctx, tx, event, w.Name, "", "", store.EventDetails{})
	})
}

func (s *Store) RenameWarehouse(ctx context.Context, from, to string) error {
	return s.writeWarehouse(ctx, func(tx *sql.Tx, keys map[string]string) error {
		if _, ok := keys[from]; !ok {
			return backend.NoSuchWarehouse(from)
		}
		if _, ok := keys[to]; ok {
			return backend.WarehouseExists(to)
		}
		// Entities reference namespaces by (warehouse, name): checked at
		// commit, the foreign key sees both moved. (A pragma: sqlc has no
		// query for it.)
		if _, err := tx.ExecContext(ctx, "PRAGMA defer_foreign_keys = ON"); err != nil {
			return err
		}
		if err := s.q.RenameWarehouse(ctx, tx, sqlitedb.RenameWarehouseParams{FromName: from, ToName: to, UpdatedAt: micros(time.Now())}); err != nil {
			return err
		}
		if err := s.q.RenameWarehouseNamespaces(ctx, tx, sqlitedb.RenameWarehouseNamespacesParams{FromName: from, ToName: to}); err != nil {
			return err
		}
		if err := s.q.RenameWarehouseEntities(ctx, tx, sqlitedb.RenameWarehouseEntitiesParams{FromName: from, ToName: to}); err != nil {
			return err
		}
		if err := s.q.RenameWarehouseGrants(ctx, tx, sqlitedb.RenameWarehouseGrantsParams{FromName: from, ToName: to}); err != nil {
			return err
		}
		// The grants moved: the authorization state is reloaded.
		if err := s.q.BumpAuthVersion(ctx, tx); err != nil {
			return err
		}
		return s.insertEvent(ctx, tx, store.EventWarehouseRenamed, from, "", "",
			store.EventDetails{RenamedTo: &store.RenamedTo{Name: to}})
	})
}

func (s *Store) DeleteWarehouse(ctx context.Context, name string) error {
	return s.writeWarehouse(ctx, func(tx *sql.Tx, keys map[string]string) error {
		if _, ok := keys[name]; !ok {
			return backend.NoSuchWarehouse(name)
		}
		used, err := s.q.WarehouseHasNamespaces(ctx, tx, name)
		if err != nil {
			return err
		}
		if used {
			return backend.WarehouseNotEmpty(name)
		}
		if _, err := s.q.DeleteWarehouse(ctx, tx, name); err != nil {
			return err
		}
		if err := s.q.DeleteWarehouseGrants(ctx, tx, name); err != nil {
			return err
		}
		if err := s.q.BumpAuthVersion(ctx, tx); err != nil {
			return err
		}
		return s.insertEvent(ctx, tx, store.EventWarehouseDeleted, name, "", "", store.EventDetails{})
	})
}

func (s *Store) PurgeJobsUnder(ctx context.Context, prefix string) (int64, error) {
	n, err := s.q.PurgeJobsUnder(ctx, s.reader, prefix)
	return n, interpret(err)
}

package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bingsan/bingsan/gen/pgdb"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/internal/backend"
)

var _ store.Warehouses = (*Store)(nil)

func (s *Store) ListWarehouses(ctx context.Context) ([]store.Warehouse, error) {
	return s.listWarehouses(ctx, s.pool)
}

func (s *Store) listWarehouses(ctx context.Context, db pgdb.DBTX) ([]store.Warehouse, error) {
	rows, err := s.q.ListWarehouses(ctx, db)
	if err != nil {
		return nil, interpret(err)
	}
	out := make([]store.Warehouse, len(rows))
	for i, r := range rows {
		out[i] = store.Warehouse{Name: r.Name, Location: r.Location, Key: r.Key, Settings: []byte(r.Settings),
			Secrets: r.Secrets, Active: r.Active, Source: store.WarehouseSource(r.Source),
			CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	}
	return out, nil
}

func (s *Store) WarehouseRevision(ctx context.Context) (int64, error) {
	rev, err := s.q.WarehouseRevision(ctx, s.pool)
	return rev, interpret(err)
}

// writeWarehouse runs fn in a transaction that first takes the revision
// row's lock (serializing warehouse mutations) and hands fn the other
// warehouses' keys by name.
func (s *Store) writeWarehouse(ctx context.Context, fn func(tx pgx.Tx, keys map[string]string) error) error {
	return s.write(ctx, func(tx pgx.Tx) error {
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

func (s *Store) CreateWarehouse(ctx context.Context, w store.Warehouse, event store.EventType) error {
	return s.writeWarehouse(ctx, func(tx pgx.Tx, keys map[string]string) error {
		if _, ok := keys[w.Name]; ok {
			return backend.WarehouseExists(w.Name)
		}
		if err := backend.WarehouseOverlap(keys, w.Name, w.Location, w.Key); err != nil {
			return err
		}
		if err := s.q.InsertWarehouse(ctx, tx, pgdb.InsertWarehouseParams{
			Name: w.Name, Location: w.Location, Key: w.Key, Settings: w.Settings, Secrets: w.Secrets,
			Active: w.Active, Source: string(w.Source), CreatedAt: time.Now(),
		}); err != nil {
			return err
		}
		return s.insertEvent(ctx, tx, event, w.Name, "", "", store.EventDetails{})
	})
}

func (s *Store) UpdateWarehouse(ctx context.Context, w store.Warehouse, event store.EventType) error {
	return s.writeWarehouse(ctx, func(tx pgx.Tx, keys map[string]string) error {
		if _, ok := keys[w.Name]; !ok {
			return backend.NoSuchWarehouse(w.Name)
		}
		if err := backend.WarehouseOverlap(keys, w.Name, w.Location, w.Key); err != nil {
			return err
		}
		if _, err := s.q.UpdateWarehouse(ctx, tx, pgdb.UpdateWarehouseParams{
			Name: w.Name, Location: w.Location, Key: w.Key, Settings: w.Settings, Secrets: w.Secrets,
			Active: w.Active, Source: string(w.Source), UpdatedAt: time.Now(),
		}); err != nil {
			return err
		}
		return s.insertEvent(ctx, tx, event, w.Name, "", "", store.EventDetails{})
	})
}

func (s *Store) RenameWarehouse(ctx context.Context, from, to string) error {
	return s.writeWarehouse(ctx, func(tx pgx.Tx, keys map[string]string) error {
		if _, ok := keys[from]; !ok {
			return backend.NoSuchWarehouse(from)
		}
		if _, ok := keys[to]; ok {
			return backend.WarehouseExists(to)
		}
		// Namespaces created in the old name meanwhile would be left
		// behind; the lock keeps them out until the rename commits.
		if _, err := tx.Exec(ctx, "LOCK TABLE namespaces IN SHARE MODE"); err != nil {
			return err
		}
		if err := s.q.RenameWarehouseRows(ctx, tx, pgdb.RenameWarehouseRowsParams{FromName: from, ToName: to, UpdatedAt: time.Now()}); err != nil {
			return err
		}
		// The grants moved: nodes reload their authorization state.
		if err := s.q.BumpAuthVersion(ctx, tx); err != nil {
			return err
		}
		return s.insertEvent(ctx, tx, store.EventWarehouseRenamed, from, "", "",
			store.EventDetails{RenamedTo: &store.RenamedTo{Name: to}})
	})
}

func (s *Store) DeleteWarehouse(ctx context.Context, name string) error {
	return s.writeWarehouse(ctx, func(tx pgx.Tx, keys map[string]string) error {
		if _, ok := keys[name]; !ok {
			return backend.NoSuchWarehouse(name)
		}
		// A namespace created after the check would outlive its
		// warehouse; the lock keeps new ones out until the delete commits.
		if _, err := tx.Exec(ctx, "LOCK TABLE namespaces IN SHARE MODE"); err != nil {
			return err
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
	n, err := s.q.PurgeJobsUnder(ctx, s.pool, prefix)
	return n, interpret(err)
}

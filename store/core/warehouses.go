package core

import (
	"context"
	"strings"
	"time"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/driver"
)

var _ store.Warehouses = (*Store)(nil)

// warehouseOverlap is the one check that a warehouse's location neither
// contains nor lies inside another warehouse's (keys end in one slash, so
// a prefix is an ancestor). existing maps the other warehouses' names to
// their keys; self is skipped (an update).
func warehouseOverlap(existing map[string]string, self, location, key string) error {
	for name, k := range existing {
		if name == self {
			continue
		}
		if strings.HasPrefix(k, key) || strings.HasPrefix(key, k) {
			return errs.Wrap(errs.AlreadyExists, store.ErrLocationOwned,
				"Location %s overlaps the location of warehouse %s", location, name)
		}
	}
	return nil
}

// noSuchWarehouse is the error for a warehouse that is not stored.
func noSuchWarehouse(name string) error {
	return errs.New(errs.NoSuchWarehouse, "Warehouse does not exist: %s", name)
}

// warehouseExists is the error for a name taken by another warehouse.
func warehouseExists(name string) error {
	return errs.New(errs.AlreadyExists, "Warehouse already exists: %s", name)
}

// warehouseNotEmpty is the error for deleting a warehouse that holds
// namespaces without cascade.
func warehouseNotEmpty(name string) error {
	return errs.New(errs.WarehouseNotEmpty, "Warehouse %s is not empty: drop its namespaces, tables and views first, or delete it with cascade=true", name)
}

func (s *Store) ListWarehouses(ctx context.Context) ([]store.Warehouse, error) {
	return s.read().ListWarehouses(ctx)
}

func (s *Store) WarehouseRevision(ctx context.Context) (int64, error) {
	return s.read().WarehouseRevision(ctx)
}

// writeWarehouse runs fn in a write transaction that first bumps the
// revision (whose row lock serializes warehouse mutations) and hands fn the
// warehouses' keys by name.
func (s *Store) writeWarehouse(ctx context.Context, fn func(tx driver.Tx, keys map[string]string) error) error {
	return busyError(s.writeEvents(ctx, func(tx driver.Tx) error {
		if _, err := tx.BumpWarehouseRevision(ctx); err != nil {
			return err
		}
		all, err := tx.ListWarehouses(ctx)
		if err != nil {
			return err
		}
		keys := make(map[string]string, len(all))
		for _, w := range all {
			keys[w.Name] = w.Key
		}
		return fn(tx, keys)
	}))
}

func (s *Store) CreateWarehouse(ctx context.Context, w store.Warehouse, event store.EventType) error {
	return s.writeWarehouse(ctx, func(tx driver.Tx, keys map[string]string) error {
		if _, ok := keys[w.Name]; ok {
			return warehouseExists(w.Name)
		}
		if err := warehouseOverlap(keys, w.Name, w.Location, w.Key); err != nil {
			return err
		}
		w.CreatedAt = time.Now()
		if err := tx.InsertWarehouse(ctx, w); err != nil {
			return err
		}
		return insertEvent(ctx, tx, event, w.Name, "", "", store.EventDetails{})
	})
}

func (s *Store) UpdateWarehouse(ctx context.Context, w store.Warehouse, event store.EventType) error {
	return s.writeWarehouse(ctx, func(tx driver.Tx, keys map[string]string) error {
		if _, ok := keys[w.Name]; !ok {
			return noSuchWarehouse(w.Name)
		}
		if err := warehouseOverlap(keys, w.Name, w.Location, w.Key); err != nil {
			return err
		}
		w.UpdatedAt = time.Now()
		if _, err := tx.UpdateWarehouse(ctx, w); err != nil {
			return err
		}
		return insertEvent(ctx, tx, event, w.Name, "", "", store.EventDetails{})
	})
}

func (s *Store) RenameWarehouse(ctx context.Context, from, to string) error {
	return s.writeWarehouse(ctx, func(tx driver.Tx, keys map[string]string) error {
		if _, ok := keys[from]; !ok {
			return noSuchWarehouse(from)
		}
		if _, ok := keys[to]; ok {
			return warehouseExists(to)
		}
		if err := tx.RenameWarehouse(ctx, from, to, time.Now()); err != nil {
			return err
		}
		// The grants moved: nodes reload their authorization state.
		if err := tx.BumpAuthVersion(ctx); err != nil {
			return err
		}
		return insertEvent(ctx, tx, store.EventWarehouseRenamed, from, "", "",
			store.EventDetails{RenamedTo: &store.RenamedTo{Name: to}})
	})
}

func (s *Store) DeleteWarehouse(ctx context.Context, name string) error {
	return s.writeWarehouse(ctx, func(tx driver.Tx, keys map[string]string) error {
		if _, ok := keys[name]; !ok {
			return noSuchWarehouse(name)
		}
		// A namespace created after the check would outlive its warehouse.
		if err := tx.LockWarehouseNamespaces(ctx); err != nil {
			return err
		}
		used, err := tx.WarehouseHasNamespaces(ctx, name)
		if err != nil {
			return err
		}
		if used {
			return warehouseNotEmpty(name)
		}
		if _, err := tx.DeleteWarehouse(ctx, name); err != nil {
			return err
		}
		// A warehouse created later under the name must not inherit them.
		if err := tx.DeleteWarehouseGrants(ctx, name); err != nil {
			return err
		}
		if err := tx.BumpAuthVersion(ctx); err != nil {
			return err
		}
		return insertEvent(ctx, tx, store.EventWarehouseDeleted, name, "", "", store.EventDetails{})
	})
}

func (s *Store) PurgeJobsUnder(ctx context.Context, prefix string) (int64, error) {
	return s.read().PurgeJobsUnder(ctx, prefix)
}

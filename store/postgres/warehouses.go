package postgres

import (
	"context"
	"time"

	"github.com/bingsan/bingsan/gen/pgdb"
	"github.com/bingsan/bingsan/store"
)

func (e executor) ListWarehouses(ctx context.Context) ([]store.Warehouse, error) {
	rs, err := e.q.ListWarehouses(ctx, e.db)
	return rows(rs, err, func(r pgdb.ListWarehousesRow) store.Warehouse {
		return store.Warehouse{Name: r.Name, Location: r.Location, Key: r.Key, Settings: []byte(r.Settings),
			Secrets: r.Secrets, Active: r.Active, Source: store.WarehouseSource(r.Source),
			CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	})
}

func (e executor) WarehouseRevision(ctx context.Context) (int64, error) {
	return n64(e.q.WarehouseRevision(ctx, e.db))
}

func (e executor) BumpWarehouseRevision(ctx context.Context) (int64, error) {
	return n64(e.q.BumpWarehouseRevision(ctx, e.db))
}

func (e executor) InsertWarehouse(ctx context.Context, w store.Warehouse) error {
	return interpret(e.q.InsertWarehouse(ctx, e.db, pgdb.InsertWarehouseParams{
		Name: w.Name, Location: w.Location, Key: w.Key, Settings: w.Settings, Secrets: w.Secrets,
		Active: w.Active, Source: string(w.Source), CreatedAt: w.CreatedAt,
	}))
}

func (e executor) UpdateWarehouse(ctx context.Context, w store.Warehouse) (int64, error) {
	return n64(e.q.UpdateWarehouse(ctx, e.db, pgdb.UpdateWarehouseParams{
		Name: w.Name, Location: w.Location, Key: w.Key, Settings: w.Settings, Secrets: w.Secrets,
		Active: w.Active, Source: string(w.Source), UpdatedAt: w.UpdatedAt,
	}))
}

// RenameWarehouse first takes SHARE on namespaces: namespaces created in
// the old name meanwhile would be left behind.
func (e executor) RenameWarehouse(ctx context.Context, from, to string, now time.Time) error {
	if err := e.LockWarehouseNamespaces(ctx); err != nil {
		return err
	}
	return interpret(e.q.RenameWarehouseRows(ctx, e.db, pgdb.RenameWarehouseRowsParams{FromName: from, ToName: to, UpdatedAt: now}))
}

// LockWarehouseNamespaces takes SHARE on the namespaces table (a
// statement sqlc has no query form for).
func (e executor) LockWarehouseNamespaces(ctx context.Context) error {
	_, err := e.db.Exec(ctx, "LOCK TABLE namespaces IN SHARE MODE")
	return interpret(err)
}

func (e executor) WarehouseHasNamespaces(ctx context.Context, warehouse string) (bool, error) {
	ok, err := e.q.WarehouseHasNamespaces(ctx, e.db, warehouse)
	return ok, interpret(err)
}

func (e executor) DeleteWarehouse(ctx context.Context, name string) (int64, error) {
	return n64(e.q.DeleteWarehouse(ctx, e.db, name))
}

func (e executor) DeleteWarehouseGrants(ctx context.Context, warehouse string) error {
	return interpret(e.q.DeleteWarehouseGrants(ctx, e.db, warehouse))
}

func (e executor) PurgeJobsUnder(ctx context.Context, prefix string) (int64, error) {
	return n64(e.q.PurgeJobsUnder(ctx, e.db, prefix))
}

package sqlite

import (
	"context"
	"time"

	"github.com/bingsan/bingsan/gen/sqlitedb"
	"github.com/bingsan/bingsan/store"
)

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func (e executor) ListWarehouses(ctx context.Context) ([]store.Warehouse, error) {
	rs, err := e.q.ListWarehouses(ctx, e.db)
	return rows(rs, err, func(r sqlitedb.Warehouse) store.Warehouse {
		return store.Warehouse{Name: r.Name, Location: r.Location, Key: r.Key, Settings: []byte(r.Settings),
			Secrets: r.Secrets, Active: r.Active != 0, Source: store.WarehouseSource(r.Source),
			CreatedAt: fromMicros(r.CreatedAt), UpdatedAt: fromMicros(r.UpdatedAt)}
	})
}

func (e executor) WarehouseRevision(ctx context.Context) (int64, error) {
	return n64(e.q.WarehouseRevision(ctx, e.db))
}

func (e executor) BumpWarehouseRevision(ctx context.Context) (int64, error) {
	return n64(e.q.BumpWarehouseRevision(ctx, e.db))
}

func (e executor) InsertWarehouse(ctx context.Context, w store.Warehouse) error {
	return interpret(e.q.InsertWarehouse(ctx, e.db, sqlitedb.InsertWarehouseParams{
		Name: w.Name, Location: w.Location, Key: w.Key, Settings: string(w.Settings), Secrets: w.Secrets,
		Active: boolInt(w.Active), Source: string(w.Source), CreatedAt: micros(w.CreatedAt),
	}))
}

func (e executor) UpdateWarehouse(ctx context.Context, w store.Warehouse) (int64, error) {
	return n64(e.q.UpdateWarehouse(ctx, e.db, sqlitedb.UpdateWarehouseParams{
		Name: w.Name, Location: w.Location, Key: w.Key, Settings: string(w.Settings), Secrets: w.Secrets,
		Active: boolInt(w.Active), Source: string(w.Source), UpdatedAt: micros(w.UpdatedAt),
	}))
}

// RenameWarehouse renames the rows table by table. Entities reference
// namespaces by (warehouse, name): the foreign key is checked at commit,
// when it sees both moved (a pragma: sqlc has no query for it). The write
// transaction keeps other writers out.
func (e executor) RenameWarehouse(ctx context.Context, from, to string, now time.Time) error {
	if _, err := e.db.ExecContext(ctx, "PRAGMA defer_foreign_keys = ON"); err != nil {
		return interpret(err)
	}
	if err := e.q.RenameWarehouse(ctx, e.db, sqlitedb.RenameWarehouseParams{FromName: from, ToName: to, UpdatedAt: micros(now)}); err != nil {
		return interpret(err)
	}
	if err := e.q.RenameWarehouseNamespaces(ctx, e.db, sqlitedb.RenameWarehouseNamespacesParams{FromName: from, ToName: to}); err != nil {
		return interpret(err)
	}
	if err := e.q.RenameWarehouseEntities(ctx, e.db, sqlitedb.RenameWarehouseEntitiesParams{FromName: from, ToName: to}); err != nil {
		return interpret(err)
	}
	return interpret(e.q.RenameWarehouseGrants(ctx, e.db, sqlitedb.RenameWarehouseGrantsParams{FromName: from, ToName: to}))
}

// LockWarehouseNamespaces does nothing: the write transaction excludes
// every other writer.
func (e executor) LockWarehouseNamespaces(context.Context) error { return nil }

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

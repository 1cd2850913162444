package sqlite

import (
	"context"
	"time"

	"github.com/bingsan/bingsan/gen/sqlitedb"
	"github.com/bingsan/bingsan/store/driver"
)

// Namespaces.

func namespaceFromRow(r sqlitedb.Namespace) driver.NamespaceRow {
	return driver.NamespaceRow{ID: r.ID, Warehouse: r.Warehouse, Name: r.Name, Parent: r.Parent, Properties: []byte(r.Properties), Location: r.Location.String}
}

func (e executor) InsertNamespace(ctx context.Context, n driver.NamespaceRow, now time.Time) (int64, error) {
	return n64(e.q.InsertNamespace(ctx, e.db, sqlitedb.InsertNamespaceParams{
		Warehouse: n.Warehouse, Name: n.Name, Parent: n.Parent, Properties: string(n.Properties), Now: micros(now), Location: nullString(n.Location),
	}))
}

func (e executor) GetNamespace(ctx context.Context, warehouse, name string) (driver.NamespaceRow, error) {
	r, err := e.q.GetNamespace(ctx, e.db, sqlitedb.GetNamespaceParams{Warehouse: warehouse, Name: name})
	return one(r, err, namespaceFromRow)
}

func (e executor) NamespaceExists(ctx context.Context, warehouse, name string) (bool, error) {
	ok, err := e.q.NamespaceExists(ctx, e.db, sqlitedb.NamespaceExistsParams{Warehouse: warehouse, Name: name})
	return ok, interpret(err)
}

func (e executor) ListNamespaces(ctx context.Context, warehouse, parent, after string, limit int32) ([]driver.NamespaceRow, error) {
	rs, err := e.q.ListNamespaces(ctx, e.db, sqlitedb.ListNamespacesParams{Warehouse: warehouse, Parent: parent, After: after, Lim: int64(limit)})
	return rows(rs, err, namespaceFromRow)
}

// ShareNamespace only checks that the namespace exists: the write
// transaction excludes every other writer, so it cannot be dropped before
// the transaction ends.
func (e executor) ShareNamespace(ctx context.Context, warehouse, name string) error {
	ok, err := e.NamespaceExists(ctx, warehouse, name)
	if err == nil && !ok {
		return driver.ErrNoRows
	}
	return err
}

// LockNamespace reads the row; the write transaction is the lock.
func (e executor) LockNamespace(ctx context.Context, warehouse, name string) (driver.NamespaceRow, error) {
	return e.GetNamespace(ctx, warehouse, name)
}

// LockNamespaceProperties reads the row; the write transaction is the lock.
func (e executor) LockNamespaceProperties(ctx context.Context, warehouse, name string) (driver.NamespaceRow, error) {
	return e.GetNamespace(ctx, warehouse, name)
}

func (e executor) NamespaceContents(ctx context.Context, warehouse, name string) (driver.NamespaceContents, error) {
	r, err := e.q.NamespaceContents(ctx, e.db, sqlitedb.NamespaceContentsParams{Warehouse: warehouse, Name: name})
	return driver.NamespaceContents{HasChildren: r.HasChildren, HasTables: r.HasTables, HasViews: r.HasViews, HasFunctions: r.HasFunctions}, interpret(err)
}

func (e executor) UpdateNamespaceProperties(ctx context.Context, warehouse, name string, properties []byte, now time.Time) error {
	return interpret(e.q.UpdateNamespaceProperties(ctx, e.db, sqlitedb.UpdateNamespacePropertiesParams{
		Warehouse: warehouse, Name: name, Properties: string(properties), Now: micros(now),
	}))
}

func (e executor) DeleteNamespace(ctx context.Context, warehouse, name string) (int64, error) {
	return n64(e.q.DeleteNamespace(ctx, e.db, sqlitedb.DeleteNamespaceParams{Warehouse: warehouse, Name: name}))
}

func (e executor) NamespacesWithoutLocation(ctx context.Context, limit int32) ([]driver.NamespaceRow, error) {
	rs, err := e.q.NamespacesWithoutLocation(ctx, e.db, int64(limit))
	return rows(rs, err, func(r sqlitedb.NamespacesWithoutLocationRow) driver.NamespaceRow {
		return driver.NamespaceRow{ID: r.ID, Warehouse: r.Warehouse, Name: r.Name, Properties: []byte(r.Properties), ParentLocation: r.ParentLocation}
	})
}

func (e executor) SetNamespaceLocation(ctx context.Context, id int64, location string) error {
	return interpret(e.q.SetNamespaceLocation(ctx, e.db, sqlitedb.SetNamespaceLocationParams{ID: id, Location: nullString(location)}))
}

// Entities.

func entityFromRow(r sqlitedb.Entity) driver.EntityRow {
	return driver.EntityRow{ID: r.ID, EntityKey: driver.EntityKey{Warehouse: r.Warehouse, Namespace: r.Namespace, Name: r.Name, Kind: r.Kind},
		MetadataLocation: r.MetadataLocation, Metadata: r.Metadata, Version: r.Version, UUID: r.Uuid.String}
}

func (e executor) InsertEntity(ctx context.Context, r driver.EntityRow, now time.Time) (int64, error) {
	return n64(e.q.InsertEntity(ctx, e.db, sqlitedb.InsertEntityParams{
		Warehouse: r.Warehouse, Namespace: r.Namespace, Name: r.Name, Kind: r.Kind,
		MetadataLocation: r.MetadataLocation, Metadata: nonNil(r.Metadata), Now: micros(now), Uuid: nullString(r.UUID),
	}))
}

// InsertClaimedEntity is two statements here: SQLite runs them in the
// process, without a round trip to save.
func (e executor) InsertClaimedEntity(ctx context.Context, r driver.EntityRow, now time.Time, keys []string) error {
	id, err := e.InsertEntity(ctx, r, now)
	if err != nil || len(keys) == 0 {
		return err
	}
	return e.InsertClaims(ctx, r.Kind, id, keys)
}

func (e executor) GetEntity(ctx context.Context, k driver.EntityKey) (driver.EntityRow, error) {
	r, err := e.q.GetEntity(ctx, e.db, sqlitedb.GetEntityParams{Warehouse: k.Warehouse, Namespace: k.Namespace, Name: k.Name, Kind: k.Kind})
	return one(r, err, entityFromRow)
}

func (e executor) EntityExists(ctx context.Context, k driver.EntityKey) (bool, error) {
	ok, err := e.q.EntityExists(ctx, e.db, sqlitedb.EntityExistsParams{Warehouse: k.Warehouse, Namespace: k.Namespace, Name: k.Name, Kind: k.Kind})
	return ok, interpret(err)
}

func (e executor) EntityKind(ctx context.Context, k driver.EntityKey) (string, error) {
	kind, err := e.q.EntityKind(ctx, e.db, sqlitedb.EntityKindParams{Warehouse: k.Warehouse, Namespace: k.Namespace, Name: k.Name})
	return kind, interpret(err)
}

func (e executor) ListEntities(ctx context.Context, warehouse, namespace, kind, after string, limit int32) ([]string, error) {
	names, err := e.q.ListEntities(ctx, e.db, sqlitedb.ListEntitiesParams{Warehouse: warehouse, Namespace: namespace, Kind: kind, After: after, Lim: int64(limit)})
	return names, interpret(err)
}

func (e executor) RenameEntity(ctx context.Context, k driver.EntityKey, toNamespace, toName string, now time.Time) (string, error) {
	loc, err := e.q.RenameEntity(ctx, e.db, sqlitedb.RenameEntityParams{
		Warehouse: k.Warehouse, Namespace: k.Namespace, Name: k.Name, Kind: k.Kind, ToNamespace: toNamespace, ToName: toName, Now: micros(now),
	})
	return loc, interpret(err)
}

func (e executor) DeleteEntity(ctx context.Context, k driver.EntityKey) (driver.EntityRow, error) {
	r, err := e.q.DeleteEntity(ctx, e.db, sqlitedb.DeleteEntityParams{Warehouse: k.Warehouse, Namespace: k.Namespace, Name: k.Name, Kind: k.Kind})
	return one(r, err, entityFromRow)
}

// LockEntity reads the row; the write transaction holds SQLite's single
// write lock, so no row lock is needed.
func (e executor) LockEntity(ctx context.Context, k driver.EntityKey) (driver.EntityRow, error) {
	r, err := e.q.LockEntity(ctx, e.db, sqlitedb.LockEntityParams{Warehouse: k.Warehouse, Namespace: k.Namespace, Name: k.Name})
	return one(r, err, func(r sqlitedb.LockEntityRow) driver.EntityRow {
		return driver.EntityRow{ID: r.ID, EntityKey: driver.EntityKey{Warehouse: k.Warehouse, Namespace: k.Namespace, Name: k.Name, Kind: r.Kind},
			Version: r.Version, MetadataLocation: r.MetadataLocation}
	})
}

func (e executor) UpdateEntityMetadata(ctx context.Context, id, baseVersion int64, metadataLocation string, metadata []byte, now time.Time) (int64, error) {
	return n64(e.q.UpdateEntityMetadata(ctx, e.db, sqlitedb.UpdateEntityMetadataParams{
		ID: id, BaseVersion: baseVersion, MetadataLocation: metadataLocation, Metadata: nonNil(metadata), Now: micros(now),
	}))
}

func (e executor) SetEntityUUID(ctx context.Context, id int64, uuid string) error {
	return interpret(e.q.SetEntityUUID(ctx, e.db, sqlitedb.SetEntityUUIDParams{ID: id, Uuid: nullString(uuid)}))
}

func (e executor) EntitiesWithoutClaims(ctx context.Context, after int64, limit int32) ([]driver.EntityRow, error) {
	rs, err := e.q.EntitiesWithoutClaims(ctx, e.db, sqlitedb.EntitiesWithoutClaimsParams{After: after, Lim: int64(limit)})
	return rows(rs, err, func(r sqlitedb.EntitiesWithoutClaimsRow) driver.EntityRow {
		return driver.EntityRow{ID: r.ID, EntityKey: driver.EntityKey{Warehouse: r.Warehouse, Namespace: r.Namespace, Name: r.Name, Kind: r.Kind}, Metadata: r.Metadata}
	})
}

// Events.

// InsertEvents writes rows with the next ids: the write transaction
// excludes every other writer, so ids follow commit order.
func (e executor) InsertEvents(ctx context.Context, evs []driver.EventRow, now time.Time) error {
	last, err := e.q.NextEventIDs(ctx, e.db, int64(len(evs)))
	if err != nil {
		return interpret(err)
	}
	for i, r := range evs {
		if err := e.q.InsertEvent(ctx, e.db, sqlitedb.InsertEventParams{
			ID: last - int64(len(evs)-1-i), Type: r.Type, CreatedAt: micros(now),
			Warehouse: r.Warehouse, Namespace: r.Namespace, Name: r.Name, Details: string(r.Details),
		}); err != nil {
			return interpret(err)
		}
	}
	return nil
}

func (e executor) ListEvents(ctx context.Context, after int64, limit int32) ([]driver.EventRow, error) {
	rs, err := e.q.ListEvents(ctx, e.db, sqlitedb.ListEventsParams{After: after, Lim: int64(limit)})
	return rows(rs, err, func(r sqlitedb.Event) driver.EventRow {
		return driver.EventRow{ID: r.ID, Type: r.Type, Time: fromMicros(r.CreatedAt), Warehouse: r.Warehouse, Namespace: r.Namespace, Name: r.Name, Details: []byte(r.Details)}
	})
}

func (e executor) LastEventID(ctx context.Context) (int64, error) {
	return n64(e.q.LastEventID(ctx, e.db))
}

func (e executor) EventPruneThrough(ctx context.Context, before time.Time) (int64, error) {
	return n64(e.q.EventPruneThrough(ctx, e.db, micros(before)))
}

func (e executor) DeleteEventsThrough(ctx context.Context, through int64, limit int32) (int64, error) {
	return n64(e.q.DeleteEventsThrough(ctx, e.db, sqlitedb.DeleteEventsThroughParams{Through: through, Lim: int64(limit)}))
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bingsan/bingsan/gen/pgdb"
	"github.com/bingsan/bingsan/store/driver"
)

// Namespaces.

func namespaceFromRow(r pgdb.Namespace) driver.NamespaceRow {
	return driver.NamespaceRow{ID: r.ID, Warehouse: r.Warehouse, Name: r.Name, Parent: r.Parent, Properties: r.Properties, Location: r.Location.String}
}

func (e executor) InsertNamespace(ctx context.Context, n driver.NamespaceRow, _ time.Time) (int64, error) {
	return n64(e.q.InsertNamespace(ctx, e.db, pgdb.InsertNamespaceParams{
		Warehouse: n.Warehouse, Name: n.Name, Parent: n.Parent, Properties: n.Properties, Location: pgText(n.Location),
	}))
}

func (e executor) GetNamespace(ctx context.Context, warehouse, name string) (driver.NamespaceRow, error) {
	r, err := e.q.GetNamespace(ctx, e.db, pgdb.GetNamespaceParams{Warehouse: warehouse, Name: name})
	return one(r, err, namespaceFromRow)
}

func (e executor) NamespaceExists(ctx context.Context, warehouse, name string) (bool, error) {
	ok, err := e.q.NamespaceExists(ctx, e.db, pgdb.NamespaceExistsParams{Warehouse: warehouse, Name: name})
	return ok, interpret(err)
}

func (e executor) ListNamespaces(ctx context.Context, warehouse, parent, after string, limit int32) ([]driver.NamespaceRow, error) {
	rs, err := e.q.ListNamespaces(ctx, e.db, pgdb.ListNamespacesParams{Warehouse: warehouse, Parent: parent, After: after, Lim: limit})
	return rows(rs, err, namespaceFromRow)
}

// ShareNamespace takes FOR KEY SHARE on the row.
func (e executor) ShareNamespace(ctx context.Context, warehouse, name string) error {
	_, err := e.q.KeyShareNamespace(ctx, e.db, pgdb.KeyShareNamespaceParams{Warehouse: warehouse, Name: name})
	return interpret(err)
}

// LockNamespace takes FOR UPDATE on the row.
func (e executor) LockNamespace(ctx context.Context, warehouse, name string) (driver.NamespaceRow, error) {
	r, err := e.q.LockNamespace(ctx, e.db, pgdb.LockNamespaceParams{Warehouse: warehouse, Name: name})
	return one(r, err, namespaceFromRow)
}

// LockNamespaceProperties takes FOR NO KEY UPDATE on the row.
func (e executor) LockNamespaceProperties(ctx context.Context, warehouse, name string) (driver.NamespaceRow, error) {
	r, err := e.q.LockNamespaceProperties(ctx, e.db, pgdb.LockNamespacePropertiesParams{Warehouse: warehouse, Name: name})
	return one(r, err, namespaceFromRow)
}

func (e executor) NamespaceContents(ctx context.Context, warehouse, name string) (driver.NamespaceContents, error) {
	r, err := e.q.NamespaceContents(ctx, e.db, pgdb.NamespaceContentsParams{Warehouse: warehouse, Name: name})
	return driver.NamespaceContents{HasChildren: r.HasChildren, HasTables: r.HasTables, HasViews: r.HasViews, HasFunctions: r.HasFunctions}, interpret(err)
}

func (e executor) UpdateNamespaceProperties(ctx context.Context, warehouse, name string, properties []byte, _ time.Time) error {
	return interpret(e.q.UpdateNamespaceProperties(ctx, e.db, pgdb.UpdateNamespacePropertiesParams{Warehouse: warehouse, Name: name, Properties: properties}))
}

func (e executor) DeleteNamespace(ctx context.Context, warehouse, name string) (int64, error) {
	return n64(e.q.DeleteNamespace(ctx, e.db, pgdb.DeleteNamespaceParams{Warehouse: warehouse, Name: name}))
}

func (e executor) NamespacesWithoutLocation(ctx context.Context, limit int32) ([]driver.NamespaceRow, error) {
	rs, err := e.q.NamespacesWithoutLocation(ctx, e.db, limit)
	return rows(rs, err, func(r pgdb.NamespacesWithoutLocationRow) driver.NamespaceRow {
		return driver.NamespaceRow{ID: r.ID, Warehouse: r.Warehouse, Name: r.Name, Properties: r.Properties, ParentLocation: r.ParentLocation}
	})
}

func (e executor) SetNamespaceLocation(ctx context.Context, id int64, location string) error {
	return interpret(e.q.SetNamespaceLocation(ctx, e.db, pgdb.SetNamespaceLocationParams{ID: id, Location: pgText(location)}))
}

// Entities.

func entityFromRow(r pgdb.Entity) driver.EntityRow {
	return driver.EntityRow{ID: r.ID, EntityKey: driver.EntityKey{Warehouse: r.Warehouse, Namespace: r.Namespace, Name: r.Name, Kind: r.Kind},
		MetadataLocation: r.MetadataLocation, Metadata: r.Metadata, Version: r.Version, UUID: r.Uuid.String}
}

func (e executor) InsertEntity(ctx context.Context, r driver.EntityRow, _ time.Time) (int64, error) {
	return n64(e.q.InsertEntity(ctx, e.db, pgdb.InsertEntityParams{
		Warehouse: r.Warehouse, Namespace: r.Namespace, Name: r.Name, Kind: r.Kind,
		MetadataLocation: r.MetadataLocation, Metadata: nonNil(r.Metadata), Uuid: pgText(r.UUID),
	}))
}

func (e executor) InsertClaimedEntity(ctx context.Context, r driver.EntityRow, _ time.Time, keys []string) error {
	return interpret(e.q.InsertClaimedEntity(ctx, e.db, pgdb.InsertClaimedEntityParams{
		Warehouse: r.Warehouse, Namespace: r.Namespace, Name: r.Name, Kind: r.Kind,
		MetadataLocation: r.MetadataLocation, Metadata: nonNil(r.Metadata), Uuid: pgText(r.UUID), Keys: nonNilStrings(keys),
	}))
}

func (e executor) GetEntity(ctx context.Context, k driver.EntityKey) (driver.EntityRow, error) {
	r, err := e.q.GetEntity(ctx, e.db, pgdb.GetEntityParams{Warehouse: k.Warehouse, Namespace: k.Namespace, Name: k.Name, Kind: k.Kind})
	return one(r, err, entityFromRow)
}

func (e executor) EntityExists(ctx context.Context, k driver.EntityKey) (bool, error) {
	ok, err := e.q.EntityExists(ctx, e.db, pgdb.EntityExistsParams{Warehouse: k.Warehouse, Namespace: k.Namespace, Name: k.Name, Kind: k.Kind})
	return ok, interpret(err)
}

func (e executor) EntityKind(ctx context.Context, k driver.EntityKey) (string, error) {
	kind, err := e.q.EntityKind(ctx, e.db, pgdb.EntityKindParams{Warehouse: k.Warehouse, Namespace: k.Namespace, Name: k.Name})
	return kind, interpret(err)
}

func (e executor) ListEntities(ctx context.Context, warehouse, namespace, kind, after string, limit int32) ([]string, error) {
	names, err := e.q.ListEntities(ctx, e.db, pgdb.ListEntitiesParams{Warehouse: warehouse, Namespace: namespace, Kind: kind, After: after, Lim: limit})
	return names, interpret(err)
}

func (e executor) RenameEntity(ctx context.Context, k driver.EntityKey, toNamespace, toName string, _ time.Time) (string, error) {
	loc, err := e.q.RenameEntity(ctx, e.db, pgdb.RenameEntityParams{
		Warehouse: k.Warehouse, Namespace: k.Namespace, Name: k.Name, Kind: k.Kind, ToNamespace: toNamespace, ToName: toName,
	})
	return loc, interpret(err)
}

func (e executor) DeleteEntity(ctx context.Context, k driver.EntityKey) (driver.EntityRow, error) {
	r, err := e.q.DeleteEntity(ctx, e.db, pgdb.DeleteEntityParams{Warehouse: k.Warehouse, Namespace: k.Namespace, Name: k.Name, Kind: k.Kind})
	return one(r, err, entityFromRow)
}

// LockEntity takes FOR UPDATE on the row.
func (e executor) LockEntity(ctx context.Context, k driver.EntityKey) (driver.EntityRow, error) {
	r, err := e.q.LockEntity(ctx, e.db, pgdb.LockEntityParams{Warehouse: k.Warehouse, Namespace: k.Namespace, Name: k.Name})
	return one(r, err, func(r pgdb.LockEntityRow) driver.EntityRow {
		return driver.EntityRow{ID: r.ID, EntityKey: driver.EntityKey{Warehouse: k.Warehouse, Namespace: k.Namespace, Name: k.Name, Kind: r.Kind},
			Version: r.Version, MetadataLocation: r.MetadataLocation}
	})
}

func (e executor) UpdateEntityMetadata(ctx context.Context, id, baseVersion int64, metadataLocation string, metadata []byte, _ time.Time) (int64, error) {
	return n64(e.q.UpdateEntityMetadata(ctx, e.db, pgdb.UpdateEntityMetadataParams{
		ID: id, BaseVersion: baseVersion, MetadataLocation: metadataLocation, Metadata: nonNil(metadata),
	}))
}

func (e executor) SetEntityUUID(ctx context.Context, id int64, uuid string) error {
	return interpret(e.q.SetEntityUUID(ctx, e.db, pgdb.SetEntityUUIDParams{ID: id, Uuid: pgText(uuid)}))
}

func (e executor) EntitiesWithoutClaims(ctx context.Context, after int64, limit int32) ([]driver.EntityRow, error) {
	rs, err := e.q.EntitiesWithoutClaims(ctx, e.db, pgdb.EntitiesWithoutClaimsParams{After: after, Lim: limit})
	return rows(rs, err, func(r pgdb.EntitiesWithoutClaimsRow) driver.EntityRow {
		return driver.EntityRow{ID: r.ID, EntityKey: driver.EntityKey{Warehouse: r.Warehouse, Namespace: r.Namespace, Name: r.Name, Kind: r.Kind}, Metadata: r.Metadata}
	})
}

// Events.

// InsertEvents writes rows without ids (see the migration): the sequencer
// numbers them once the transaction has committed (SequenceEvents).
func (e executor) InsertEvents(ctx context.Context, evs []driver.EventRow, _ time.Time) error {
	p := pgdb.InsertEventsParams{
		Types:      make([]string, len(evs)),
		Warehouses: make([]string, len(evs)),
		Namespaces: make([]string, len(evs)),
		Names:      make([]string, len(evs)),
		Details:    make([]string, len(evs)),
	}
	for i, r := range evs {
		p.Types[i], p.Warehouses[i], p.Namespaces[i], p.Names[i], p.Details[i] = r.Type, r.Warehouse, r.Namespace, r.Name, string(r.Details)
	}
	_, err := e.q.InsertEvents(ctx, e.db, p)
	return interpret(err)
}

func (e executor) ListEvents(ctx context.Context, after int64, limit int32) ([]driver.EventRow, error) {
	rs, err := e.q.ListEvents(ctx, e.db, pgdb.ListEventsParams{After: after, Lim: limit})
	return rows(rs, err, func(r pgdb.ListEventsRow) driver.EventRow {
		return driver.EventRow{ID: r.ID, Type: r.Type, Time: r.CreatedAt, Warehouse: r.Warehouse, Namespace: r.Namespace, Name: r.Name, Details: r.Details}
	})
}

func (e executor) LastEventID(ctx context.Context) (int64, error) {
	return n64(e.q.LastEventID(ctx, e.db))
}

func (e executor) EventPruneThrough(ctx context.Context, before time.Time) (int64, error) {
	return n64(e.q.EventPruneThrough(ctx, e.db, before))
}

func (e executor) DeleteEventsThrough(ctx context.Context, through int64, limit int32) (int64, error) {
	return n64(e.q.DeleteEventsThrough(ctx, e.db, pgdb.DeleteEventsThroughParams{Through: through, Lim: limit}))
}

// Capabilities.

var (
	_ driver.EntityBatcher   = (*Driver)(nil)
	_ driver.EntityCommitter = (*Driver)(nil)
	_ driver.EventSequencer  = (*Driver)(nil)
	_ driver.EventListener   = (*Driver)(nil)
	_ driver.PruneLocker     = (*Driver)(nil)
)

// GetEntities reads several keys with one array join.
func (d *Driver) GetEntities(ctx context.Context, keys []driver.EntityKey) ([]driver.EntityRow, error) {
	p := pgdb.GetEntitiesParams{
		Warehouses: make([]string, len(keys)), Namespaces: make([]string, len(keys)),
		Names: make([]string, len(keys)), Kinds: make([]string, len(keys)),
	}
	for i, k := range keys {
		p.Warehouses[i], p.Namespaces[i], p.Names[i], p.Kinds[i] = k.Warehouse, k.Namespace, k.Name, k.Kind
	}
	rs, err := d.q.GetEntities(ctx, d.pool, p)
	return rows(rs, err, entityFromRow)
}

// CommitEntity runs the one-statement compare-and-swap with its event
// (sql/queries/postgres/entities.sql) outside a transaction block.
func (d *Driver) CommitEntity(ctx context.Context, c driver.EntityCommit) (driver.CommitResult, error) {
	res, err := d.q.CommitEntity(ctx, d.pool, pgdb.CommitEntityParams{
		Warehouse: c.Key.Warehouse, Namespace: c.Key.Namespace, Name: c.Key.Name, Kind: c.Key.Kind,
		BaseVersion: c.BaseVersion, BaseLocation: c.BaseLocation, MetadataLocation: c.MetadataLocation, Metadata: nonNil(c.Metadata),
		EventType: c.Event.Type, Details: c.Event.Details,
		IdempotencyOutcome: c.IdempotencyOutcome, IdempotencyExpiresAt: c.IdempotencyExpiresAt,
		IdempotencyKeys: nonNilStrings(c.IdempotencyKeys),
	})
	if err != nil {
		// The statement commits by itself: unless the server answered
		// with an error (and so rolled back) or nothing was sent, it
		// may have committed.
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) && !pgconn.SafeToRetry(err) && !errors.Is(err, pgx.ErrNoRows) {
			return driver.CommitResult{}, fmt.Errorf("%w: %w", driver.ErrOutcomeUnknown, interpret(err))
		}
		return driver.CommitResult{}, interpret(err)
	}
	return driver.CommitResult{Committed: res.Committed, CurrentKind: res.CurrentKind, CurrentVersion: res.CurrentVersion}, nil
}

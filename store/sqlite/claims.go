package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/bingsan/bingsan/gen/sqlitedb"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/internal/backend"
)

// claimQueries runs the claim statements of backend.Claim on tx. Writers
// are serialized by SQLite's write lock, so claims take no locks of their
// own.
type claimQueries struct {
	s  *Store
	tx *sql.Tx
}

func (claimQueries) LockClaimKeys(context.Context, []int64, []bool) error { return nil }

func (q claimQueries) OverlappingClaims(ctx context.Context, key string, ancestors []string, keyEnd string) ([]backend.ClaimRow, error) {
	rows, err := q.s.q.OverlappingClaims(ctx, q.tx, sqlitedb.OverlappingClaimsParams{Ancestors: ancestors, Key: key, KeyEnd: keyEnd})
	if err != nil {
		return nil, err
	}
	out := make([]backend.ClaimRow, len(rows))
	for i, r := range rows {
		out[i] = backend.ClaimRow{Key: r.Key, OwnerKind: r.OwnerKind, OwnerID: r.OwnerID, NsWarehouse: r.NsWarehouse, NsName: r.NsName}
	}
	return out, nil
}

func (q claimQueries) InsertClaims(ctx context.Context, ownerKind string, ownerID int64, keys []string) error {
	for _, k := range keys {
		if err := q.s.q.InsertClaim(ctx, q.tx, sqlitedb.InsertClaimParams{Key: k, OwnerKind: ownerKind, OwnerID: ownerID}); err != nil {
			return err
		}
	}
	return nil
}

func (q claimQueries) DeleteClaims(ctx context.Context, ownerKind string, ownerID int64) error {
	return q.s.q.DeleteClaims(ctx, q.tx, sqlitedb.DeleteClaimsParams{OwnerKind: ownerKind, OwnerID: ownerID})
}

func (s *Store) SharedClaims(ctx context.Context, keys []string, before time.Time) ([]string, error) {
	var out []string
	for _, k := range keys {
		shared, err := s.q.SharedClaims(ctx, s.reader, sqlitedb.SharedClaimsParams{
			Before: micros(before), Ancestors: backend.AncestorKeys(k), Key: k, KeyEnd: backend.KeyEnd(k),
		})
		if err != nil {
			return nil, interpret(err)
		}
		out = append(out, shared...)
	}
	return out, nil
}

func (s *Store) BackfillLocations(ctx context.Context, place func(store.LocationOwner) (store.Placement, error), conflict func(store.LocationOwner, error)) error {
	const batch = 500
	for {
		rows, err := s.q.NamespacesWithoutLocation(ctx, s.reader, batch)
		if err != nil {
			return interpret(err)
		}
		progress := false
		for _, r := range rows {
			props, err := backend.DecodeProperties([]byte(r.Properties))
			if err != nil {
				return err
			}
			levels := backend.SplitKey(r.Name)
			owner := store.LocationOwner{Warehouse: r.Warehouse, Namespace: levels, Properties: props, ParentLocation: r.ParentLocation}
			if len(levels) > 1 && r.ParentLocation == "" {
				continue // its parent comes first, in a later batch
			}
			p, err := place(owner)
			if err != nil {
				conflict(owner, err)
				continue
			}
			claimant := backend.Claimant{Kind: backend.ClaimNamespace, ID: r.ID, Warehouse: r.Warehouse, Namespace: levels}
			if err := s.backfillOne(ctx, claimant, p, func(tx *sql.Tx) error {
				return s.q.SetNamespaceLocation(ctx, tx, sqlitedb.SetNamespaceLocationParams{ID: r.ID, Location: sql.NullString{String: p.Location, Valid: true}})
			}, func(err error) { conflict(owner, err) }); err != nil {
				return err
			}
			progress = true
		}
		if len(rows) < batch || !progress {
			break
		}
	}
	var after int64
	for {
		rows, err := s.q.EntitiesWithoutClaims(ctx, s.reader, sqlitedb.EntitiesWithoutClaimsParams{After: after, Lim: batch})
		if err != nil {
			return interpret(err)
		}
		for _, r := range rows {
			after = r.ID
			owner := store.LocationOwner{Warehouse: r.Warehouse, Namespace: backend.SplitKey(r.Namespace), Name: r.Name, Kind: store.Kind(r.Kind), Metadata: r.Metadata}
			p, err := place(owner)
			if err != nil {
				conflict(owner, err)
				continue
			}
			claimant := backend.Claimant{Kind: r.Kind, ID: r.ID, Warehouse: r.Warehouse, Namespace: owner.Namespace}
			if err := s.backfillOne(ctx, claimant, p, func(tx *sql.Tx) error {
				if p.UUID == "" {
					return nil
				}
				return s.q.SetEntityUUID(ctx, tx, sqlitedb.SetEntityUUIDParams{ID: r.ID, Uuid: sql.NullString{String: p.UUID, Valid: true}})
			}, func(err error) { conflict(owner, err) }); err != nil {
				return err
			}
		}
		if len(rows) < batch {
			return nil
		}
	}
}

// backfillOne records an owner's placement (set) and claims. An owner
// whose claims or UUID collide with another's is reported and claimed all
// the same, without the UUID: it exists already, and an owner without
// claims would be backfilled again on every start.
func (s *Store) backfillOne(ctx context.Context, c backend.Claimant, p store.Placement, set func(*sql.Tx) error, conflict func(error)) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := set(tx); err != nil {
			return err
		}
		return backend.Claim(ctx, claimQueries{s, tx}, c, p.Keys)
	})
	if err == nil {
		return nil
	}
	conflict(err)
	return backend.BusyError(s.write(ctx, func(tx *sql.Tx) error {
		if c.Kind == backend.ClaimNamespace {
			if err := set(tx); err != nil {
				return err
			}
		}
		return claimQueries{s, tx}.InsertClaims(ctx, c.Kind, c.ID, p.Keys)
	}))
}

package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/bingsan/bingsan/gen/pgdb"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/internal/backend"
)

func (s *Store) CreateNamespace(ctx context.Context, warehouse string, ns store.Namespace) error {
	key, err := backend.NamespaceKey(ns.Levels)
	if err != nil {
		return err
	}
	props, err := backend.EncodeProperties(ns.Properties)
	if err != nil {
		return err
	}
	parent := backend.ParentKey(ns.Levels)
	err = s.write(ctx, func(tx pgx.Tx) error {
		if parent != "" {
			// Held until commit, so the parent cannot be dropped under us.
			_, err := s.q.KeyShareNamespace(ctx, tx, pgdb.KeyShareNamespaceParams{Warehouse: warehouse, Name: parent})
			if isNoRows(err) {
				return backend.NoSuchNamespace(ns.Levels[:len(ns.Levels)-1])
			}
			if err != nil {
				return err
			}
		}
		id, err := s.q.InsertNamespace(ctx, tx, pgdb.InsertNamespaceParams{
			Warehouse: warehouse, Name: key, Parent: parent, Properties: props,
			Location: pgtype.Text{String: ns.Location, Valid: ns.Location != ""},
		})
		if err != nil {
			return err
		}
		if ns.Key != "" {
			c := backend.Claimant{Kind: backend.ClaimNamespace, ID: id, Warehouse: warehouse, Namespace: ns.Levels}
			if err := backend.Claim(ctx, claimQueries{s, tx}, c, []string{ns.Key}); err != nil {
				return err
			}
		}
		if err := s.markIdempotent(ctx, tx, store.IdempotentOutcome{}); err != nil {
			return err
		}
		return s.insertEvent(ctx, tx, store.EventNamespaceCreated, warehouse, key, "", store.EventDetails{})
	})
	if errors.Is(err, backend.ErrUnique) {
		return backend.NamespaceAlreadyExists(ns.Levels)
	}
	return backend.BusyError(err)
}

func (s *Store) GetNamespace(ctx context.Context, warehouse string, levels []string) (store.Namespace, error) {
	key, err := backend.NamespaceKey(levels)
	if err != nil {
		return store.Namespace{}, err
	}
	row, err := s.q.GetNamespace(ctx, s.pool, pgdb.GetNamespaceParams{Warehouse: warehouse, Name: key})
	if isNoRows(err) {
		return store.Namespace{}, backend.NoSuchNamespace(levels)
	}
	if err != nil {
		return store.Namespace{}, interpret(err)
	}
	return namespaceFromRow(row)
}

func (s *Store) NamespaceExists(ctx context.Context, warehouse string, levels []string) (bool, error) {
	key, err := backend.NamespaceKey(levels)
	if err != nil {
		return false, err
	}
	ok, err := s.q.NamespaceExists(ctx, s.pool, pgdb.NamespaceExistsParams{Warehouse: warehouse, Name: key})
	return ok, interpret(err)
}

func (s *Store) ListNamespaces(ctx context.Context, warehouse string, parent []string, page store.Page) ([]store.Namespace, error) {
	var parentKey string
	if len(parent) > 0 {
		var err error
		if parentKey, err = backend.NamespaceKey(parent); err != nil {
			return nil, err
		}
	}
	rows, err := s.q.ListNamespaces(ctx, s.pool, pgdb.ListNamespacesParams{
		Warehouse: warehouse,
		Parent:    parentKey,
		After:     backend.ListAfter(parentKey, page.After),
		Lim:       backend.Limit(page),
	})
	if err != nil {
		return nil, interpret(err)
	}
	if len(rows) == 0 && len(parent) > 0 {
		// Only an empty page needs to tell "no children" from "no parent".
		if ok, err := s.NamespaceExists(ctx, warehouse, parent); err != nil {
			return nil, err
		} else if !ok {
			return nil, backend.NoSuchNamespace(parent)
		}
	}
	out := make([]store.Namespace, 0, len(rows))
	for _, r := range rows {
		ns, err := namespaceFromRow(r)
		if err != nil {
			return nil, err
		}
		out = append(out, ns)
	}
	return out, nil
}

func (s *Store) UpdateNamespaceProperties(ctx context.Context, warehouse string, levels []string, removals []string, updates map[string]string) (store.PropertyChange, error) {
	key, err := backend.NamespaceKey(levels)
	if err != nil {
		return store.PropertyChange{}, err
	}
	var change store.PropertyChange
	err = s.write(ctx, func(tx pgx.Tx) error {
		row, err := s.q.LockNamespaceProperties(ctx, tx, pgdb.LockNamespacePropertiesParams{Warehouse: warehouse, Name: key})
		if isNoRows(err) {
			return backend.NoSuchNamespace(levels)
		}
		if err != nil {
			return err
		}
		ns, err := namespaceFromRow(row)
		if err != nil {
			return err
		}
		next, ch, err := backend.ApplyProperties(ns.Properties, removals, updates)
		if err != nil {
			return err
		}
		b, err := backend.EncodeProperties(next)
		if err != nil {
			return err
		}
		change = ch
		if err := s.q.UpdateNamespaceProperties(ctx, tx, pgdb.UpdateNamespacePropertiesParams{
			Warehouse: warehouse, Name: key, Properties: b,
		}); err != nil {
			return err
		}
		if err := s.markIdempotent(ctx, tx, store.IdempotentOutcome{PropertyChange: &ch}); err != nil {
			return err
		}
		return s.insertEvent(ctx, tx, store.EventNamespaceUpdated, warehouse, key, "", store.EventDetails{
			PropertiesUpdated: ch.Updated, PropertiesRemoved: ch.Removed,
		})
	})
	if err != nil {
		return store.PropertyChange{}, backend.BusyError(err)
	}
	return change, nil
}

func (s *Store) DropNamespace(ctx context.Context, warehouse string, levels []string) error {
	key, err := backend.NamespaceKey(levels)
	if err != nil {
		return err
	}
	err = s.write(ctx, func(tx pgx.Tx) error {
		// Creators of children and entities hold KEY SHARE on this row
		// until they commit; FOR UPDATE waits for them and keeps new ones
		// out, so the emptiness check below stays true until the delete.
		row, err := s.q.LockNamespace(ctx, tx, pgdb.LockNamespaceParams{Warehouse: warehouse, Name: key})
		if isNoRows(err) {
			return backend.NoSuchNamespace(levels)
		}
		if err != nil {
			return err
		}
		c, err := s.q.NamespaceContents(ctx, tx, pgdb.NamespaceContentsParams{Warehouse: warehouse, Name: key})
		if err != nil {
			return err
		}
		if c.HasChildren || c.HasTables || c.HasViews {
			return backend.NamespaceNotEmpty(levels, c.HasChildren, c.HasTables, c.HasViews)
		}
		if _, err := s.q.DeleteNamespace(ctx, tx, pgdb.DeleteNamespaceParams{Warehouse: warehouse, Name: key}); err != nil {
			return err
		}
		if err := s.q.DeleteClaims(ctx, tx, pgdb.DeleteClaimsParams{OwnerKind: backend.ClaimNamespace, OwnerID: row.ID}); err != nil {
			return err
		}
		if err := s.markIdempotent(ctx, tx, store.IdempotentOutcome{}); err != nil {
			return err
		}
		return s.insertEvent(ctx, tx, store.EventNamespaceDropped, warehouse, key, "", store.EventDetails{})
	})
	if errors.Is(err, backend.ErrForeignKey) {
		return backend.NamespaceNotEmpty(levels, false, false, false)
	}
	return backend.BusyError(err)
}

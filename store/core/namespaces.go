package core

import (
	"context"
	"errors"
	"time"

	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/driver"
)

func namespaceFromRow(r driver.NamespaceRow) (store.Namespace, error) {
	props, err := decodeProperties(r.Properties)
	if err != nil {
		return store.Namespace{}, err
	}
	return store.Namespace{Levels: splitKey(r.Name), Properties: props, Location: r.Location}, nil
}

func (s *Store) CreateNamespace(ctx context.Context, warehouse string, ns store.Namespace) error {
	key, err := namespaceKey(ns.Levels)
	if err != nil {
		return err
	}
	props, err := encodeProperties(ns.Properties)
	if err != nil {
		return err
	}
	parent := parentKey(ns.Levels)
	err = s.writeEvents(ctx, func(tx driver.Tx) error {
		if parent != "" {
			// Held until commit, so the parent cannot be dropped under us.
			if err := tx.ShareNamespace(ctx, warehouse, parent); isNoRows(err) {
				return noSuchNamespace(ns.Levels[:len(ns.Levels)-1])
			} else if err != nil {
				return err
			}
		}
		id, err := tx.InsertNamespace(ctx, driver.NamespaceRow{
			Warehouse: warehouse, Name: key, Parent: parent, Properties: props, Location: ns.Location,
		}, time.Now())
		if err != nil {
			return err
		}
		if ns.Key != "" {
			c := claimant{Kind: claimNamespace, ID: id, Warehouse: warehouse, Namespace: ns.Levels, Fresh: true}
			if err := claim(ctx, tx, c, []string{ns.Key}); err != nil {
				return err
			}
		}
		if err := markIdempotent(ctx, tx, store.IdempotentOutcome{}); err != nil {
			return err
		}
		return insertEvent(ctx, tx, store.EventNamespaceCreated, warehouse, key, "", store.EventDetails{})
	})
	if isUnique(err) {
		return namespaceAlreadyExists(ns.Levels)
	}
	return busyError(err)
}

func (s *Store) GetNamespace(ctx context.Context, warehouse string, levels []string) (store.Namespace, error) {
	key, err := namespaceKey(levels)
	if err != nil {
		return store.Namespace{}, err
	}
	row, err := s.read().GetNamespace(ctx, warehouse, key)
	if isNoRows(err) {
		return store.Namespace{}, noSuchNamespace(levels)
	}
	if err != nil {
		return store.Namespace{}, err
	}
	return namespaceFromRow(row)
}

func (s *Store) NamespaceExists(ctx context.Context, warehouse string, levels []string) (bool, error) {
	key, err := namespaceKey(levels)
	if err != nil {
		return false, err
	}
	return s.read().NamespaceExists(ctx, warehouse, key)
}

func (s *Store) ListNamespaces(ctx context.Context, warehouse string, parent []string, page store.Page) ([]store.Namespace, error) {
	var parentKey string
	if len(parent) > 0 {
		var err error
		if parentKey, err = namespaceKey(parent); err != nil {
			return nil, err
		}
	}
	rows, err := s.read().ListNamespaces(ctx, warehouse, parentKey, listAfter(parentKey, page.After), sqlLimit(page))
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 && len(parent) > 0 {
		// Only an empty page needs to tell "no children" from "no parent".
		if ok, err := s.NamespaceExists(ctx, warehouse, parent); err != nil {
			return nil, err
		} else if !ok {
			return nil, noSuchNamespace(parent)
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
	key, err := namespaceKey(levels)
	if err != nil {
		return store.PropertyChange{}, err
	}
	var change store.PropertyChange
	err = s.writeEvents(ctx, func(tx driver.Tx) error {
		row, err := tx.LockNamespaceProperties(ctx, warehouse, key)
		if isNoRows(err) {
			return noSuchNamespace(levels)
		}
		if err != nil {
			return err
		}
		ns, err := namespaceFromRow(row)
		if err != nil {
			return err
		}
		next, ch, err := applyProperties(ns.Properties, removals, updates)
		if err != nil {
			return err
		}
		b, err := encodeProperties(next)
		if err != nil {
			return err
		}
		change = ch
		if err := tx.UpdateNamespaceProperties(ctx, warehouse, key, b, time.Now()); err != nil {
			return err
		}
		if err := markIdempotent(ctx, tx, store.IdempotentOutcome{PropertyChange: &ch}); err != nil {
			return err
		}
		return insertEvent(ctx, tx, store.EventNamespaceUpdated, warehouse, key, "", store.EventDetails{
			PropertiesUpdated: ch.Updated, PropertiesRemoved: ch.Removed,
		})
	})
	if err != nil {
		return store.PropertyChange{}, busyError(err)
	}
	return change, nil
}

func (s *Store) DropNamespace(ctx context.Context, warehouse string, levels []string) error {
	key, err := namespaceKey(levels)
	if err != nil {
		return err
	}
	err = s.writeEvents(ctx, func(tx driver.Tx) error {
		// Creators of children and entities hold ShareNamespace until they
		// commit; LockNamespace waits for them and keeps new ones out, so
		// the emptiness check below stays true until the delete.
		row, err := tx.LockNamespace(ctx, warehouse, key)
		if isNoRows(err) {
			return noSuchNamespace(levels)
		}
		if err != nil {
			return err
		}
		c, err := tx.NamespaceContents(ctx, warehouse, key)
		if err != nil {
			return err
		}
		if c.HasChildren || c.HasTables || c.HasViews || c.HasFunctions {
			return namespaceNotEmpty(levels, c.HasChildren, c.HasTables, c.HasViews, c.HasFunctions)
		}
		if _, err := tx.DeleteNamespace(ctx, warehouse, key); err != nil {
			return err
		}
		if err := tx.DeleteClaims(ctx, claimNamespace, row.ID); err != nil {
			return err
		}
		if err := markIdempotent(ctx, tx, store.IdempotentOutcome{}); err != nil {
			return err
		}
		return insertEvent(ctx, tx, store.EventNamespaceDropped, warehouse, key, "", store.EventDetails{})
	})
	if errors.Is(err, driver.ErrForeignKey) {
		return namespaceNotEmpty(levels, false, false, false, false)
	}
	return busyError(err)
}

package backend

import (
	"strings"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

// WarehouseOverlap is the one check that a warehouse's location neither
// contains nor lies inside another warehouse's (keys end in one slash, so
// a prefix is an ancestor). existing maps the other warehouses' names to
// their keys; self is skipped (an update).
func WarehouseOverlap(existing map[string]string, self, location, key string) error {
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

// NoSuchWarehouse is the error for a warehouse that is not stored.
func NoSuchWarehouse(name string) error {
	return errs.New(errs.NoSuchWarehouse, "Warehouse does not exist: %s", name)
}

// WarehouseExists is the error for a name taken by another warehouse.
func WarehouseExists(name string) error {
	return errs.New(errs.AlreadyExists, "Warehouse already exists: %s", name)
}

// WarehouseNotEmpty is the error for deleting a warehouse that holds
// namespaces without cascade.
func WarehouseNotEmpty(name string) error {
	return errs.New(errs.WarehouseNotEmpty, "Warehouse %s is not empty: drop its namespaces, tables and views first, or delete it with cascade=true", name)
}

package catalog

import (
	"context"
	"maps"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

// Directory is the catalog's view of the warehouses.
type Directory interface {
	// Serving returns the warehouse when requests may use it:
	// NoSuchWarehouse when there is none, Forbidden when deactivated.
	Serving(warehouse string) (WarehousePlacement, error)
	// Placement is Serving without the checks (zero when unknown).
	Placement(warehouse string) WarehousePlacement
	// Locations maps every warehouse's name to its location.
	Locations() map[string]string
}

// WarehousePlacement is what the catalog needs of a warehouse to place
// files (see Options).
type WarehousePlacement struct {
	Location          string
	ExternalLocations bool
	NameOnly          bool
}

// directory is Options.Directory (New sets it), or else, for a Service
// built without New, the fixed maps of Options.
func (s *Service) directory() Directory {
	if s.opts.Directory != nil {
		return s.opts.Directory
	}
	return staticDirectory{s.opts.Warehouses, s.opts.ExternalLocations, s.opts.NameOnlyLocations}
}

// staticDirectory serves Options' fixed maps.
type staticDirectory struct {
	locations          map[string]string
	external, nameOnly map[string]bool
}

func (d staticDirectory) Serving(warehouse string) (WarehousePlacement, error) {
	if _, ok := d.locations[warehouse]; !ok {
		return WarehousePlacement{}, errs.New(errs.NoSuchWarehouse, "Warehouse does not exist: %s", warehouse)
	}
	return d.Placement(warehouse), nil
}

func (d staticDirectory) Placement(warehouse string) WarehousePlacement {
	return WarehousePlacement{Location: d.locations[warehouse], ExternalLocations: d.external[warehouse], NameOnly: d.nameOnly[warehouse]}
}

func (d staticDirectory) Locations() map[string]string { return maps.Clone(d.locations) }

// DropWarehouseContents drops every table and view of warehouse with
// purge (queued purge jobs delete their files) and then its namespaces,
// deepest first. It works on a deactivated warehouse (a cascading delete
// deactivates it first, so nothing new appears meanwhile) and may be
// repeated after a failure.
func (s *Service) DropWarehouseContents(ctx context.Context, warehouse string) error {
	return s.dropNamespaceTree(ctx, warehouse, nil)
}

func (s *Service) dropNamespaceTree(ctx context.Context, warehouse string, levels []string) error {
	for {
		children, err := s.st.ListNamespaces(ctx, warehouse, levels, store.Page{Limit: 100})
		if err != nil {
			return err
		}
		for _, ns := range children {
			if err := s.dropNamespaceTree(ctx, warehouse, ns.Levels); err != nil {
				return err
			}
		}
		if len(children) < 100 {
			break
		}
	}
	if len(levels) == 0 {
		return nil
	}
	for _, kind := range store.Kinds {
		for {
			ids, err := s.st.ListEntities(ctx, kind, warehouse, levels, store.Page{Limit: 100})
			if err != nil {
				return err
			}
			for _, id := range ids {
				if _, err := s.st.DropEntity(ctx, kind, id, true); err != nil && errs.KindOf(err) != notFoundKind(kind) {
					return err
				}
			}
			if len(ids) < 100 {
				break
			}
		}
	}
	if err := s.dropNamespace(ctx, warehouse, levels); err != nil && !errs.Is(err, errs.NoSuchNamespace) {
		return err
	}
	return nil
}

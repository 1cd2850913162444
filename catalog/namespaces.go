package catalog

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

// CreateNamespace creates a namespace and returns it as stored.
func (s *Service) CreateNamespace(ctx context.Context, warehouse string, ns store.Namespace) (store.Namespace, error) {
	if err := s.checkWarehouse(warehouse); err != nil {
		return store.Namespace{}, err
	}
	if err := checkLevels(ns.Levels); err != nil {
		return store.Namespace{}, err
	}
	if err := store.CheckProperties(ns.Properties); err != nil {
		return store.Namespace{}, err
	}
	ns = store.Namespace{Levels: slices.Clone(ns.Levels), Properties: maps.Clone(ns.Properties)}
	if ns.Properties == nil {
		ns.Properties = map[string]string{}
	}
	loc, key, err := s.namespaceLocation(ctx, warehouse, ns.Levels, ns.Properties)
	if err != nil {
		return store.Namespace{}, err
	}
	ns.Location, ns.Key = loc, key
	if err := s.st.CreateNamespace(ctx, warehouse, ns); err != nil {
		return store.Namespace{}, err
	}
	ns.Key = ""
	return ns, nil
}

// GetNamespace returns a namespace with its properties.
func (s *Service) GetNamespace(ctx context.Context, warehouse string, levels []string) (store.Namespace, error) {
	if err := s.checkWarehouse(warehouse); err != nil {
		return store.Namespace{}, err
	}
	if err := checkLevels(levels); err != nil {
		return store.Namespace{}, err
	}
	return s.st.GetNamespace(ctx, warehouse, levels)
}

// NamespaceExists returns nil when the namespace exists and a
// NoSuchNamespace error when it does not.
func (s *Service) NamespaceExists(ctx context.Context, warehouse string, levels []string) error {
	if err := s.checkWarehouse(warehouse); err != nil {
		return err
	}
	if err := checkLevels(levels); err != nil {
		return err
	}
	ok, err := s.st.NamespaceExists(ctx, warehouse, levels)
	if err != nil {
		return err
	}
	if !ok {
		return noSuchNamespace(levels)
	}
	return nil
}

func noSuchNamespace(levels []string) error {
	return errs.New(errs.NoSuchNamespace, "Namespace does not exist: %s", strings.Join(levels, "."))
}

// ListNamespaces returns the namespaces one level below parent (the top
// level when parent is empty), one page of them, and the token of the next
// page ("" on the last page).
func (s *Service) ListNamespaces(ctx context.Context, warehouse string, parent []string, pg Page) ([]store.Namespace, string, error) {
	if err := s.checkWarehouse(warehouse); err != nil {
		return nil, "", err
	}
	if len(parent) > 0 {
		if err := checkLevels(parent); err != nil {
			return nil, "", err
		}
	}
	p, err := storePage(pg)
	if err != nil {
		return nil, "", err
	}
	nss, err := s.st.ListNamespaces(ctx, warehouse, parent, p)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if pg.Size > 0 && len(nss) > pg.Size {
		nss = nss[:pg.Size]
		last := nss[len(nss)-1].Levels
		next = encodePageToken(last[len(last)-1])
	}
	return nss, next, nil
}

// UpdateNamespaceProperties removes and sets namespace properties. A key
// both removed and updated is Unprocessable.
func (s *Service) UpdateNamespaceProperties(ctx context.Context, warehouse string, levels []string, removals []string, updates map[string]string) (store.PropertyChange, error) {
	if err := s.checkWarehouse(warehouse); err != nil {
		return store.PropertyChange{}, err
	}
	if err := checkLevels(levels); err != nil {
		return store.PropertyChange{}, err
	}
	if err := store.CheckProperties(updates); err != nil {
		return store.PropertyChange{}, err
	}
	_, setsLocation := updates[namespaceLocationProperty]
	if setsLocation || slices.Contains(removals, namespaceLocationProperty) {
		// Tables and views were placed, and their locations claimed, inside
		// the location the namespace was created with.
		return store.PropertyChange{}, errs.New(errs.BadRequest, "The %q property of a namespace is chosen when it is created and cannot change", namespaceLocationProperty)
	}
	for _, k := range removals {
		if err := store.CheckPropertyKey(k); err != nil {
			return store.PropertyChange{}, err
		}
		if _, ok := updates[k]; ok {
			return store.PropertyChange{}, errs.New(errs.Unprocessable, "Property %q cannot be both updated and removed", k)
		}
	}
	return s.st.UpdateNamespaceProperties(ctx, warehouse, levels, removals, updates)
}

// DropNamespace drops an empty namespace.
func (s *Service) DropNamespace(ctx context.Context, warehouse string, levels []string) error {
	if err := s.checkWarehouse(warehouse); err != nil {
		return err
	}
	if err := checkLevels(levels); err != nil {
		return err
	}
	return s.dropNamespace(ctx, warehouse, levels)
}

// dropNamespace drops an empty namespace and removes its directory, without
// checking that its warehouse is served (a cascading warehouse delete drops
// the namespaces of a deactivated one).
func (s *Service) dropNamespace(ctx context.Context, warehouse string, levels []string) error {
	// Its location, for removing its directory afterwards (a location
	// never changes, so reading it first is as good as reading it with
	// the drop).
	loc, locErr := s.locationOfNamespace(ctx, warehouse, levels)
	if err := s.st.DropNamespace(ctx, warehouse, levels); err != nil {
		return err
	}
	s.nsLocations.forget(warehouse, levels)
	if locErr == nil {
		// An empty namespace leaves an empty directory (or directories of
		// dropped tables' files, which stay); best effort.
		if err := s.io.RemoveEmptyDirectories(context.WithoutCancel(ctx), loc); err != nil {
			s.log.Warn("could not remove the directory of a dropped namespace", "location", loc, "error", err)
		}
	}
	return nil
}

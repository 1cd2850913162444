package warehouse

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	icebergio "github.com/apache/iceberg-go/io"

	"github.com/bingsan/bingsan/catalog"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/vend"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// Get returns the named warehouse, active or not.
func (r *Registry) Get(name string) (Entry, bool) {
	e, ok := r.cur.Load().entries[name]
	if !ok {
		return Entry{}, false
	}
	return *e, true
}

// Names lists the warehouses, active or not, by name.
func (r *Registry) Names() []string { return r.cur.Load().names }

// Serving returns the named warehouse when requests may use it:
// NoSuchWarehouse when there is none, Forbidden when it is deactivated.
// Forbidden, not 404 or 503: the warehouse exists (creating another one of
// that name fails) and retrying does not help until an administrator
// reactivates it; Iceberg clients do not retry 403.
func (r *Registry) Serving(name string) (Entry, error) {
	e, ok := r.cur.Load().entries[name]
	if !ok {
		return Entry{}, errs.New(errs.NoSuchWarehouse, "Warehouse does not exist: %s", name)
	}
	if !e.Active {
		return Entry{}, errs.New(errs.Forbidden, "Warehouse %s is deactivated: an administrator must reactivate it", name)
	}
	return *e, nil
}

// ByNameOrLocation finds a warehouse by name or by its location (with or
// without a trailing slash), as GET /v1/config?warehouse= takes either.
func (r *Registry) ByNameOrLocation(v string) (string, bool) {
	s := r.cur.Load()
	if _, ok := s.entries[v]; ok {
		return v, true
	}
	want := strings.TrimRight(v, "/")
	for _, name := range s.names {
		if strings.TrimRight(s.entries[name].Config.Location, "/") == want {
			return name, true
		}
	}
	return "", false
}

// Vendor returns the delegated access of the named warehouse (nil: none).
func (r *Registry) Vendor(warehouse string) vend.Vendor {
	return r.cur.Load().storage.Vendor(warehouse)
}

// The registry is the catalog's FileIO: each call goes to the storage of
// the current snapshot.
var _ vend.FileIO = (*Registry)(nil)

func (r *Registry) storage() *vend.Storage { return r.cur.Load().storage }

func (r *Registry) WriteNew(ctx context.Context, location string, data []byte) error {
	return r.storage().WriteNew(ctx, location, data)
}

func (r *Registry) Read(ctx context.Context, location string) ([]byte, error) {
	return r.storage().Read(ctx, location)
}

func (r *Registry) Exists(ctx context.Context, location string) (bool, error) {
	return r.storage().Exists(ctx, location)
}

func (r *Registry) Delete(ctx context.Context, location string) error {
	return r.storage().Delete(ctx, location)
}

func (r *Registry) FS(ctx context.Context, location string) (icebergio.IO, error) {
	return r.storage().FS(ctx, location)
}

func (r *Registry) SweepTemporary(ctx context.Context, location string, before time.Time) (int, error) {
	return r.storage().SweepTemporary(ctx, location, before)
}

func (r *Registry) RemoveEmptyDirectories(ctx context.Context, location string) error {
	return r.storage().RemoveEmptyDirectories(ctx, location)
}

// Directory is the registry as the catalog sees the warehouses.
func (r *Registry) Directory() catalog.Directory { return directory{r} }

type directory struct{ r *Registry }

func placement(e *Entry) catalog.WarehousePlacement {
	return catalog.WarehousePlacement{Location: e.Config.Location, ExternalLocations: e.Config.AllowExternalLocations, NameOnly: e.Config.TableLayout == "name"}
}

func (d directory) Serving(name string) (catalog.WarehousePlacement, error) {
	e, err := d.r.Serving(name)
	if err != nil {
		return catalog.WarehousePlacement{}, err
	}
	return placement(&e), nil
}

func (d directory) Placement(name string) catalog.WarehousePlacement {
	if e, ok := d.r.cur.Load().entries[name]; ok {
		return placement(e)
	}
	return catalog.WarehousePlacement{}
}

func (d directory) Locations() map[string]string {
	s := d.r.cur.Load()
	out := make(map[string]string, len(s.entries))
	for name, e := range s.entries {
		out[name] = e.Config.Location
	}
	return out
}

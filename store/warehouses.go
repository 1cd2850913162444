package store

import (
	"context"
	"time"
)

// Warehouse is a stored warehouse: where it keeps its files and how the
// catalog reaches them. Settings and Secrets are opaque to the store (the
// warehouse registry's JSON, and the same for the secrets sealed with the
// key-encryption secret), as metadata documents are.
type Warehouse struct {
	Name     string
	Location string
	// Key is the claim key of Location (vend.LocationKey): a warehouse's
	// key may neither contain nor lie inside another warehouse's.
	Key      string
	Settings []byte
	Secrets  []byte // nil: none
	Active   bool
	Source   WarehouseSource
	// CreatedAt and UpdatedAt are set by the store.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// WarehouseSource says who manages a warehouse.
type WarehouseSource string

const (
	// WarehouseFromAPI: created through the management API.
	WarehouseFromAPI WarehouseSource = "api"
	// WarehouseFromConfig: named in the configuration file, which wins:
	// every start writes the file's version over the stored one.
	WarehouseFromConfig WarehouseSource = "configuration"
)

// Warehouse events; Event.Warehouse names the warehouse (for a rename, the
// old name; RenamedTo.Name holds the new one).
const (
	EventWarehouseCreated     EventType = "warehouse.created"
	EventWarehouseUpdated     EventType = "warehouse.updated"
	EventWarehouseRenamed     EventType = "warehouse.renamed"
	EventWarehouseDeactivated EventType = "warehouse.deactivated"
	EventWarehouseReactivated EventType = "warehouse.reactivated"
	EventWarehouseDeleted     EventType = "warehouse.deleted"
)

// Warehouses is implemented by every backend next to Store.
//
// Every mutation writes its event in its own transaction (so PostgreSQL
// nodes are woken through EventWakeups) and increments the warehouse
// revision, which tells a node that its copy is stale. Mutations are
// serialized, so the location check cannot race.
//
// Errors are errs kinds: NoSuchWarehouse, AlreadyExists (the name, or a
// location overlapping another warehouse's: ErrLocationOwned is then the
// cause), WarehouseNotEmpty, and those of Store.
type Warehouses interface {
	// ListWarehouses returns every warehouse, by name.
	ListWarehouses(ctx context.Context) ([]Warehouse, error)
	// WarehouseRevision grows with every warehouse mutation on any node.
	WarehouseRevision(ctx context.Context) (int64, error)
	// CreateWarehouse stores w with the event of type event.
	CreateWarehouse(ctx context.Context, w Warehouse, event EventType) error
	// UpdateWarehouse replaces the stored warehouse named w.Name with w
	// (location included: the configuration file may move one) and writes
	// the event of type event.
	UpdateWarehouse(ctx context.Context, w Warehouse, event EventType) error
	// RenameWarehouse renames the warehouse and everything stored under its
	// name: namespaces, tables, views and grants (events keep the name
	// they were written with); the grants' move bumps the auth version.
	RenameWarehouse(ctx context.Context, from, to string) error
	// DeleteWarehouse deletes the warehouse and the grants on it (bumping
	// the auth version): a warehouse created later under the name must not
	// inherit them. WarehouseNotEmpty while it holds a namespace.
	DeleteWarehouse(ctx context.Context, name string) error
	// PurgeJobsUnder counts the purge jobs of entities whose location
	// starts with prefix (a cascading delete waits for them).
	PurgeJobsUnder(ctx context.Context, prefix string) (int64, error)
}

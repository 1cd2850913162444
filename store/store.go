// Package store is the catalog's persistence boundary. Backends (PostgreSQL in
// store/postgres, embedded SQLite in store/sqlite) implement Store; the shared
// suite in store/storetest is what makes them interchangeable.
//
// Everything here is about rows, not Iceberg semantics: metadata documents are
// opaque bytes, compared and swapped by version. Transactions, lock timeouts
// and the translation of driver errors into errs kinds live in the backends.
package store

import (
	"context"
	"strings"
	"time"
)

// NamespaceSeparator joins namespace levels into one key, as the REST spec
// does in paths (%1F). A level may therefore contain dots.
const NamespaceSeparator = "\x1f"

// Kind says whether an entity is a table or a view. Tables and views share one
// name space per namespace, so both live in one relation with a unique key.
type Kind string

const (
	KindTable Kind = "table"
	KindView  Kind = "view"
)

// Ident names a table or view.
type Ident struct {
	Warehouse string
	Namespace []string
	Name      string
}

// NamespaceKey is the joined form of the namespace levels.
func (i Ident) NamespaceKey() string { return strings.Join(i.Namespace, NamespaceSeparator) }

// String renders the identifier the way Iceberg clients print it (ns.tbl).
func (i Ident) String() string {
	return strings.Join(append(append([]string{}, i.Namespace...), i.Name), ".")
}

// Namespace is a stored namespace.
type Namespace struct {
	Levels     []string
	Properties map[string]string
}

// Entity is a stored table or view: the pointer to its current metadata file
// and the bytes of that file, so loads need no object-store round trip.
type Entity struct {
	Ident            Ident
	Kind             Kind
	MetadataLocation string
	Metadata         []byte
	// Version increases by one on every commit; commits compare it to detect
	// that another writer won.
	Version int64
	// EventType is, for CreateEntity only, the type of the event written
	// with the entity; zero: table.created or view.created by Kind.
	EventType EventType
}

// Page is a keyset page request: names strictly after After, at most Limit
// (Limit <= 0 means no limit). For ListEntities After is an entity name; for
// ListNamespaces it is the last level of the last namespace of the previous
// page (the name within the parent).
type Page struct {
	After string
	Limit int
}

// PropertyChange is the outcome of UpdateNamespaceProperties.
type PropertyChange struct {
	Updated []string
	Removed []string
	Missing []string
}

// Commit is one entity's part of an atomic commit. With Create set the entity
// must not exist yet (stage-create + assert-create); otherwise its version
// must still equal BaseVersion.
type Commit struct {
	Ident            Ident
	Kind             Kind
	Create           bool
	BaseVersion      int64
	MetadataLocation string
	Metadata         []byte
	// EventType is the type of the event the commit writes; zero:
	// table.created / view.created with Create, table.committed /
	// view.replaced otherwise.
	EventType EventType
	// SnapshotsAdded lists the snapshots the new metadata adds, for the
	// event (the store never reads the metadata).
	SnapshotsAdded []int64
}

// IdempotencyRecord is the stored outcome of a mutation sent with an
// Idempotency-Key header.
type IdempotencyRecord struct {
	Key         string
	Operation   string
	RequestHash string
	Status      int
	Body        []byte
	Done        bool
	ExpiresAt   time.Time
}

// PurgeJob asks for every file of a dropped table or view to be deleted.
type PurgeJob struct {
	ID               int64
	Location         string // the entity's base location
	MetadataLocation string
	Metadata         []byte // last metadata, to find manifests and data files
	Attempts         int
}

// Store is implemented by every backend. Errors are errs kinds:
// NoSuchNamespace, NoSuchTable / NoSuchView (by kind), AlreadyExists,
// NamespaceNotEmpty, CommitFailed (a version moved, a created entity
// appeared, or Commit's lock-timeout retries ran out), CommitStateUnknown
// (the connection failed while Commit was committing), ServiceUnavailable
// (database unreachable, or another write's lock-timeout retries ran out),
// BadRequest (malformed identifiers), Internal otherwise.
type Store interface {
	Ping(ctx context.Context) error
	Close() error

	CreateNamespace(ctx context.Context, warehouse string, ns Namespace) error
	GetNamespace(ctx context.Context, warehouse string, levels []string) (Namespace, error)
	NamespaceExists(ctx context.Context, warehouse string, levels []string) (bool, error)
	// ListNamespaces returns the namespaces one level below parent (top level
	// when parent is empty), ordered by joined name.
	ListNamespaces(ctx context.Context, warehouse string, parent []string, page Page) ([]Namespace, error)
	UpdateNamespaceProperties(ctx context.Context, warehouse string, levels []string, removals []string, updates map[string]string) (PropertyChange, error)
	// DropNamespace fails with NamespaceNotEmpty while the namespace holds
	// tables, views or child namespaces.
	DropNamespace(ctx context.Context, warehouse string, levels []string) error

	CreateEntity(ctx context.Context, e Entity) error
	GetEntity(ctx context.Context, kind Kind, id Ident) (Entity, error)
	EntityExists(ctx context.Context, kind Kind, id Ident) (bool, error)
	// ListEntities returns identifiers of one kind in a namespace ordered by name.
	ListEntities(ctx context.Context, kind Kind, warehouse string, namespace []string, page Page) ([]Ident, error)
	RenameEntity(ctx context.Context, kind Kind, from, to Ident) error
	// DropEntity removes the entity and returns it as it was. With purge set,
	// a purge job for the entity's files is queued in the same transaction.
	DropEntity(ctx context.Context, kind Kind, id Ident, purge bool) (Entity, error)
	// Commit applies all commits or none. Rows are locked in a deterministic
	// order so concurrent multi-entity commits cannot deadlock.
	Commit(ctx context.Context, commits []Commit) error

	// BeginIdempotent records key as in flight. It returns the existing record
	// and false when the key is already known (done or in flight).
	BeginIdempotent(ctx context.Context, rec IdempotencyRecord) (IdempotencyRecord, bool, error)
	FinishIdempotent(ctx context.Context, rec IdempotencyRecord) error
	AbandonIdempotent(ctx context.Context, key string) error
	PruneIdempotent(ctx context.Context, before time.Time) (int64, error)

	// ClaimPurgeJobs leases up to n due jobs until leaseUntil so that only
	// one node works on a job at a time.
	ClaimPurgeJobs(ctx context.Context, n int, now, leaseUntil time.Time) ([]PurgeJob, error)
	CompletePurgeJob(ctx context.Context, id int64) error
	// RetryPurgeJob records a failed attempt and makes the job due again at retryAt.
	RetryPurgeJob(ctx context.Context, id int64, retryAt time.Time, lastError string) error

	// Every mutation above (namespace create, property update and drop;
	// entity create, rename, drop and Commit) writes its events in its own
	// transaction: an acknowledged mutation always has them, a rolled-back
	// one never does. Event ids grow by one per event in commit order
	// across all nodes, so a reader that has seen id N has seen every event
	// up to N (see Event).

	// ListEvents returns up to limit events with ids above after, oldest
	// first.
	ListEvents(ctx context.Context, after int64, limit int) ([]Event, error)
	// LastEventID is the id of the newest event ever written, 0 when none;
	// pruning never lowers it.
	LastEventID(ctx context.Context) (int64, error)
	// PruneEvents deletes the events written before before, oldest first,
	// so that the events kept are always every event after some id. One
	// node prunes at a time: while another one is at it, PruneEvents
	// returns 0 at once.
	PruneEvents(ctx context.Context, before time.Time) (int64, error)
	// EventWakeups returns a channel that receives a value (coalesced, never
	// blocking writers) after transactions that wrote events commit: on
	// any node for PostgreSQL (LISTEN/NOTIFY), in this process for SQLite.
	// A wake-up can be lost (a reconnect), so readers also poll now and
	// then; after a reconnect the channel receives one. The channel is
	// closed when ctx ends.
	EventWakeups(ctx context.Context) <-chan struct{}
}

// EventType names a kind of change: "<namespace|table|view>.<what>". The
// events package makes it the CloudEvents type "io.bingsan.<EventType>".
type EventType string

const (
	EventNamespaceCreated EventType = "namespace.created"
	EventNamespaceUpdated EventType = "namespace.updated"
	EventNamespaceDropped EventType = "namespace.dropped"
	EventTableCreated     EventType = "table.created"
	EventTableCommitted   EventType = "table.committed"
	EventTableRenamed     EventType = "table.renamed"
	EventTableDropped     EventType = "table.dropped"
	EventTableRegistered  EventType = "table.registered"
	EventViewCreated      EventType = "view.created"
	EventViewReplaced     EventType = "view.replaced"
	EventViewRenamed      EventType = "view.renamed"
	EventViewDropped      EventType = "view.dropped"
	EventViewRegistered   EventType = "view.registered"
)

// EventTypes lists every event type.
var EventTypes = []EventType{
	EventNamespaceCreated, EventNamespaceUpdated, EventNamespaceDropped,
	EventTableCreated, EventTableCommitted, EventTableRenamed, EventTableDropped, EventTableRegistered,
	EventViewCreated, EventViewReplaced, EventViewRenamed, EventViewDropped, EventViewRegistered,
}

// Object is what the event is about: "namespace", "table" or "view".
func (t EventType) Object() string {
	o, _, _ := strings.Cut(string(t), ".")
	return o
}

// Event is one row of the event outbox.
type Event struct {
	ID        int64
	Type      EventType
	Time      time.Time
	Warehouse string
	Namespace []string // the namespace, or the one holding the table or view
	Name      string   // the table or view; "" for namespace events
	EventDetails
}

// EventDetails is what an event says beyond its identity. Backends store it
// as one JSON document; the field names are that document's.
type EventDetails struct {
	// PreviousMetadataLocation is the metadata a commit replaced, or that
	// of the dropped table or view.
	PreviousMetadataLocation string `json:"previous-metadata-location,omitempty"`
	// MetadataLocation is the metadata after the change.
	MetadataLocation string  `json:"metadata-location,omitempty"`
	SnapshotsAdded   []int64 `json:"snapshots-added,omitempty"`
	// RenamedTo is the new identifier of a renamed table or view.
	RenamedTo *RenamedTo `json:"renamed-to,omitempty"`
	// PropertiesUpdated and PropertiesRemoved are the keys a namespace
	// property update set and removed.
	PropertiesUpdated []string `json:"properties-updated,omitempty"`
	PropertiesRemoved []string `json:"properties-removed,omitempty"`
	PurgeRequested    bool     `json:"purge-requested,omitempty"`
	// Principal is the caller that made the change (principal.From), ""
	// without authentication.
	Principal string `json:"principal,omitempty"`
}

// RenamedTo is the identifier after a rename (the warehouse never changes).
type RenamedTo struct {
	Namespace []string `json:"namespace"`
	Name      string   `json:"name"`
}

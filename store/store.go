// Package store is the catalog's persistence boundary: the types and the
// interfaces (Store, AuthStore, PlanStore) that the catalog, server, events
// and auth packages use. It is implemented once, in store/core, over a thin
// driver per database (store/driver: store/postgres, store/sqlite). The
// operation suite in store/storetest and the driver suite in
// store/drivertest are what make the databases interchangeable.
//
// Everything here is about rows, not Iceberg semantics: metadata documents are
// opaque bytes, compared and swapped by version. Transactions, retries and
// the wording of errors live in the core; the translation of driver errors
// into errs kinds and driver-neutral classes in each driver.
package store

import (
	"context"
	"errors"
	"strings"
	"time"
)

// NamespaceSeparator joins namespace levels into one key, as the REST spec
// does in paths (%1F). A level may therefore contain dots.
const NamespaceSeparator = "\x1f"

// Kind says whether an entity is a table, a view or a function (an SQL
// UDF). The three share one name space per namespace, so all live in one
// relation with a unique key: one identifier names one catalog object, for
// grants, events and the audit log as for the spec's
// CatalogObjectIdentifier.
type Kind string

const (
	KindTable    Kind = "table"
	KindView     Kind = "view"
	KindFunction Kind = "function"
)

// Kinds lists every entity kind.
var Kinds = []Kind{KindTable, KindView, KindFunction}

// Ident names a table, view or function.
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
	// Location is where the namespace's tables and views live by default
	// and, unless the warehouse allows external locations, must live: set
	// by the catalog at creation, claimed (Key) like a table's location. ""
	// for a namespace created before locations were recorded and not yet
	// backfilled.
	Location string
	Key      string // the claim key of Location (vend.LocationKey); write only
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
	// UUID is the table-uuid or view-uuid of the metadata, unique in the
	// catalog ("" for entities created before it was recorded).
	UUID string
	// EventType is, for CreateEntity only, the type of the event written
	// with the entity; zero: table.created or view.created by Kind.
	EventType EventType
	// Claims, for CreateEntity only, are the claim keys of the entity's
	// storage locations (see Store); Register marks a register, which may
	// not claim the files of a table being purged.
	Claims   []string
	Register bool
	// NamespaceKey, for CreateEntity only, is the location key (Namespace.Key)
	// of the namespace as the catalog found it, perhaps some time ago: when
	// set, the create fails with ErrNamespaceMoved (CommitFailed) unless
	// every claim lies inside it and the namespace still claims it, so
	// that a stale read never places an entity outside its namespace.
	NamespaceKey string
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
// must still equal BaseVersion and, when BaseLocation is set, its metadata
// location BaseLocation.
type Commit struct {
	Ident       Ident
	Kind        Kind
	Create      bool
	BaseVersion int64
	// BaseLocation is the metadata location the commit was built on. A
	// version alone does not say which metadata it is: an entity dropped
	// and created again under its name counts its versions from 1 again.
	// The location does, as every metadata file has a name of its own.
	BaseLocation     string
	MetadataLocation string
	Metadata         []byte
	// UUID is the new entity's UUID, with Create.
	UUID string
	// Claims, when not nil (always with Create), replace the entity's
	// claim keys: its storage locations moved. Register as for Entity.
	Claims   []string
	Register bool
	// EventType is the type of the event the commit writes; zero:
	// <kind>.created with Create, table.committed / view.replaced /
	// function.replaced otherwise.
	EventType EventType
	// SnapshotsAdded lists the snapshots the new metadata adds, for the
	// event (the store never reads the metadata).
	SnapshotsAdded []int64
	// Idempotency are the keys of the requests this commit answers besides
	// the one its context carries (the members of a group commit).
	Idempotency []IdempotencyMark
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
	// Committed is set by the mutation itself, in its own transaction,
	// with Outcome: the answer can be rebuilt even if the process died
	// before recording it (Done).
	Committed bool
	Outcome   IdempotentOutcome
}

// IdempotentOutcome is what a committed mutation did, as far as its answer
// depends on it.
type IdempotentOutcome struct {
	// MetadataLocation is the metadata file a create, commit or register
	// of a table or view left current.
	MetadataLocation string `json:"metadata-location,omitempty"`
	// PropertyChange is what a namespace property update did.
	PropertyChange *PropertyChange `json:"property-change,omitempty"`
}

// IdempotencyMark names the Idempotency-Key of the request a mutation runs
// for. Every mutation finds it in its context (WithIdempotency) and marks
// the key committed, with its outcome, in its own transaction; Commit also
// marks the keys of its commits (Commit.Idempotency).
type IdempotencyMark struct {
	Key string
	// ExpiresAt is when the record may be forgotten.
	ExpiresAt time.Time
}

type idempotencyKey struct{}

// WithIdempotency returns ctx carrying m; a zero m hides a mark ctx
// carried (a group commit runs on one member's context).
func WithIdempotency(ctx context.Context, m IdempotencyMark) context.Context {
	return context.WithValue(ctx, idempotencyKey{}, m)
}

// SetIdempotency is WithIdempotency on a request whose handler context
// reads its values (a fasthttp request).
func SetIdempotency(ctx interface{ SetUserValue(key, value any) }, m IdempotencyMark) {
	ctx.SetUserValue(idempotencyKey{}, m)
}

// IdempotencyFrom returns the mark ctx carries, if any.
func IdempotencyFrom(ctx context.Context) (IdempotencyMark, bool) {
	m, ok := ctx.Value(idempotencyKey{}).(IdempotencyMark)
	return m, ok && m.Key != ""
}

// PurgeJob asks for every file of a dropped table or view to be deleted.
type PurgeJob struct {
	ID               int64
	Location         string // the entity's base location
	MetadataLocation string
	Metadata         []byte // last metadata, to find manifests and data files
	Attempts         int
	// Claims are the claim keys the entity owned, held by the job until it
	// ends: the purge deletes files only below them (none for jobs queued
	// before claims were recorded).
	Claims []string
	// CreatedAt is when the entity was dropped.
	CreatedAt time.Time
}

// LocationOwner is a namespace or an entity whose location claims a
// backfill sets (see BackfillLocations).
type LocationOwner struct {
	Warehouse  string
	Namespace  []string // the namespace, or the one holding the entity
	Name       string   // "" for a namespace
	Kind       Kind     // "" for a namespace
	Properties map[string]string
	// ParentLocation is the location of the parent namespace ("" at the top
	// level), for namespaces; Metadata is the current metadata of an entity.
	ParentLocation string
	Metadata       []byte
}

// Placement is what a backfill decides for an owner: its location (for a
// namespace), UUID (for an entity) and claim keys.
type Placement struct {
	Location string
	UUID     string
	Keys     []string
}

// ErrNamespaceMoved is the cause of the CommitFailed error of a create
// whose namespace no longer has the location the entity was placed in
// (Entity.NamespaceKey): it was dropped and created again elsewhere.
var ErrNamespaceMoved = errors.New("the namespace is no longer at the location the entity was placed in")

// ErrLocationOwned is the cause of the AlreadyExists error of a claim that
// overlaps another owner's location.
var ErrLocationOwned = errors.New("storage location owned by another namespace, table, view or function")

// Store is implemented by store/core over every driver.
//
// Storage locations: every namespace, table and view claims the keys of its
// locations (Namespace.Key, Entity.Claims, Commit.Claims) in the transaction
// that creates or moves it. A claim fails with AlreadyExists when a key
// equals, lies inside or contains a key of another owner, except that the
// keys of the namespaces holding an owner may contain its keys. Dropping an
// owner releases its claims; dropping with purge hands them to the purge
// job until it ends (refusing registers of the files meanwhile).
//
// Errors are errs kinds:
// NoSuchNamespace, NoSuchTable / NoSuchView / NoSuchFunction (by kind), AlreadyExists,
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
	// tables, views, functions or child namespaces.
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
	// UnregisterEntity removes the entity from the catalog like a drop
	// without purge (its claims are released, its files stay) and returns
	// it as it was when removed: a Commit racing with it either committed
	// before (and is in the returned metadata) or fails. The event is
	// "<kind>.unregistered"; the idempotency outcome is the metadata
	// location returned.
	UnregisterEntity(ctx context.Context, kind Kind, id Ident) (Entity, error)
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
	// CountPurgeJobs is the number of purge jobs not yet completed or
	// abandoned, due or waiting for a retry (the purge queue's depth).
	CountPurgeJobs(ctx context.Context) (int64, error)
	// SharedClaims returns the claim keys of live tables and views created
	// before before that overlap any of keys: files below them are not the
	// purge's to delete (a twin registered before the fix of issue 13).
	SharedClaims(ctx context.Context, keys []string, before time.Time) ([]string, error)

	// BackfillLocations gives the namespaces and entities stored before
	// locations were recorded their location, UUID and claims, as place
	// decides (parents before children); it is a no-op once none is left.
	// An owner whose claims overlap another's is claimed all the same (it
	// exists already) and reported to conflict.
	BackfillLocations(ctx context.Context, place func(LocationOwner) (Placement, error), conflict func(LocationOwner, error)) error

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

// EventType names a kind of change: "<namespace|table|view|function>.<what>". The
// events package makes it the CloudEvents type "io.bingsan.<EventType>".
type EventType string

const (
	EventNamespaceCreated   EventType = "namespace.created"
	EventNamespaceUpdated   EventType = "namespace.updated"
	EventNamespaceDropped   EventType = "namespace.dropped"
	EventTableCreated       EventType = "table.created"
	EventTableCommitted     EventType = "table.committed"
	EventTableRenamed       EventType = "table.renamed"
	EventTableDropped       EventType = "table.dropped"
	EventTableRegistered    EventType = "table.registered"
	EventTableUnregistered  EventType = "table.unregistered"
	EventViewCreated        EventType = "view.created"
	EventViewReplaced       EventType = "view.replaced"
	EventViewRenamed        EventType = "view.renamed"
	EventViewDropped        EventType = "view.dropped"
	EventViewRegistered     EventType = "view.registered"
	EventFunctionCreated    EventType = "function.created"
	EventFunctionReplaced   EventType = "function.replaced"
	EventFunctionRenamed    EventType = "function.renamed"
	EventFunctionDropped    EventType = "function.dropped"
	EventFunctionRegistered EventType = "function.registered"
)

// EventTypes lists every event type.
var EventTypes = []EventType{
	EventNamespaceCreated, EventNamespaceUpdated, EventNamespaceDropped,
	EventTableCreated, EventTableCommitted, EventTableRenamed, EventTableDropped, EventTableRegistered, EventTableUnregistered,
	EventViewCreated, EventViewReplaced, EventViewRenamed, EventViewDropped, EventViewRegistered,
	EventFunctionCreated, EventFunctionReplaced, EventFunctionRenamed, EventFunctionDropped, EventFunctionRegistered,
	EventWarehouseCreated, EventWarehouseUpdated, EventWarehouseRenamed,
	EventWarehouseDeactivated, EventWarehouseReactivated, EventWarehouseDeleted,
}

// Object is what the event is about: "namespace", "table", "view",
// "function" or "warehouse".
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

// Package driver is the contract between the store core (store/core) and a
// database: one Executor method per sqlc query, with the catalog's own
// types (package store) or the small row types below as parameters and
// results, so that the core never sees a driver's types. The PostgreSQL
// (store/postgres) and SQLite (store/sqlite) drivers implement it; the
// suite in store/drivertest states what both guarantee.
//
// Every error an Executor or Tx returns has been classified by the
// driver's one error-interpretation function: the sentinel errors below,
// an errs kind (BadRequest for values the database refuses,
// ServiceUnavailable, InsufficientStorage, Internal), or a context error.
package driver

import (
	"context"
	"errors"
	"time"

	"github.com/bingsan/bingsan/store"
)

// Driver-neutral classes of database errors.
var (
	// ErrNoRows: a query that returns one row found none.
	ErrNoRows = errors.New("no rows")
	// ErrUnique: a unique constraint other than the entity UUID's.
	ErrUnique = errors.New("unique violation")
	// ErrUUIDTaken: the unique constraint on the entity UUID.
	ErrUUIDTaken = errors.New("entity uuid already in use")
	// ErrForeignKey: a foreign key constraint.
	ErrForeignKey = errors.New("foreign key violation")
	// ErrBusy marks failures that abort a transaction without effect and are
	// worth retrying: lock timeouts, serialization failures, deadlocks,
	// SQLITE_BUSY.
	ErrBusy = errors.New("database busy")
	// ErrOutcomeUnknown marks a failure while committing: the transaction may
	// or may not have been applied.
	ErrOutcomeUnknown = errors.New("commit outcome unknown")
)

// Driver is a database.
type Driver interface {
	// Reader runs reads outside a transaction.
	Reader() Executor
	// Writer runs single-statement writes outside a transaction, each its
	// own transaction.
	Writer() Executor
	// Begin starts a write transaction. Rows a Lock* method returns stay
	// locked against other writers until it ends.
	Begin(ctx context.Context) (Tx, error)
	// BeginRead starts a read-only transaction that sees one snapshot.
	BeginRead(ctx context.Context) (Tx, error)
	Ping(ctx context.Context) error
	Close() error
}

// Tx is a transaction. Commit fails with ErrOutcomeUnknown (wrapped) when
// the transaction may have been applied; Rollback after Commit is a no-op.
//
// In a Tx, a driver may hold back the statements named in Deferrable and
// send them, in order, with the transaction's next statement or its
// Commit: their errors then surface there (a Commit failing that way
// failed definitely, it is not ErrOutcomeUnknown).
type Tx interface {
	Executor
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
}

// Deferrable are the queries whose errors the core never looks at before
// it runs the transaction's next statement or commits: it passes them on
// unexamined, so they may surface later without changing any outcome. A
// query joins this list only with a core that keeps that promise.
var Deferrable = map[string]bool{
	"LockClaimKeys":            true, // the lock is taken before the next statement runs
	"InsertClaimedEntity":      true, // CreateEntity reads its errors once the transaction has ended
	"DeleteClaims":             true,
	"InsertClaims":             true,
	"InsertEvents":             true,
	"MarkIdempotencyCommitted": true,
	"AdvisoryXactLock":         true,
}

// Executor has one method per query. Times are time.Time; the zero time is
// NULL where a column is nullable, and "" is NULL for nullable text.
type Executor interface {
	WarehouseExecutor
	NamespaceExecutor
	EntityExecutor
	EventExecutor
	AuthExecutor
	IdempotencyExecutor
	PurgeExecutor
	PlanExecutor
	ClaimExecutor
}

// AuthExecutor runs the queries of sql/queries/*/auth.sql.
type AuthExecutor interface {
	AuthVersion(ctx context.Context) (int64, error)
	BumpAuthVersion(ctx context.Context) error

	InsertPrincipal(ctx context.Context, p store.AuthPrincipal) error
	GetPrincipal(ctx context.Context, name string) (store.AuthPrincipal, error)
	GetPrincipalByClientID(ctx context.Context, clientID string) (store.AuthPrincipal, error)
	ListPrincipals(ctx context.Context) ([]store.AuthPrincipal, error)
	ListPrincipalRoles(ctx context.Context) ([]PrincipalRole, error)
	RolesOfPrincipal(ctx context.Context, principal string) ([]string, error)
	SetPrincipalDisabled(ctx context.Context, name string, disabled bool) (int64, error)
	SetPrincipalCredentials(ctx context.Context, name, clientID, secretHash string) (int64, error)
	DeletePrincipal(ctx context.Context, name string) (int64, error)

	InsertRole(ctx context.Context, r store.AuthRole) error
	GetRole(ctx context.Context, name string) (store.AuthRole, error)
	ListRoles(ctx context.Context) ([]store.AuthRole, error)
	DeleteRole(ctx context.Context, name string) (int64, error)
	AssignRole(ctx context.Context, principal, role string) error
	UnassignRole(ctx context.Context, principal, role string) (int64, error)

	// InsertGrant returns ErrNoRows when the grant exists already.
	InsertGrant(ctx context.Context, g GrantRow) (GrantRow, error)
	FindGrant(ctx context.Context, g GrantRow) (GrantRow, error)
	DeleteGrant(ctx context.Context, id int64) (GrantRow, error)
	ListGrants(ctx context.Context) ([]GrantRow, error)

	InsertAPIKey(ctx context.Context, k store.APIKey) error
	GetAPIKey(ctx context.Context, prefix string) (store.APIKey, error)
	ListAPIKeys(ctx context.Context) ([]store.APIKey, error)
	ListAPIKeysOfPrincipal(ctx context.Context, principal string) ([]store.APIKey, error)
	SetAPIKeyExpiry(ctx context.Context, prefix string, expiresAt time.Time) error
	DeleteAPIKey(ctx context.Context, prefix string) (int64, error)

	InsertSigningKey(ctx context.Context, k store.SigningKey) error
	ListSigningKeys(ctx context.Context) ([]store.SigningKey, error)
	// RetireSigningKeys retires the signing keys other than kid created no
	// later than retiredAt.
	RetireSigningKeys(ctx context.Context, kid string, retiredAt, expiresAt time.Time) error
	ExpireOtherSigningKeys(ctx context.Context, kid string, at time.Time) error
	DeleteExpiredSigningKeys(ctx context.Context, before time.Time) (int64, error)

	InsertAudit(ctx context.Context, e store.AuditEntry) (int64, error)
	ListAudit(ctx context.Context, q store.AuditQuery, limit int32) ([]store.AuditEntry, error)
	PruneAudit(ctx context.Context, before time.Time) (int64, error)
}

// PrincipalRole is one role assignment.
type PrincipalRole struct{ Principal, Role string }

// GrantRow is a grant as the grants table keeps it: the securable's
// namespace levels joined into one key.
type GrantRow struct {
	ID                                  int64
	Role                                string
	SecurableType, Warehouse, Namespace string
	Name, Privilege                     string
	CreatedAt                           time.Time
}

// IdempotencyExecutor runs the queries of idempotency.sql.
type IdempotencyExecutor interface {
	// BeginIdempotencyKey inserts rec, or takes over an expired record;
	// ErrNoRows when a live record holds the key.
	BeginIdempotencyKey(ctx context.Context, rec store.IdempotencyRecord, now time.Time) error
	GetIdempotencyKey(ctx context.Context, key string) (IdempotencyRow, error)
	FinishIdempotencyKey(ctx context.Context, key string, status int, body []byte, expiresAt time.Time) (int64, error)
	AbandonIdempotencyKey(ctx context.Context, key string) error
	PruneIdempotencyKeys(ctx context.Context, before time.Time) (int64, error)
	MarkIdempotencyCommitted(ctx context.Context, keys []string, outcome []byte, expiresAt time.Time) error
}

// IdempotencyRow is a stored idempotency record with its outcome still
// encoded.
type IdempotencyRow struct {
	store.IdempotencyRecord
	Outcome []byte
}

// PurgeExecutor runs the queries of purge.sql.
type PurgeExecutor interface {
	InsertPurgeJob(ctx context.Context, j store.PurgeJob, now time.Time) (int64, error) // due at once
	ClaimPurgeJobs(ctx context.Context, now, leaseUntil time.Time, limit int32) ([]store.PurgeJob, error)
	CompletePurgeJob(ctx context.Context, id int64) (int64, error)
	CountPurgeJobs(ctx context.Context) (int64, error)
	RetryPurgeJob(ctx context.Context, id int64, retryAt time.Time, lastError string) (int64, error)
}

// PlanExecutor runs the queries of plans.sql.
type PlanExecutor interface {
	InsertScanPlan(ctx context.Context, p store.Plan) error
	GetScanPlan(ctx context.Context, id string) (store.Plan, error)
	DeleteScanPlan(ctx context.Context, id string) error
	InsertScanPlanChunk(ctx context.Context, planID, owner string, seq, tasks int, payload []byte) (int64, error)
	GetScanPlanChunk(ctx context.Context, planID string, seq int) ([]byte, error)
	DeleteScanPlanChunks(ctx context.Context, planID string) error
	RenewScanPlanLease(ctx context.Context, planID, owner string, until time.Time) (int64, error)
	FinishScanPlan(ctx context.Context, planID, owner string, out store.PlanOutcome) (int64, error)
	CancelScanPlan(ctx context.Context, planID string) (int64, error)
	ReleaseScanPlans(ctx context.Context, owner string) (int64, error)
	ClaimScanPlans(ctx context.Context, owner string, now, leaseUntil time.Time, limit int32) ([]store.Plan, error)
	DeleteExpiredScanPlans(ctx context.Context, now time.Time) (int64, error)
}

// ClaimExecutor runs the queries of claims.sql.
type ClaimExecutor interface {
	// LockClaimKeys takes transaction-scoped locks on the hashes, in the
	// order given: exclusive where exclusive[i], shared otherwise. A
	// driver whose write transactions exclude each other anyway (SQLite)
	// does nothing.
	LockClaimKeys(ctx context.Context, hashes []int64, exclusive []bool) error
	// OverlappingClaims returns the claims whose key is one of ancestors,
	// or lies in [key, keyEnd).
	OverlappingClaims(ctx context.Context, key string, ancestors []string, keyEnd string) ([]ClaimRow, error)
	InsertClaims(ctx context.Context, ownerKind string, ownerID int64, keys []string) error
	DeleteClaims(ctx context.Context, ownerKind string, ownerID int64) error
	MoveClaims(ctx context.Context, ownerKind string, ownerID int64, toKind string, toID int64) error
	OwnedClaims(ctx context.Context, ownerKind string, ownerID int64) ([]string, error)
	// SharedClaims returns the keys of live entities created before before
	// that are one of ancestors or lie in [key, keyEnd).
	SharedClaims(ctx context.Context, key string, ancestors []string, keyEnd string, before time.Time) ([]string, error)
}

// ClaimRow is a stored claim found overlapping a new one. For namespace
// claims NsWarehouse and NsName (levels joined by 0x1F) name the owner.
type ClaimRow struct {
	Key         string
	OwnerKind   string
	OwnerID     int64
	NsWarehouse string
	NsName      string
}

// NamespaceExecutor runs the queries of namespaces.sql. Namespace names
// are the levels joined by store.NamespaceSeparator.
type NamespaceExecutor interface {
	InsertNamespace(ctx context.Context, n NamespaceRow, now time.Time) (int64, error)
	GetNamespace(ctx context.Context, warehouse, name string) (NamespaceRow, error)
	NamespaceExists(ctx context.Context, warehouse, name string) (bool, error)
	// ListNamespaces lists the children of parent named above after.
	ListNamespaces(ctx context.Context, warehouse, parent, after string, limit int32) ([]NamespaceRow, error)
	// ShareNamespace keeps the namespace from being dropped until the
	// transaction ends; ErrNoRows when it does not exist.
	ShareNamespace(ctx context.Context, warehouse, name string) error
	// LockNamespace locks the namespace against every other writer until
	// the transaction ends, waiting for ShareNamespace holders.
	LockNamespace(ctx context.Context, warehouse, name string) (NamespaceRow, error)
	// LockNamespaceProperties locks the namespace against other property
	// updates (not against ShareNamespace) until the transaction ends.
	LockNamespaceProperties(ctx context.Context, warehouse, name string) (NamespaceRow, error)
	NamespaceContents(ctx context.Context, warehouse, name string) (NamespaceContents, error)
	UpdateNamespaceProperties(ctx context.Context, warehouse, name string, properties []byte, now time.Time) error
	DeleteNamespace(ctx context.Context, warehouse, name string) (int64, error)
	// NamespacesWithoutLocation returns namespaces stored before locations
	// were recorded, parents first, with ParentLocation set.
	NamespacesWithoutLocation(ctx context.Context, limit int32) ([]NamespaceRow, error)
	SetNamespaceLocation(ctx context.Context, id int64, location string) error
}

// NamespaceRow is a stored namespace.
type NamespaceRow struct {
	ID         int64
	Warehouse  string
	Name       string
	Parent     string
	Properties []byte // JSON object
	Location   string
	// ParentLocation is the location of the parent (NamespacesWithoutLocation).
	ParentLocation string
}

// NamespaceContents says what keeps a namespace from being dropped.
type NamespaceContents struct{ HasChildren, HasTables, HasViews, HasFunctions bool }

// EntityExecutor runs the queries of entities.sql.
type EntityExecutor interface {
	InsertEntity(ctx context.Context, e EntityRow, now time.Time) (int64, error)
	// InsertClaimedEntity inserts e and claims keys for it (Deferrable:
	// its errors may surface at the transaction's next statement).
	InsertClaimedEntity(ctx context.Context, e EntityRow, now time.Time, keys []string) error
	GetEntity(ctx context.Context, k EntityKey) (EntityRow, error)
	EntityExists(ctx context.Context, k EntityKey) (bool, error)
	// EntityKind is the kind of the entity with k's name, whatever k.Kind.
	EntityKind(ctx context.Context, k EntityKey) (string, error)
	ListEntities(ctx context.Context, warehouse, namespace, kind, after string, limit int32) ([]string, error)
	// RenameEntity returns the entity's metadata location.
	RenameEntity(ctx context.Context, k EntityKey, toNamespace, toName string, now time.Time) (string, error)
	DeleteEntity(ctx context.Context, k EntityKey) (EntityRow, error)
	// LockEntity locks the entity with k's name (whatever k.Kind) against
	// other writers until the transaction ends. The row has no Metadata.
	LockEntity(ctx context.Context, k EntityKey) (EntityRow, error)
	// UpdateEntityMetadata swaps the metadata if the version is still
	// baseVersion, and counts the version up; it returns the rows changed.
	UpdateEntityMetadata(ctx context.Context, id, baseVersion int64, metadataLocation string, metadata []byte, now time.Time) (int64, error)
	SetEntityUUID(ctx context.Context, id int64, uuid string) error
	// EntitiesWithoutClaims returns entities stored before their claims
	// were recorded, by id above after.
	EntitiesWithoutClaims(ctx context.Context, after int64, limit int32) ([]EntityRow, error)
}

// EntityKey is the unique key of an entity row (the namespace joined).
type EntityKey struct{ Warehouse, Namespace, Name, Kind string }

// EntityRow is a stored table or view.
type EntityRow struct {
	ID int64
	EntityKey
	MetadataLocation string
	Metadata         []byte
	Version          int64
	UUID             string // "" for none
}

// EventExecutor runs the queries of events.sql.
type EventExecutor interface {
	// InsertEvents writes events in the transaction of the mutation they
	// describe. Their ids follow commit order across all writers, as the
	// driver arranges (see EventSequencer).
	InsertEvents(ctx context.Context, rows []EventRow, now time.Time) error
	// ListEvents returns the numbered events with ids above after.
	ListEvents(ctx context.Context, after int64, limit int32) ([]EventRow, error)
	LastEventID(ctx context.Context) (int64, error)
	// EventPruneThrough is the id of the newest event written before
	// before (0: none).
	EventPruneThrough(ctx context.Context, before time.Time) (int64, error)
	// DeleteEventsThrough deletes up to limit of the oldest events with ids
	// up to through.
	DeleteEventsThrough(ctx context.Context, through int64, limit int32) (int64, error)
}

// EventRow is an event; ID and Time are the database's.
type EventRow struct {
	ID        int64
	Type      string
	Time      time.Time
	Warehouse string
	Namespace string // joined
	Name      string
	Details   []byte // store.EventDetails as JSON
}

// Optional capabilities: a Driver may implement these, and the core looks
// for them once, when it is built.

// EntityBatcher reads the rows of many entities in one query; the core
// coalesces concurrent GetEntity calls into it.
type EntityBatcher interface {
	GetEntities(ctx context.Context, keys []EntityKey) ([]EntityRow, error)
}

// EntityCommitter commits one existing entity in one statement outside a
// transaction block: lock the row, compare the version, swap the metadata,
// write the event and mark the idempotency keys, in one round trip. An
// error that leaves open whether the statement committed wraps
// ErrOutcomeUnknown.
type EntityCommitter interface {
	CommitEntity(ctx context.Context, c EntityCommit) (CommitResult, error)
}

// EntityCommit is the one-statement commit of an existing entity.
type EntityCommit struct {
	Key                  EntityKey
	BaseVersion          int64
	BaseLocation         string // "": not compared (see store.Commit)
	MetadataLocation     string
	Metadata             []byte
	Event                EventRow // the replaced location is added to its details
	IdempotencyKeys      []string
	IdempotencyOutcome   []byte
	IdempotencyExpiresAt time.Time
}

// CommitResult is what CommitEntity found: committed, or the entity's
// current kind ("" if missing) and version.
type CommitResult struct {
	Committed      bool
	CurrentKind    string
	CurrentVersion int64
}

// EventSequencer numbers events after they commit (rather than when they
// are inserted): SequenceEvents numbers every event committed before the
// call, and the core calls it before it reads events.
type EventSequencer interface {
	SequenceEvents(ctx context.Context) error
}

// EventListener carries, across processes, the news that events were
// committed. The core calls AnnounceEvents after each commit that wrote
// events; it returns at once, and the driver may merge announcements and
// make them later. ListenEvents' channel receives a value (coalesced)
// after announcements of any process and after every reconnect, and is
// closed when ctx ends. An announcement may be lost (a process dying just
// after its commit): readers poll besides. Without an EventListener the
// core wakes only its own process's readers.
type EventListener interface {
	AnnounceEvents()
	ListenEvents(ctx context.Context) <-chan struct{}
}

// PruneLocker lets one process at a time prune events: TryLockPrune
// reports false when another one holds the lock. Without it the core
// assumes one process owns the database.
type PruneLocker interface {
	TryLockPrune(ctx context.Context) (unlock func(), ok bool, err error)
}

// WarehouseExecutor runs the queries of warehouses.sql.
type WarehouseExecutor interface {
	ListWarehouses(ctx context.Context) ([]store.Warehouse, error)
	WarehouseRevision(ctx context.Context) (int64, error)
	// BumpWarehouseRevision counts the revision up, locking its row until
	// the transaction ends (warehouse mutations serialize on it).
	BumpWarehouseRevision(ctx context.Context) (int64, error)
	InsertWarehouse(ctx context.Context, w store.Warehouse) error          // created at w.CreatedAt
	UpdateWarehouse(ctx context.Context, w store.Warehouse) (int64, error) // updated at w.UpdatedAt
	// RenameWarehouse renames the warehouse and the namespaces, entities
	// and grants stored under its name, keeping new namespaces out of the
	// old name until the transaction ends.
	RenameWarehouse(ctx context.Context, from, to string, now time.Time) error
	// LockWarehouseNamespaces keeps new namespaces out until the
	// transaction ends.
	LockWarehouseNamespaces(ctx context.Context) error
	WarehouseHasNamespaces(ctx context.Context, warehouse string) (bool, error)
	DeleteWarehouse(ctx context.Context, name string) (int64, error)
	DeleteWarehouseGrants(ctx context.Context, warehouse string) error
	PurgeJobsUnder(ctx context.Context, prefix string) (int64, error)
}

// Package backend holds what the PostgreSQL and SQLite backends share: key
// validation, the wording of client-facing errors (so both backends say
// exactly the same thing), property-change arithmetic, commit ordering and
// the retry policy for transactions that lost a lock race.
package backend

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

// Driver-neutral classes of database errors. Each backend's interpret
// function is the only place that maps its driver's errors onto these; the
// operations then turn them into errs kinds with the right message.
var (
	ErrNoRows     = errors.New("no rows")
	ErrUnique     = errors.New("unique violation")
	ErrForeignKey = errors.New("foreign key violation")
	// ErrBusy marks failures that abort a transaction without effect and are
	// worth retrying: lock timeouts, serialization failures, deadlocks,
	// SQLITE_BUSY.
	ErrBusy = errors.New("database busy")
	// ErrOutcomeUnknown marks a failure while committing: the transaction may
	// or may not have been applied.
	ErrOutcomeUnknown = errors.New("commit outcome unknown")
)

// NamespaceKey validates levels and joins them into the stored key.
func NamespaceKey(levels []string) (string, error) {
	if err := store.CheckNamespace(levels); err != nil {
		return "", err
	}
	return strings.Join(levels, store.NamespaceSeparator), nil
}

// ParentKey is the stored key of the parent of levels, "" for a top-level namespace.
func ParentKey(levels []string) string {
	if len(levels) <= 1 {
		return ""
	}
	return strings.Join(levels[:len(levels)-1], store.NamespaceSeparator)
}

// ChildKey is the key of the child named level below parent (a key).
func ChildKey(parent, level string) string {
	if parent == "" {
		return level
	}
	return parent + store.NamespaceSeparator + level
}

// SplitKey turns a stored namespace key back into levels.
func SplitKey(key string) []string {
	if key == "" {
		return nil
	}
	return strings.Split(key, store.NamespaceSeparator)
}

// ListAfter is the key that keyset listing of namespaces below parentKey
// compares against: Page.After names a child level, and since every child key
// starts with the same prefix, comparing whole keys orders by that level.
func ListAfter(parentKey, after string) string {
	if after == "" {
		return ""
	}
	return ChildKey(parentKey, after)
}

// CheckIdent validates an entity identifier and returns its namespace key.
func CheckIdent(kind store.Kind, id store.Ident) (string, error) {
	if err := CheckKind(kind); err != nil {
		return "", err
	}
	if err := store.CheckIdent(kind, id); err != nil {
		return "", err
	}
	return strings.Join(id.Namespace, store.NamespaceSeparator), nil
}

// CheckKind rejects anything but a table or a view.
func CheckKind(kind store.Kind) error {
	if kind != store.KindTable && kind != store.KindView {
		return errs.New(errs.Internal, "unknown entity kind %q", kind)
	}
	return nil
}

// Limit turns Page.Limit into a SQL LIMIT; no limit is the largest int32,
// the widest type both generated query packages accept.
func Limit(p store.Page) int32 {
	if p.Limit <= 0 || p.Limit > 1<<31-1 {
		return 1<<31 - 1
	}
	return int32(p.Limit)
}

// Dotted renders namespace levels the way Iceberg clients print them.
func Dotted(levels []string) string { return strings.Join(levels, ".") }

func kindTitle(k store.Kind) string {
	if k == store.KindView {
		return "View"
	}
	return "Table"
}

// NoSuchNamespace is the error for a missing namespace.
func NoSuchNamespace(levels []string) error {
	return errs.New(errs.NoSuchNamespace, "Namespace does not exist: %s", Dotted(levels))
}

// NamespaceAlreadyExists is the error for creating a namespace twice.
func NamespaceAlreadyExists(levels []string) error {
	return errs.New(errs.AlreadyExists, "Namespace already exists: %s", Dotted(levels))
}

// NamespaceNotEmpty names what keeps a namespace from being dropped.
func NamespaceNotEmpty(levels []string, children, tables, views bool) error {
	var what []string
	if tables {
		what = append(what, "tables")
	}
	if views {
		what = append(what, "views")
	}
	if children {
		what = append(what, "namespaces")
	}
	if len(what) == 0 {
		return errs.New(errs.NamespaceNotEmpty, "Namespace %s is not empty", Dotted(levels))
	}
	return errs.New(errs.NamespaceNotEmpty, "Namespace %s is not empty: it contains %s", Dotted(levels), strings.Join(what, ", "))
}

// NoSuchEntity is NoSuchTable or NoSuchView, by kind.
func NoSuchEntity(kind store.Kind, id store.Ident) error {
	if kind == store.KindView {
		return errs.New(errs.NoSuchView, "View does not exist: %s", id)
	}
	return errs.New(errs.NoSuchTable, "Table does not exist: %s", id)
}

// EntityAlreadyExists words the conflict from the point of view of what was
// asked for: a view created where a table exists reads "Table with same name
// already exists".
func EntityAlreadyExists(requested, existing store.Kind, id store.Ident) error {
	if existing == "" || existing == requested {
		return errs.New(errs.AlreadyExists, "%s already exists: %s", kindTitle(requested), id)
	}
	return errs.New(errs.AlreadyExists, "%s with same name already exists: %s", kindTitle(existing), id)
}

// CrossWarehouseRename rejects moving an entity between warehouses.
func CrossWarehouseRename(from, to store.Ident) error {
	if from.Warehouse != to.Warehouse {
		return errs.New(errs.BadRequest, "Cannot rename %s to another warehouse", from)
	}
	return nil
}

// StaleVersion is the CommitFailed error of a lost compare-and-swap.
func StaleVersion(kind store.Kind, id store.Ident, base, current int64) error {
	return errs.New(errs.CommitFailed, "Commit failed: %s %s was updated concurrently (base version %d, current version %d)",
		strings.ToLower(kindTitle(kind)), id, base, current)
}

// CreatedConcurrently is the CommitFailed error of a create commit whose
// entity appeared in the meantime.
func CreatedConcurrently(kind store.Kind, id store.Ident) error {
	return errs.New(errs.CommitFailed, "Commit failed: %s %s was created concurrently", strings.ToLower(kindTitle(kind)), id)
}

// CommitError turns what a commit transaction returned into its final form:
// lost lock races become CommitFailed (the client may retry), a failure while
// committing becomes CommitStateUnknown (it must not blindly retry).
func CommitError(commits []store.Commit, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrOutcomeUnknown) {
		return errs.Wrap(errs.CommitStateUnknown, err, "Commit state unknown: the database connection failed while committing")
	}
	if errors.Is(err, ErrBusy) {
		return errs.Wrap(errs.CommitFailed, err, "Commit failed: %s locked by concurrent commits; gave up waiting", describeCommits(commits))
	}
	return err
}

func describeCommits(commits []store.Commit) string {
	if len(commits) == 1 {
		return commits[0].Ident.String()
	}
	names := make([]string, len(commits))
	for i, c := range commits {
		names[i] = c.Ident.String()
	}
	return "[" + strings.Join(names, ", ") + "]"
}

// SortCommits validates commits and returns them ordered by (warehouse,
// namespace, name): the order in which every backend locks rows, so two
// multi-entity commits can never wait on each other in a cycle.
func SortCommits(commits []store.Commit) ([]store.Commit, error) {
	if len(commits) == 0 {
		return nil, errs.New(errs.BadRequest, "Commit must change at least one table or view")
	}
	type keyed struct {
		ns string
		c  store.Commit
	}
	ks := make([]keyed, len(commits))
	for i, c := range commits {
		ns, err := CheckIdent(c.Kind, c.Ident)
		if err != nil {
			return nil, err
		}
		ks[i] = keyed{ns, c}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		return cmp.Or(
			strings.Compare(a.c.Ident.Warehouse, b.c.Ident.Warehouse),
			strings.Compare(a.ns, b.ns),
			strings.Compare(a.c.Ident.Name, b.c.Ident.Name))
	})
	out := make([]store.Commit, len(ks))
	for i, k := range ks {
		if i > 0 && k.c.Ident.Warehouse == ks[i-1].c.Ident.Warehouse && k.ns == ks[i-1].ns && k.c.Ident.Name == ks[i-1].c.Ident.Name {
			return nil, errs.New(errs.BadRequest, "Commit changes %s more than once", k.c.Ident)
		}
		out[i] = k.c
	}
	return out, nil
}

// ApplyProperties computes the properties after removals and updates and
// reports what changed, with each list sorted.
func ApplyProperties(current map[string]string, removals []string, updates map[string]string) (map[string]string, store.PropertyChange, error) {
	for _, k := range removals {
		if _, ok := updates[k]; ok {
			return nil, store.PropertyChange{}, errs.New(errs.Unprocessable, "Property %q cannot be both updated and removed", k)
		}
	}
	next := make(map[string]string, len(current)+len(updates))
	for k, v := range current {
		next[k] = v
	}
	var ch store.PropertyChange
	for _, k := range removals {
		if _, ok := next[k]; ok {
			delete(next, k)
			ch.Removed = append(ch.Removed, k)
		} else {
			ch.Missing = append(ch.Missing, k)
		}
	}
	for k, v := range updates {
		next[k] = v
		ch.Updated = append(ch.Updated, k)
	}
	slices.Sort(ch.Updated)
	ch.Removed = slices.Compact(slices.Sorted(slices.Values(ch.Removed)))
	ch.Missing = slices.Compact(slices.Sorted(slices.Values(ch.Missing)))
	return next, ch, nil
}

// EncodeProperties is the stored JSON form of properties (keys sorted by
// encoding/json, so equal maps store equal bytes).
func EncodeProperties(p map[string]string) ([]byte, error) {
	if p == nil {
		p = map[string]string{}
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "encoding namespace properties")
	}
	return b, nil
}

// DecodeProperties reads the stored JSON form; the result is never nil.
func DecodeProperties(b []byte) (map[string]string, error) {
	p := map[string]string{}
	if len(b) == 0 {
		return p, nil
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "decoding stored namespace properties")
	}
	return p, nil
}

// NonNil keeps an empty metadata document from being sent as NULL, which
// the NOT NULL columns would reject.
func NonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// PurgeJobFor builds the purge job of a dropped entity. The base location is
// read from the metadata's "location" field, the one field every table and
// view metadata version has; an unreadable document still gets a job, which
// can then work from the metadata location alone.
func PurgeJobFor(e store.Entity) store.PurgeJob {
	var doc struct {
		Location string `json:"location"`
	}
	_ = json.Unmarshal(e.Metadata, &doc)
	return store.PurgeJob{Location: doc.Location, MetadataLocation: e.MetadataLocation, Metadata: e.Metadata}
}

// Retry is the policy for transactions that failed with ErrBusy.
type Retry struct {
	MaxRetries int
	BaseDelay  time.Duration
	MaxDelay   time.Duration
	// OnBusy, when set, is told about every ErrBusy failure, retried or
	// not (lock waits, for the metrics).
	OnBusy func(err error)
}

// Do runs fn until it succeeds, fails with an error that is not ErrBusy, or
// the retries are used up; waits grow exponentially with full jitter so that
// writers that collided once do not collide again in lockstep.
func (r Retry) Do(ctx context.Context, fn func() error) error {
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil || !errors.Is(err, ErrBusy) {
			return err
		}
		if r.OnBusy != nil {
			r.OnBusy(err)
		}
		if attempt >= r.MaxRetries {
			return fmt.Errorf("gave up after %d attempts: %w", attempt+1, err)
		}
		ceiling := r.MaxDelay
		if shifted := r.BaseDelay << attempt; attempt < 30 && shifted > 0 && shifted < ceiling {
			ceiling = shifted
		}
		t := time.NewTimer(time.Duration(rand.Int64N(int64(ceiling) + 1)))
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
	}
}

// BusyError is what a non-commit operation returns once Retry gave up.
func BusyError(err error) error {
	if err != nil && errors.Is(err, ErrBusy) {
		return errs.Wrap(errs.ServiceUnavailable, err, "The catalog database is busy; try again later")
	}
	return err
}

// IdempotencyMarks returns the Idempotency-Keys a mutation marks committed
// in its transaction (the one its context carries and those of its
// commits) and until when they are kept.
func IdempotencyMarks(ctx context.Context, commits ...store.Commit) ([]string, time.Time) {
	var (
		keys    []string
		expires time.Time
	)
	add := func(m store.IdempotencyMark) {
		if m.Key == "" {
			return
		}
		keys = append(keys, m.Key)
		if m.ExpiresAt.After(expires) {
			expires = m.ExpiresAt
		}
	}
	if m, ok := store.IdempotencyFrom(ctx); ok {
		add(m)
	}
	for _, c := range commits {
		for _, m := range c.Idempotency {
			add(m)
		}
	}
	return keys, expires
}

// EncodeOutcome is the stored form of an idempotent outcome.
func EncodeOutcome(o store.IdempotentOutcome) []byte {
	b, _ := json.Marshal(o) // strings and a struct of string slices: cannot fail
	return b
}

// DecodeOutcome reads EncodeOutcome's form; an empty one is the zero
// outcome.
func DecodeOutcome(b []byte) store.IdempotentOutcome {
	var o store.IdempotentOutcome
	_ = json.Unmarshal(b, &o)
	return o
}

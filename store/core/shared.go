package core

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
	"github.com/bingsan/bingsan/store/driver"
)

// namespaceKey validates levels and joins them into the stored key.
func namespaceKey(levels []string) (string, error) {
	if err := store.CheckNamespace(levels); err != nil {
		return "", err
	}
	return strings.Join(levels, store.NamespaceSeparator), nil
}

// parentKey is the stored key of the parent of levels, "" for a top-level namespace.
func parentKey(levels []string) string {
	if len(levels) <= 1 {
		return ""
	}
	return strings.Join(levels[:len(levels)-1], store.NamespaceSeparator)
}

// childKey is the key of the child named level below parent (a key).
func childKey(parent, level string) string {
	if parent == "" {
		return level
	}
	return parent + store.NamespaceSeparator + level
}

// splitKey turns a stored namespace key back into levels.
func splitKey(key string) []string {
	if key == "" {
		return nil
	}
	return strings.Split(key, store.NamespaceSeparator)
}

// listAfter is the key that keyset listing of namespaces below parentKey
// compares against: Page.After names a child level, and since every child key
// starts with the same prefix, comparing whole keys orders by that level.
func listAfter(parentKey, after string) string {
	if after == "" {
		return ""
	}
	return childKey(parentKey, after)
}

// checkIdent validates an entity identifier and returns its namespace key.
func checkIdent(kind store.Kind, id store.Ident) (string, error) {
	if err := checkKind(kind); err != nil {
		return "", err
	}
	if err := store.CheckIdent(kind, id); err != nil {
		return "", err
	}
	return strings.Join(id.Namespace, store.NamespaceSeparator), nil
}

// checkKind rejects anything but a table or a view.
func checkKind(kind store.Kind) error {
	if kind != store.KindTable && kind != store.KindView {
		return errs.New(errs.Internal, "unknown entity kind %q", kind)
	}
	return nil
}

// sqlLimit turns Page.Limit into a SQL LIMIT; no limit is the largest int32,
// the widest type both generated query packages accept.
func sqlLimit(p store.Page) int32 {
	if p.Limit <= 0 || p.Limit > 1<<31-1 {
		return 1<<31 - 1
	}
	return int32(p.Limit)
}

// dotted renders namespace levels the way Iceberg clients print them.
func dotted(levels []string) string { return strings.Join(levels, ".") }

func kindTitle(k store.Kind) string {
	if k == store.KindView {
		return "View"
	}
	return "Table"
}

// noSuchNamespace is the error for a missing namespace.
func noSuchNamespace(levels []string) error {
	return errs.New(errs.NoSuchNamespace, "Namespace does not exist: %s", dotted(levels))
}

// namespaceAlreadyExists is the error for creating a namespace twice.
func namespaceAlreadyExists(levels []string) error {
	return errs.New(errs.AlreadyExists, "Namespace already exists: %s", dotted(levels))
}

// namespaceNotEmpty names what keeps a namespace from being dropped.
func namespaceNotEmpty(levels []string, children, tables, views bool) error {
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
		return errs.New(errs.NamespaceNotEmpty, "Namespace %s is not empty", dotted(levels))
	}
	return errs.New(errs.NamespaceNotEmpty, "Namespace %s is not empty: it contains %s", dotted(levels), strings.Join(what, ", "))
}

// noSuchEntity is NoSuchTable or NoSuchView, by kind.
func noSuchEntity(kind store.Kind, id store.Ident) error {
	if kind == store.KindView {
		return errs.New(errs.NoSuchView, "View does not exist: %s", id)
	}
	return errs.New(errs.NoSuchTable, "Table does not exist: %s", id)
}

// entityAlreadyExists words the conflict from the point of view of what was
// asked for: a view created where a table exists reads "Table with same name
// already exists".
func entityAlreadyExists(requested, existing store.Kind, id store.Ident) error {
	if existing == "" || existing == requested {
		return errs.New(errs.AlreadyExists, "%s already exists: %s", kindTitle(requested), id)
	}
	return errs.New(errs.AlreadyExists, "%s with same name already exists: %s", kindTitle(existing), id)
}

// crossWarehouseRename rejects moving an entity between warehouses.
func crossWarehouseRename(from, to store.Ident) error {
	if from.Warehouse != to.Warehouse {
		return errs.New(errs.BadRequest, "Cannot rename %s to another warehouse", from)
	}
	return nil
}

// staleVersion is the CommitFailed error of a lost compare-and-swap.
func staleVersion(kind store.Kind, id store.Ident, base, current int64) error {
	return errs.New(errs.CommitFailed, "Commit failed: %s %s was updated concurrently (base version %d, current version %d)",
		strings.ToLower(kindTitle(kind)), id, base, current)
}

// createdConcurrently is the CommitFailed error of a create commit whose
// entity appeared in the meantime.
func createdConcurrently(kind store.Kind, id store.Ident) error {
	return errs.New(errs.CommitFailed, "Commit failed: %s %s was created concurrently", strings.ToLower(kindTitle(kind)), id)
}

// commitError turns what a commit transaction returned into its final form:
// lost lock races become CommitFailed (the client may retry), a failure while
// committing becomes CommitStateUnknown (it must not blindly retry).
func commitError(commits []store.Commit, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, driver.ErrOutcomeUnknown) {
		return errs.Wrap(errs.CommitStateUnknown, err, "Commit state unknown: the database connection failed while committing")
	}
	if errors.Is(err, driver.ErrBusy) {
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

// sortCommits validates commits and returns them ordered by (warehouse,
// namespace, name): the order in which every driver locks rows, so two
// multi-entity commits can never wait on each other in a cycle.
func sortCommits(commits []store.Commit) ([]store.Commit, error) {
	if len(commits) == 0 {
		return nil, errs.New(errs.BadRequest, "Commit must change at least one table or view")
	}
	type keyed struct {
		ns string
		c  store.Commit
	}
	ks := make([]keyed, len(commits))
	for i, c := range commits {
		ns, err := checkIdent(c.Kind, c.Ident)
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

// applyProperties computes the properties after removals and updates and
// reports what changed, with each list sorted.
func applyProperties(current map[string]string, removals []string, updates map[string]string) (map[string]string, store.PropertyChange, error) {
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

// encodeProperties is the stored JSON form of properties (keys sorted by
// encoding/json, so equal maps store equal bytes).
func encodeProperties(p map[string]string) ([]byte, error) {
	if p == nil {
		p = map[string]string{}
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "encoding namespace properties")
	}
	return b, nil
}

// decodeProperties reads the stored JSON form; the result is never nil.
func decodeProperties(b []byte) (map[string]string, error) {
	p := map[string]string{}
	if len(b) == 0 {
		return p, nil
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "decoding stored namespace properties")
	}
	return p, nil
}

// nonNil keeps an empty metadata document from being sent as NULL, which
// the NOT NULL columns would reject.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// purgeJobFor builds the purge job of a dropped entity. The base location is
// read from the metadata's "location" field, the one field every table and
// view metadata version has; an unreadable document still gets a job, which
// can then work from the metadata location alone.
func purgeJobFor(e store.Entity) store.PurgeJob {
	var doc struct {
		Location string `json:"location"`
	}
	_ = json.Unmarshal(e.Metadata, &doc)
	return store.PurgeJob{Location: doc.Location, MetadataLocation: e.MetadataLocation, Metadata: e.Metadata}
}

// retryPolicy is the policy for transactions that failed with driver.ErrBusy.
type retryPolicy struct {
	MaxRetries int
	BaseDelay  time.Duration
	MaxDelay   time.Duration
	// OnBusy, when set, is told about every driver.ErrBusy failure, retried or
	// not (lock waits, for the metrics).
	OnBusy func(err error)
}

// Do runs fn until it succeeds, fails with an error that is not driver.ErrBusy, or
// the retries are used up; waits grow exponentially with full jitter so that
// writers that collided once do not collide again in lockstep.
func (r retryPolicy) Do(ctx context.Context, fn func() error) error {
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil || !errors.Is(err, driver.ErrBusy) {
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

// busyError is what a non-commit operation returns once retryPolicy gave up.
func busyError(err error) error {
	if err != nil && errors.Is(err, driver.ErrBusy) {
		return errs.Wrap(errs.ServiceUnavailable, err, "The catalog database is busy; try again later")
	}
	return err
}

// noSuchPlan is the error for a scan plan that is not stored.
func noSuchPlan(id string) error {
	return errs.New(errs.NoSuchPlanID, "Scan plan does not exist: %s", id)
}

// noSuchPlanChunk is the error for a missing chunk of a plan's result.
func noSuchPlanChunk(planID string, seq int) error {
	return errs.New(errs.NoSuchPlanTask, "Plan task does not exist: %d of plan %s", seq, planID)
}

// sortPlans orders claimed plans oldest first.
func sortPlans(plans []store.Plan) {
	slices.SortFunc(plans, func(a, b store.Plan) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
}

// idempotencyMarks returns the Idempotency-Keys a mutation marks committed
// in its transaction (the one its context carries and those of its
// commits) and until when they are kept.
func idempotencyMarks(ctx context.Context, commits ...store.Commit) ([]string, time.Time) {
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

// encodeOutcome is the stored form of an idempotent outcome.
func encodeOutcome(o store.IdempotentOutcome) []byte {
	b, _ := json.Marshal(o) // strings and a struct of string slices: cannot fail
	return b
}

// decodeOutcome reads EncodeOutcome's form; an empty one is the zero
// outcome.
func decodeOutcome(b []byte) store.IdempotentOutcome {
	var o store.IdempotentOutcome
	_ = json.Unmarshal(b, &o)
	return o
}

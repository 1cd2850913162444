package catalog

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/apache/iceberg-go"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/principal"
	"github.com/bingsan/bingsan/store"
)

// The commit engine, for tables and views alike. A commit of an existing
// table or view:
//
//  1. queues behind this node's other commits of the entity and waits for
//     the entity's node-local lock (tableLocks), so that commits of one
//     entity take turns instead of all writing files on one base and all
//     but one losing the compare-and-swap;
//  2. whoever holds the lock takes the queue's head group (commits of one
//     principal, at most MaxCommitGroup) and prepares it on the entity's
//     current metadata: each commit's requirements checked against what
//     the ones before it left, its updates applied; a commit that fails
//     is answered with its own error and leaves the others alone;
//  3. lands the group: one new metadata file, one compare-and-swap of the
//     entity's row with its event, and the Idempotency-Keys of the commits
//     that applied marked in the same transaction;
//  4. when another node won the race, prepares the group again on the new
//     metadata, with backoff and full jitter, within the retry bounds.
//
// Every commit of a group is answered with the group's result. Multi-table
// transactions and the commit of a staged create land through the same
// prepare and land steps, without the queue (commitTables). What differs
// between kinds (how metadata is parsed, changed, encoded and named) is a
// kindOps.

// kindOps is the part of the commit engine that depends on the kind of
// entity: M is its parsed metadata, C its decoded change.
type kindOps[M any, C any] interface {
	kind() store.Kind
	ident(c *C) store.Ident
	// parse returns the parsed metadata of cur (through the cache).
	parse(s *Service, cur store.Entity) (M, error)
	// apply checks c's requirements against m and applies its updates.
	// logLoc is m's file, for the metadata log ("" when m was never
	// written). changed reports whether anything changed.
	apply(m M, logLoc string, c *C) (next M, changed bool, err error)
	// location and properties of m: where its files go.
	placement(m M) (string, iceberg.Properties)
	// file encodes m as version of the entity's metadata: the document the
	// store keeps, the file's location and its bytes.
	file(m M, version int) (doc []byte, loc string, data []byte, err error)
	// snapshotsAdded lists the snapshots next adds to base (for events);
	// removedFiles the metadata files next drops from base's log that are
	// to be deleted.
	snapshotsAdded(base, next M) []int64
	removedFiles(base, next M) []string
}

// plan is one entity's prepared commit: the metadata to swap in, built on
// the metadata the entity had when the attempt started.
type plan[M any] struct {
	id      store.Ident
	base    M
	hasBase bool // false for the commit of a staged create
	next    M
	commit  store.Commit
	data    []byte // the new file's bytes, with write
	// write is set when commit.MetadataLocation is a new file to write;
	// otherwise the commit keeps the current file and only checks that
	// the entity did not move (the requirements held at commit time).
	write   bool
	written bool
}

// prepareOn applies changes in order on the entity's current row cur:
// each change's requirements are checked against the metadata left by the
// changes before it, and a change that fails is left out (its error in
// outcomes) without affecting the others. The plan writes one metadata
// file holding all the changes that apply, or none if nothing changes.
func prepareOn[M, C any](ctx context.Context, s *Service, k kindOps[M, C], id store.Ident, cur store.Entity, changes []*C) (*plan[M], []error, error) {
	base, err := k.parse(s, cur)
	if err != nil {
		return nil, nil, err
	}
	outcomes := make([]error, len(changes))
	meta, changed := base, false
	var claims []string // the keys of moved locations, if a change moved them
	for i, c := range changes {
		// The current file enters the metadata log once, with the first
		// change that changes anything; the metadata between two changes of
		// one plan is never written, so it has no file to log.
		logLoc := cur.MetadataLocation
		if changed {
			logLoc = ""
		}
		next, ok, err := k.apply(meta, logLoc, c)
		if err != nil {
			outcomes[i] = err
			continue
		}
		if !ok {
			continue
		}
		loc, props := k.placement(meta)
		nextLoc, nextProps := k.placement(next)
		if locationsChanged(loc, nextLoc, props, nextProps) {
			if claims, err = s.placeEntity(ctx, id, nextLoc, nextProps); err != nil {
				outcomes[i] = err
				continue
			}
		}
		meta, changed = next, true
	}
	p := &plan[M]{id: id, base: base, hasBase: true, next: base, commit: store.Commit{
		Ident: id, Kind: k.kind(), BaseVersion: cur.Version, BaseLocation: cur.MetadataLocation,
		MetadataLocation: cur.MetadataLocation, Metadata: cur.Metadata,
	}}
	if !changed {
		return p, outcomes, nil
	}
	doc, loc, data, err := k.file(meta, metadataVersion(cur.MetadataLocation)+1)
	if err != nil {
		return nil, nil, err
	}
	p.next, p.write, p.data = meta, true, data
	p.commit.MetadataLocation, p.commit.Metadata = loc, doc
	baseLoc, baseProps := k.placement(base)
	nextLoc, nextProps := k.placement(meta)
	if locationsChanged(baseLoc, nextLoc, baseProps, nextProps) {
		p.commit.Claims = claims
	}
	p.commit.SnapshotsAdded = k.snapshotsAdded(base, meta)
	return p, outcomes, nil
}

// land writes the plans' new metadata files, swaps every pointer in one
// store commit and caches what it wrote (parsed metadata, heads). A
// store.Commit error is returned as is, so that the caller can tell a lost
// race; files written for a commit that failed are deleted.
func land[M, C any](ctx context.Context, s *Service, k kindOps[M, C], plans []*plan[M]) error {
	cleanup := func(cause error) {
		for _, p := range plans {
			if p.written {
				s.discardFile(ctx, p.commit.MetadataLocation, cause)
				p.written = false
				if p.commit.Create && discardable(cause) {
					// Writing the first file made the entity's
					// directories: a create that lost leaves none
					// (those holding other files stay).
					loc, _ := k.placement(p.next)
					_ = s.io.RemoveEmptyDirectories(context.WithoutCancel(ctx), loc)
				}
			}
		}
	}
	commits := make([]store.Commit, 0, len(plans))
	for _, p := range plans {
		if p.write {
			if err := s.writeFile(ctx, p.commit.MetadataLocation, p.data); err != nil {
				cleanup(nil) // nothing was committed
				return err
			}
			p.written = true
		}
		commits = append(commits, p.commit)
	}
	if err := s.st.Commit(ctx, commits); err != nil {
		cleanup(err)
		for _, p := range plans {
			if p.commit.Create {
				return err // a create's conflict stays a 409, as a plain create's
			}
		}
		return movedOntoOwned(err)
	}
	for _, p := range plans {
		if !p.write {
			continue
		}
		s.metaCache.put(p.commit.MetadataLocation, p.next, len(p.commit.Metadata))
		version := p.commit.BaseVersion + 1
		if p.commit.Create {
			version = 1
		}
		s.metaCache.setHead(entityCommitKey(k.kind(), p.id), store.Entity{Ident: p.id, Kind: k.kind(),
			MetadataLocation: p.commit.MetadataLocation, Version: version})
		if !p.hasBase {
			continue
		}
		for _, loc := range k.removedFiles(p.base, p.next) {
			if err := s.io.Delete(context.WithoutCancel(ctx), loc); err != nil {
				s.log.Warn("could not delete old metadata file", string(k.kind()), p.id.String(), "location", loc, "error", err)
			}
		}
	}
	return nil
}

// movedOntoOwned words a commit that failed because it moved an entity's
// files onto a location another one owns: the commit's own fault (400),
// not a conflict to retry.
func movedOntoOwned(err error) error {
	if errors.Is(err, store.ErrLocationOwned) {
		return errs.Wrap(errs.BadRequest, err, "%s", clientMessage(err))
	}
	return err
}

// retryAfter decides whether a commit attempt that failed is tried again:
// only after a lost race, within MaxRetries, and after a backoff that ends
// before deadline (zero: none). It counts the lost race; retryable false
// ends the commit without waiting.
func (s *Service) retryAfter(ctx context.Context, attempt int, lostRace, retryable bool, deadline time.Time) bool {
	if lostRace {
		s.opts.Metrics.CommitConflict()
	}
	return lostRace && retryable && attempt < s.opts.MaxRetries && s.backoff(ctx, attempt, deadline)
}

// defaultMaxCommitGroup bounds the commits folded into one metadata file.
const defaultMaxCommitGroup = 32

// member is one queued commit of an entity.
type member[C any] struct {
	// ctx is the commit's context without its cancellation: a group runs
	// with its first member's, so that the event it writes names that
	// member's principal (a group only holds commits of one principal).
	ctx       context.Context
	principal string
	// idem is the Idempotency-Key of the member's request, marked
	// committed in the transaction that lands the member's change.
	idem     store.IdempotencyMark
	change   *C
	deadline time.Time // zero: none
	done     chan memberResult
}

type memberResult struct {
	commit store.Commit
	err    error
}

// commitQueues holds the commits of each entity waiting on this node.
type commitQueues[C any] struct {
	mu     sync.Mutex
	queues map[string][]*member[C]
}

func (q *commitQueues[C]) push(key string, m *member[C]) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.queues == nil {
		q.queues = map[string][]*member[C]{}
	}
	q.queues[key] = append(q.queues[key], m)
}

// remove takes m out of the queue and reports whether it was still there
// (not yet taken by a group).
func (q *commitQueues[C]) remove(key string, m *member[C]) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, x := range q.queues[key] {
		if x == m {
			q.set(key, append(q.queues[key][:i:i], q.queues[key][i+1:]...))
			return true
		}
	}
	return false
}

// take removes the next group from the head of the queue: up to limit
// commits of the head's principal.
func (q *commitQueues[C]) take(key string, limit int) []*member[C] {
	q.mu.Lock()
	defer q.mu.Unlock()
	queue := q.queues[key]
	n := 0
	for n < len(queue) && n < limit && queue[n].principal == queue[0].principal {
		n++
	}
	group := queue[:n:n]
	q.set(key, queue[n:])
	return group
}

func (q *commitQueues[C]) set(key string, queue []*member[C]) {
	if len(queue) == 0 {
		delete(q.queues, key)
		return
	}
	q.queues[key] = queue
}

// commitQueued commits c to its existing entity: it queues c behind this
// node's other commits of the entity and returns its outcome. Whoever holds
// the entity's lock commits the queue's head group; a commit may thus be
// decided by the turn of an earlier arrival, and finds its outcome when it
// gets the lock.
func commitQueued[M, C any](ctx context.Context, s *Service, k kindOps[M, C], q *commitQueues[C], c *C) (store.Commit, error) {
	id := k.ident(c)
	key := entityCommitKey(k.kind(), id)
	m := &member[C]{ctx: context.WithoutCancel(ctx), principal: principal.From(ctx), change: c,
		deadline: s.retryDeadline(), done: make(chan memberResult, 1)}
	m.idem, _ = store.IdempotencyFrom(ctx)
	q.push(key, m)
	release, err := s.lockEntity(ctx, key, id, m.deadline)
	if err != nil {
		if q.remove(key, m) {
			return store.Commit{}, err
		}
		// A turn already took m: its outcome is being decided, and giving
		// up now would leave the caller ignorant of a commit that lands.
		r := <-m.done
		return r.commit, r.err
	}
	defer release()
	for {
		select {
		case r := <-m.done:
			return r.commit, r.err
		default:
		}
		group := q.take(key, s.maxCommitGroup())
		if len(group) == 0 {
			r := <-m.done // unreachable: m is queued until answered
			return r.commit, r.err
		}
		commitGroup(s, k, group)
	}
}

func (s *Service) maxCommitGroup() int {
	if s.opts.MaxCommitGroup > 0 {
		return s.opts.MaxCommitGroup
	}
	return defaultMaxCommitGroup
}

// commitGroup commits group and answers every member.
func commitGroup[M, C any](s *Service, k kindOps[M, C], group []*member[C]) {
	// The group lands under its members' keys, each only if its change
	// applied (attemptGroup), never under the first member's alone.
	ctx := store.WithIdempotency(group[0].ctx, store.IdempotencyMark{})
	s.opts.Metrics.CommitGroup(len(group))
	id := k.ident(group[0].change)
	key := entityCommitKey(k.kind(), id)
	fromHead := true
	for attempt := 0; ; attempt++ {
		p, outcomes, err := attemptGroup(ctx, s, k, id, key, group, fromHead)
		if errors.Is(err, errStaleHead) {
			// The same try again, on a fresh read: not counted, no backoff.
			fromHead = false
			attempt--
			continue
		}
		fromHead = false
		s.opts.Metrics.CommitAttempt()
		if err == nil {
			for i, m := range group {
				if outcomes[i] != nil {
					m.done <- memberResult{err: outcomes[i]}
				} else {
					m.done <- memberResult{commit: p.commit}
				}
			}
			return
		}
		lostRace := errs.Is(err, errs.CommitFailed) && p != nil
		if !s.retryAfter(ctx, attempt, lostRace, true, latestDeadline(group)) {
			for _, m := range group {
				m.done <- memberResult{err: err}
			}
			return
		}
		// Members past their deadline leave with the conflict, as a lone
		// commit out of retry budget would.
		kept := group[:0]
		now := time.Now()
		for _, m := range group {
			if !m.deadline.IsZero() && now.After(m.deadline) {
				m.done <- memberResult{err: err}
			} else {
				kept = append(kept, m)
			}
		}
		if group = kept; len(group) == 0 {
			return
		}
		s.opts.Metrics.CommitRetry()
	}
}

// attemptGroup applies the group's changes on the entity's current
// metadata and lands the result. A lost race returns the plan with the
// store's CommitFailed error.
//
// With fromHead, the attempt starts from the row this node's last commit
// of the entity left (metadataCache.head) rather than reading it. Such an
// attempt only stands if its whole group applies and lands: anything else
// (a failed requirement, nothing to change, a refused compare-and-swap)
// may be the doing of a stale head, and returns errStaleHead so that the
// group is prepared again on a fresh read before anyone is answered.
func attemptGroup[M, C any](ctx context.Context, s *Service, k kindOps[M, C], id store.Ident, key string, group []*member[C], fromHead bool) (*plan[M], []error, error) {
	cur, cached := store.Entity{}, false
	if fromHead {
		cur, cached = s.metaCache.head(key)
	}
	if !cached {
		var err error
		if cur, err = s.st.GetEntity(ctx, k.kind(), id); err != nil {
			return nil, nil, err
		}
		s.metaCache.readRow(key, cur)
	}
	stale := func() (*plan[M], []error, error) {
		s.metaCache.doubtHead(key)
		return nil, nil, errStaleHead
	}
	changes := make([]*C, len(group))
	for i, m := range group {
		changes[i] = m.change
	}
	p, outcomes, err := prepareOn(ctx, s, k, id, cur, changes)
	if cached && (err != nil || !p.write || slices.ContainsFunc(outcomes, func(e error) bool { return e != nil })) {
		return stale()
	}
	if err != nil {
		return nil, nil, err
	}
	for i, m := range group {
		if outcomes[i] == nil {
			p.commit.Idempotency = append(p.commit.Idempotency, m.idem)
		}
	}
	if p.write {
		if err := land(ctx, s, k, []*plan[M]{p}); err != nil {
			if cached && discardable(err) {
				return stale()
			}
			return p, nil, err
		}
	}
	return p, outcomes, nil
}

// errStaleHead is attemptGroup's word that an attempt started from a head
// must be made again on a fresh read.
var errStaleHead = errors.New("commit prepared on a stale head")

// entityCommitKey identifies an entity in this node's commit queues,
// locks and heads.
func entityCommitKey(kind store.Kind, id store.Ident) string {
	return string(kind) + "/" + tableKey(id)
}

// latestDeadline is the latest deadline of the group (zero if any member
// has none).
func latestDeadline[C any](group []*member[C]) time.Time {
	var latest time.Time
	for _, m := range group {
		if m.deadline.IsZero() {
			return time.Time{}
		}
		if m.deadline.After(latest) {
			latest = m.deadline
		}
	}
	return latest
}

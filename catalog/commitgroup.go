package catalog

import (
	"context"
	"sync"
	"time"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/principal"
	"github.com/bingsan/bingsan/store"
)

// Group commit. Commits of one table on one node take turns (tableLocks),
// and each turn costs a new metadata file, which dominates a commit: the
// file's creation and flush alone cost more than the database's whole
// transaction. So the commits that queued up while a turn ran are committed
// together in the next one: applied in arrival order, each checked against
// the metadata the ones before it left (exactly as if they had run one
// after another), written as one metadata file and swapped in with one
// compare-and-swap. A commit whose requirements fail, or whose updates are
// invalid, is answered with its own error and leaves the others alone.
// Every commit of a group gets the group's result: the new metadata holds
// its changes and those of the commits after it. The metadata log gets one
// entry per group, as the commits in between had no file of their own; the
// snapshot log still records every snapshot change.

// defaultMaxCommitGroup bounds the commits folded into one metadata file.
const defaultMaxCommitGroup = 32

// member is one queued commit of a table.
type member struct {
	// ctx is the commit's context without its cancellation: a group runs
	// with its first member's, so that the event it writes names that
	// member's principal (a group only holds commits of one principal).
	ctx       context.Context
	principal string
	// idem is the Idempotency-Key of the member's request, marked
	// committed in the transaction that lands the member's change.
	idem     store.IdempotencyMark
	change   TableChange
	create   bool      // a staged create: always committed alone
	deadline time.Time // zero: none
	done     chan memberResult
}

type memberResult struct {
	commit store.Commit
	err    error
}

// commitQueues holds the commits of each table waiting on this node.
type commitQueues struct {
	mu     sync.Mutex
	queues map[string][]*member
}

func (q *commitQueues) push(key string, m *member) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.queues == nil {
		q.queues = map[string][]*member{}
	}
	q.queues[key] = append(q.queues[key], m)
}

// remove takes m out of the queue and reports whether it was still there
// (not yet taken by a group).
func (q *commitQueues) remove(key string, m *member) bool {
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

// take removes the next group from the head of the queue: a staged create
// alone, or else up to limit commits of the head's principal that are not
// creates.
func (q *commitQueues) take(key string, limit int) []*member {
	q.mu.Lock()
	defer q.mu.Unlock()
	queue := q.queues[key]
	n := 0
	for n < len(queue) && n < limit && !queue[n].create && queue[n].principal == queue[0].principal {
		n++
	}
	if n == 0 && len(queue) > 0 {
		n = 1
	}
	group := queue[:n:n]
	q.set(key, queue[n:])
	return group
}

func (q *commitQueues) set(key string, queue []*member) {
	if len(queue) == 0 {
		delete(q.queues, key)
		return
	}
	q.queues[key] = queue
}

// commitQueued queues m behind this node's other commits of its table and
// returns its outcome. Whoever holds the table's lock commits the queue's
// head group; a commit may thus be decided by the turn of an earlier
// arrival, and finds its outcome when it gets the lock.
func (s *Service) commitQueued(ctx context.Context, m *member) (store.Commit, error) {
	id := m.change.Ident
	key := tableKey(id)
	m.ctx = context.WithoutCancel(ctx)
	m.principal = principal.From(ctx)
	m.idem, _ = store.IdempotencyFrom(ctx)
	s.queues.push(key, m)
	release, err := s.lockTable(ctx, id, m.deadline)
	if err != nil {
		if s.queues.remove(key, m) {
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
		group := s.queues.take(key, s.maxCommitGroup())
		if len(group) == 0 {
			r := <-m.done // unreachable: m is queued until answered
			return r.commit, r.err
		}
		s.commitGroup(group)
	}
}

func (s *Service) maxCommitGroup() int {
	if s.opts.MaxCommitGroup > 0 {
		return s.opts.MaxCommitGroup
	}
	return defaultMaxCommitGroup
}

// commitGroup commits group and answers every member.
func (s *Service) commitGroup(group []*member) {
	ctx := group[0].ctx
	s.opts.Metrics.CommitGroup(len(group))
	if len(group) == 1 {
		m := group[0]
		plans, err := s.commitWithRetries(ctx, []TableChange{m.change}, m.deadline)
		if err != nil {
			m.done <- memberResult{err: err}
			return
		}
		m.done <- memberResult{commit: plans[0].commit}
		return
	}
	id := group[0].change.Ident
	// The group lands under its members' keys, each only if its change
	// applied (attemptGroup), never under the first member's alone.
	ctx = store.WithIdempotency(ctx, store.IdempotencyMark{})
	for attempt := 0; ; attempt++ {
		s.opts.Metrics.CommitAttempt()
		p, outcomes, err := s.attemptGroup(ctx, id, group)
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

// attemptGroup applies the group's changes on the table's current metadata
// and lands the result. A lost race returns the plan with the store's
// CommitFailed error.
func (s *Service) attemptGroup(ctx context.Context, id store.Ident, group []*member) (*plan, []error, error) {
	cur, err := s.st.GetEntity(ctx, store.KindTable, id)
	if err != nil {
		return nil, nil, err
	}
	// Decoded anew for each attempt: applying updates mutates them (see
	// parseChanges). They were decoded once already, in CommitTable.
	changes := make([]parsedChange, len(group))
	for i, m := range group {
		reqs, upds, err := parseChanges(m.change.Requirements, m.change.Updates)
		if err != nil {
			return nil, nil, err
		}
		changes[i] = parsedChange{reqs, upds}
	}
	p, outcomes, err := s.prepareOn(ctx, id, cur, changes)
	if err != nil {
		return nil, nil, err
	}
	for i, m := range group {
		if outcomes[i] == nil {
			p.commit.Idempotency = append(p.commit.Idempotency, m.idem)
		}
	}
	if p.write {
		if err := s.land(ctx, []*plan{p}); err != nil {
			return p, nil, err
		}
	}
	return p, outcomes, nil
}

// latestDeadline is the latest deadline of the group (zero if any member
// has none).
func latestDeadline(group []*member) time.Time {
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

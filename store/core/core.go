// Package core is the one implementation of store.Store, store.Warehouses,
// store.AuthStore and store.PlanStore, written once over a driver.Driver: the operations,
// their transactions and retries, the wording of client-facing errors and
// the events and idempotency marks every mutation writes. A database is a
// thin driver (store/postgres, store/sqlite) with one method per query;
// what only one database can do faster is an optional capability of its
// driver, looked for once, in New.
package core

import (
	"context"
	"time"

	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/driver"
	"github.com/bingsan/bingsan/store/internal/coalesce"
)

// Options tune the core; zero values take the defaults.
type Options struct {
	// MaxRetries is how often a write that lost a lock race (driver.ErrBusy)
	// is retried. Default 5; negative disables retries.
	MaxRetries int
	// BaseDelay and MaxDelay bound the exponential backoff (full jitter)
	// between retries. Defaults 10ms and 1s.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// OnBusy, when set, is told about every driver.ErrBusy failure (the
	// lock-wait metrics).
	OnBusy func(err error)
	// ReadBatch, when set, is told the size of every coalesced batch of
	// entity reads (with an EntityBatcher).
	ReadBatch func(keys int)
}

// readBatchTimeout bounds one coalesced read: far above any healthy point
// read, it only frees the reads queued behind a query on a dead connection.
const readBatchTimeout = 30 * time.Second

func (o Options) withDefaults() Options {
	if o.MaxRetries == 0 {
		o.MaxRetries = 5
	} else if o.MaxRetries < 0 {
		o.MaxRetries = 0
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = 10 * time.Millisecond
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = time.Second
	}
	return o
}

// Store is the store over one driver.
type Store struct {
	d     driver.Driver
	retry retryPolicy

	// The driver's capabilities (nil: it has not got them).
	batcher     driver.EntityBatcher
	committer   driver.EntityCommitter
	sequencer   driver.EventSequencer
	listener    driver.EventListener
	pruneLocker driver.PruneLocker

	// entities coalesces concurrent GetEntity calls (loads, and the read
	// before each commit) into one query per batch, with an EntityBatcher.
	entities *coalesce.Reader[driver.EntityKey, driver.EntityRow]
	// wakeups signals this process's readers of events after commits
	// that wrote some, without an EventListener.
	wakeups *fanout
}

var (
	_ store.AuthStore = (*Store)(nil)
	_ store.PlanStore = (*Store)(nil)
)

// New builds the store over d.
func New(d driver.Driver, opts Options) *Store {
	opts = opts.withDefaults()
	s := &Store{
		d:       d,
		retry:   retryPolicy{MaxRetries: opts.MaxRetries, BaseDelay: opts.BaseDelay, MaxDelay: opts.MaxDelay, OnBusy: opts.OnBusy},
		wakeups: newWakeups(),
	}
	s.batcher, _ = d.(driver.EntityBatcher)
	s.committer, _ = d.(driver.EntityCommitter)
	s.sequencer, _ = d.(driver.EventSequencer)
	s.listener, _ = d.(driver.EventListener)
	s.pruneLocker, _ = d.(driver.PruneLocker)
	if s.batcher != nil {
		s.entities = coalesce.New(s.fetchEntities, coalesce.Options{Timeout: readBatchTimeout, Observe: opts.ReadBatch})
	}
	return s
}

func (s *Store) Ping(ctx context.Context) error { return s.d.Ping(ctx) }

func (s *Store) Close() error { return s.d.Close() }

// write runs fn in a write transaction, retrying the whole transaction when
// it lost a lock race.
func (s *Store) write(ctx context.Context, fn func(tx driver.Tx) error) error {
	return s.retry.Do(ctx, func() error { return s.writeOnce(ctx, fn) })
}

func (s *Store) writeOnce(ctx context.Context, fn func(tx driver.Tx) error) error {
	tx, err := s.d.Begin(ctx)
	if err != nil {
		return err
	}
	// After a successful Commit this is a no-op.
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// writeOne runs a single-statement write outside a transaction block,
// retried like write; a write that stays busy is ServiceUnavailable.
func (s *Store) writeOne(ctx context.Context, fn func(w driver.Executor) error) error {
	return busyError(s.retry.Do(ctx, func() error { return fn(s.d.Writer()) }))
}

// read returns the executor for reads outside a transaction.
func (s *Store) read() driver.Executor { return s.d.Reader() }

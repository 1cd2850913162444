package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bingsan/bingsan/gen/pgdb"
)

// EventsChannel is the NOTIFY channel on which nodes announce that they
// committed events (announcer).
const EventsChannel = "bingsan_events"

// PruneLockKey is the session advisory lock that lets one node at a time
// prune events ("bingsan" and a 1 in its bytes; goose uses another key).
const PruneLockKey int64 = 0x62696e6773616e01

// SequencerLockKey is the transaction advisory lock under which one
// transaction at a time numbers committed events.
const SequencerLockKey int64 = 0x62696e6773616e02

// numberBatch bounds the events one numbering transaction gives ids to.
const numberBatch = 5000

// SequenceEvents gives ids to committed events that have none, waiting for
// a numbering transaction of another session to finish first, so that
// every event committed before the call is numbered when it returns.
// Nobody needs telling afterwards: the writers of the events announced
// them, and every reader numbers before it reads.
func (d *Driver) SequenceEvents(ctx context.Context) error {
	for {
		n, err := d.numberBatch(ctx)
		if err != nil || n < numberBatch {
			return err
		}
	}
}

func (d *Driver) numberBatch(ctx context.Context) (int64, error) {
	// Pipelined: the lock travels with the numbering.
	tx, err := beginPipeline(ctx, d.pool, "begin")
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it is a no-op
	if err := d.q.AdvisoryXactLock(ctx, tx, SequencerLockKey); err != nil {
		return 0, interpret(err)
	}
	n, err := d.q.NumberEvents(ctx, tx, numberBatch)
	if err != nil {
		return 0, interpret(err)
	}
	return n, tx.Commit(ctx)
}

// AnnounceEvents tells every node, soon, that events were committed.
func (d *Driver) AnnounceEvents() { d.announce.request() }

// announcer sends the NOTIFY that wakes the nodes' LISTEN connections,
// after the writers' transactions, from one goroutine per node, at most
// one per announceGap: requests arriving meanwhile are answered together
// by the next one. A lone write is announced at once; under load a node
// sends at most 200 a second rather than one per commit, each of which
// wakes every node's listener and broker.
//
// A NOTIFY inside the writer's transaction would have been atomic with
// it, but PostgreSQL serializes the commits of notifying transactions,
// WAL flush included, under one database-wide lock: mutations of
// different tables would commit one at a time. A wake-up lost here (the
// node dies between its commit and the NOTIFY) delays subscribers of
// other nodes until their broker's next poll; it loses nothing, since
// readers read the outbox.
type announcer struct {
	pool    *pgxpool.Pool
	q       *pgdb.Queries
	pending chan struct{} // holds a value while a NOTIFY is owed
	stop    chan struct{}
	done    chan struct{}
	closing sync.Once
}

const (
	// announceGap is the least time between two NOTIFYs of a node: what
	// it may add to the delay of an event reaching another node's
	// subscribers while this node writes steadily.
	announceGap = 5 * time.Millisecond
	// announceTimeout bounds one NOTIFY; a failed one is not retried
	// (the readers poll).
	announceTimeout = 5 * time.Second
)

func startAnnouncer(pool *pgxpool.Pool, q *pgdb.Queries) *announcer {
	a := &announcer{pool: pool, q: q, pending: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go a.run()
	return a
}

func (a *announcer) request() { signal(a.pending) }

func (a *announcer) run() {
	defer close(a.done)
	var last time.Time
	for {
		select {
		case <-a.pending:
		case <-a.stop:
			select { // owed by a write that finished before Close
			case <-a.pending:
				a.notify()
			default:
			}
			return
		}
		if wait := announceGap - time.Since(last); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-a.stop:
				t.Stop()
				a.notify()
				return
			}
		}
		// Writes that finish from here on request another NOTIFY: this
		// one may reach the listeners before their commits.
		last = time.Now()
		a.notify()
	}
}

func (a *announcer) notify() {
	ctx, cancel := context.WithTimeout(context.Background(), announceTimeout)
	defer cancel()
	_ = a.q.NotifyEvents(ctx, a.pool, EventsChannel)
}

// close sends what is owed and stops the goroutine; the pool must still
// be open.
func (a *announcer) close() {
	a.closing.Do(func() { close(a.stop) })
	<-a.done
}

// TryLockPrune holds a session advisory lock on a connection of its own
// until unlock, so that nodes pruning on the same schedule do not do the
// work twice or delete under each other.
func (d *Driver) TryLockPrune(ctx context.Context) (func(), bool, error) {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return nil, false, interpret(err)
	}
	locked, err := d.q.TryAdvisoryLock(ctx, conn, PruneLockKey)
	if err != nil || !locked {
		conn.Release()
		return nil, false, interpret(err)
	}
	return func() {
		defer conn.Release()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if ok, err := d.q.AdvisoryUnlock(ctx, conn, PruneLockKey); err != nil || !ok {
			// A connection that may still hold the lock must not go
			// back to the pool; closing it ends the session and the lock.
			_ = conn.Conn().Close(ctx)
		}
	}, true, nil
}

// ListenEvents listens on a connection of its own (outside the pool),
// reconnecting with backoff when it breaks; every (re)connect is followed
// by one wake-up for what may have been missed meanwhile.
func (d *Driver) ListenEvents(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	go func() {
		defer close(ch)
		delay := 100 * time.Millisecond
		for ctx.Err() == nil {
			if d.listen(ctx, ch) {
				delay = 100 * time.Millisecond
			}
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			delay = min(2*delay, 5*time.Second)
		}
	}()
	return ch
}

// listen connects, LISTENs and signals ch for every notification until the
// connection fails or ctx ends. It reports whether it got as far as
// listening.
func (d *Driver) listen(ctx context.Context, ch chan<- struct{}) bool {
	conn, err := pgx.ConnectConfig(ctx, d.pool.Config().ConnConfig.Copy())
	if err != nil {
		return false
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{EventsChannel}.Sanitize()); err != nil {
		return false
	}
	signal(ch)
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true
		}
		signal(ch)
	}
}

// signal puts a value in ch unless one is already waiting there.
func signal(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

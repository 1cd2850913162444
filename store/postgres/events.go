package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// EventsChannel is the NOTIFY channel that the events trigger
// (sql/migrations/postgres/00002_events.sql) signals on every commit that
// wrote events.
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
// every event committed before the call is numbered when it returns. It
// notifies the nodes when it numbered anything: their brokers read the new
// ids.
func (d *Driver) SequenceEvents(ctx context.Context) error {
	for {
		n, err := d.numberBatch(ctx)
		if err != nil || n < numberBatch {
			return err
		}
	}
}

func (d *Driver) numberBatch(ctx context.Context) (int64, error) {
	// Pipelined: the lock travels with the numbering, the notification
	// with the commit.
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
	if n > 0 {
		if err := d.q.NotifyEvents(ctx, tx, EventsChannel); err != nil {
			return 0, interpret(err)
		}
	}
	return n, tx.Commit(ctx)
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

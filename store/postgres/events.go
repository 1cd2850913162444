package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bingsan/bingsan/gen/pgdb"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/internal/backend"
)

// PruneLockKey is the session advisory lock that lets one node at a time
// prune events ("bingsan" and a 1 in its bytes; goose uses another key).
const PruneLockKey int64 = 0x62696e6773616e01

// insertEvent writes one event; see insertEvents.
func (s *Store) insertEvent(ctx context.Context, tx pgx.Tx, typ store.EventType, warehouse, namespace, name string, d store.EventDetails) error {
	row, err := backend.NewEventRow(ctx, typ, warehouse, namespace, name, d)
	if err != nil {
		return err
	}
	return s.insertEvents(ctx, tx, row)
}

// insertEvents writes rows without ids (see the migration): the sequencer
// numbers them once tx has committed.
func (s *Store) insertEvents(ctx context.Context, tx pgx.Tx, rows ...backend.EventRow) error {
	p := pgdb.InsertEventsParams{
		Types:      make([]string, len(rows)),
		Warehouses: make([]string, len(rows)),
		Namespaces: make([]string, len(rows)),
		Names:      make([]string, len(rows)),
		Details:    make([]string, len(rows)),
	}
	for i, r := range rows {
		p.Types[i], p.Warehouses[i], p.Namespaces[i], p.Names[i], p.Details[i] = string(r.Type), r.Warehouse, r.Namespace, r.Name, string(r.Details)
	}
	_, err := s.q.InsertEvents(ctx, tx, p)
	return err
}

// SequencerLockKey is the transaction advisory lock under which one
// transaction at a time numbers committed events.
const SequencerLockKey int64 = 0x62696e6773616e02

// numberBatch bounds the events one numbering transaction gives ids to.
const numberBatch = 5000

// numberEvents gives ids to committed events that have none, waiting for a
// numbering transaction of another session to finish first, so that every
// event committed before the call is numbered when it returns. It notifies
// the nodes when it numbered anything: their brokers read the new ids.
func (s *Store) numberEvents(ctx context.Context) error {
	for {
		n, err := s.numberBatch(ctx)
		if err != nil || n < numberBatch {
			return err
		}
	}
}

func (s *Store) numberBatch(ctx context.Context) (int64, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, interpret(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it is a no-op
	if err := s.q.AdvisoryXactLock(ctx, tx, SequencerLockKey); err != nil {
		return 0, interpret(err)
	}
	n, err := s.q.NumberEvents(ctx, tx, numberBatch)
	if err != nil {
		return 0, interpret(err)
	}
	if n > 0 {
		if err := s.q.NotifyEvents(ctx, tx, backend.EventsChannel); err != nil {
			return 0, interpret(err)
		}
	}
	return n, interpret(tx.Commit(ctx))
}

func (s *Store) ListEvents(ctx context.Context, after int64, limit int) ([]store.Event, error) {
	if err := s.numberEvents(ctx); err != nil {
		return nil, err
	}
	rows, err := s.q.ListEvents(ctx, s.pool, pgdb.ListEventsParams{After: after, Lim: backend.Limit(store.Page{Limit: limit})})
	if err != nil {
		return nil, interpret(err)
	}
	out := make([]store.Event, len(rows))
	for i, r := range rows {
		if out[i], err = backend.DecodeEvent(r.ID, r.Type, r.CreatedAt, r.Warehouse, r.Namespace, r.Name, r.Details); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) LastEventID(ctx context.Context) (int64, error) {
	if err := s.numberEvents(ctx); err != nil {
		return 0, err
	}
	id, err := s.q.LastEventID(ctx, s.pool)
	return id, interpret(err)
}

// PruneEvents holds a session advisory lock on a connection of its own for
// the whole run, so that nodes pruning on the same schedule do not do the
// work twice or delete under each other; a node that does not get the lock
// returns at once.
func (s *Store) PruneEvents(ctx context.Context, before time.Time) (int64, error) {
	// Pruning goes by id: events still unnumbered would be skipped.
	if err := s.numberEvents(ctx); err != nil {
		return 0, err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return 0, interpret(err)
	}
	defer conn.Release()
	locked, err := s.q.TryAdvisoryLock(ctx, conn, PruneLockKey)
	if err != nil {
		return 0, interpret(err)
	}
	if !locked {
		return 0, nil
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if ok, err := s.q.AdvisoryUnlock(ctx, conn, PruneLockKey); err != nil || !ok {
			// A connection that may still hold the lock must not go
			// back to the pool; closing it ends the session and the lock.
			_ = conn.Conn().Close(ctx)
		}
	}()
	through, err := s.q.EventPruneThrough(ctx, conn, before)
	if err != nil || through == 0 {
		return 0, interpret(err)
	}
	var total int64
	for {
		n, err := s.q.DeleteEventsThrough(ctx, conn, pgdb.DeleteEventsThroughParams{Through: through, Lim: backend.PruneBatch})
		total += n
		if err != nil {
			return total, interpret(err)
		}
		if n < numberBatch {
			return total, nil
		}
	}
}

// EventWakeups listens on a connection of its own (outside the pool),
// reconnecting with backoff when it breaks; every (re)connect is followed
// by one wake-up for what may have been missed meanwhile.
func (s *Store) EventWakeups(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	go func() {
		defer close(ch)
		delay := 100 * time.Millisecond
		for ctx.Err() == nil {
			if s.listen(ctx, ch) {
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
func (s *Store) listen(ctx context.Context, ch chan<- struct{}) bool {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return false
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{backend.EventsChannel}.Sanitize()); err != nil {
		return false
	}
	backend.Signal(ch)
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true
		}
		backend.Signal(ch)
	}
}

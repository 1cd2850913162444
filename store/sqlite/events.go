package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/bingsan/bingsan/gen/sqlitedb"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/internal/backend"
)

// writeEvents is write for mutations, which write events: once the
// transaction has committed, this process's readers of events are woken.
// Other processes on the same file are not; they find the events when they
// poll.
func (s *Store) writeEvents(ctx context.Context, fn func(tx *sql.Tx) error) error {
	err := s.write(ctx, fn)
	if err == nil {
		s.wakeups.Wake()
	}
	return err
}

// insertEvent writes one event; see insertEvents.
func (s *Store) insertEvent(ctx context.Context, tx *sql.Tx, typ store.EventType, warehouse, namespace, name string, d store.EventDetails) error {
	row, err := backend.NewEventRow(ctx, typ, warehouse, namespace, name, d)
	if err != nil {
		return err
	}
	return s.insertEvents(ctx, tx, row)
}

// insertEvents writes rows with the next ids, as the last statements of a
// mutation's transaction.
func (s *Store) insertEvents(ctx context.Context, tx *sql.Tx, rows ...backend.EventRow) error {
	last, err := s.q.NextEventIDs(ctx, tx, int64(len(rows)))
	if err != nil {
		return err
	}
	now := micros(time.Now())
	for i, r := range rows {
		if err := s.q.InsertEvent(ctx, tx, sqlitedb.InsertEventParams{
			ID: last - int64(len(rows)-1-i), Type: string(r.Type), CreatedAt: now,
			Warehouse: r.Warehouse, Namespace: r.Namespace, Name: r.Name, Details: string(r.Details),
		}); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) ListEvents(ctx context.Context, after int64, limit int) ([]store.Event, error) {
	rows, err := s.q.ListEvents(ctx, s.reader, sqlitedb.ListEventsParams{After: after, Lim: int64(backend.Limit(store.Page{Limit: limit}))})
	if err != nil {
		return nil, interpret(err)
	}
	out := make([]store.Event, len(rows))
	for i, r := range rows {
		if out[i], err = backend.DecodeEvent(r.ID, r.Type, fromMicros(r.CreatedAt), r.Warehouse, r.Namespace, r.Name, []byte(r.Details)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) LastEventID(ctx context.Context) (int64, error) {
	id, err := s.q.LastEventID(ctx, s.reader)
	return id, interpret(err)
}

// PruneEvents deletes in batches, each its own write transaction, so that
// pruning a backlog never holds up other writers for long. One process owns
// the file, so no lock between nodes is needed.
func (s *Store) PruneEvents(ctx context.Context, before time.Time) (int64, error) {
	through, err := s.q.EventPruneThrough(ctx, s.reader, micros(before))
	if err != nil || through == 0 {
		return 0, interpret(err)
	}
	var total int64
	for {
		var n int64
		err := s.write(ctx, func(tx *sql.Tx) error {
			var err error
			n, err = s.q.DeleteEventsThrough(ctx, tx, sqlitedb.DeleteEventsThroughParams{Through: through, Lim: backend.PruneBatch})
			return err
		})
		total += n
		if err != nil {
			return total, backend.BusyError(err)
		}
		if n < backend.PruneBatch {
			return total, nil
		}
	}
}

func (s *Store) EventWakeups(ctx context.Context) <-chan struct{} { return s.wakeups.Subscribe(ctx) }

package core

import (
	"context"
	"errors"
	"time"

	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/driver"
)

// writeEvents is write for mutations, which write events: once the
// transaction has committed (or may have), the readers are woken.
func (s *Store) writeEvents(ctx context.Context, fn func(tx driver.Tx) error) error {
	err := s.write(ctx, fn)
	s.eventsWritten(err)
	return err
}

// eventsWritten wakes the readers of events after a write that committed
// events, or may have (err is the write's outcome): every process's
// readers through the driver's EventListener, or this process's.
func (s *Store) eventsWritten(err error) {
	if err != nil && !errors.Is(err, driver.ErrOutcomeUnknown) {
		return
	}
	if s.listener != nil {
		s.listener.AnnounceEvents()
		return
	}
	s.wakeups.Wake()
}

// insertEvent writes one event about namespace (joined key) or the entity
// name in it.
func insertEvent(ctx context.Context, tx driver.Executor, typ store.EventType, warehouse, namespace, name string, d store.EventDetails) error {
	row, err := newEventRow(ctx, typ, warehouse, namespace, name, d)
	if err != nil {
		return err
	}
	return tx.InsertEvents(ctx, []driver.EventRow{row}, time.Now())
}

// sequence numbers the committed events, for a driver that numbers them
// after commit.
func (s *Store) sequence(ctx context.Context) error {
	if s.sequencer == nil {
		return nil
	}
	return s.sequencer.SequenceEvents(ctx)
}

func (s *Store) ListEvents(ctx context.Context, after int64, limit int) ([]store.Event, error) {
	if err := s.sequence(ctx); err != nil {
		return nil, err
	}
	rows, err := s.read().ListEvents(ctx, after, sqlLimit(store.Page{Limit: limit}))
	if err != nil {
		return nil, err
	}
	out := make([]store.Event, len(rows))
	for i, r := range rows {
		if out[i], err = decodeEvent(r.ID, r.Type, r.Time, r.Warehouse, r.Namespace, r.Name, r.Details); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) LastEventID(ctx context.Context) (int64, error) {
	if err := s.sequence(ctx); err != nil {
		return 0, err
	}
	return s.read().LastEventID(ctx)
}

// PruneEvents deletes in batches, each its own statement, so that pruning a
// backlog never holds up writers for long. With a PruneLocker one process
// at a time prunes; the others return at once.
func (s *Store) PruneEvents(ctx context.Context, before time.Time) (int64, error) {
	// Pruning goes by id: events still unnumbered would be skipped.
	if err := s.sequence(ctx); err != nil {
		return 0, err
	}
	if s.pruneLocker != nil {
		unlock, ok, err := s.pruneLocker.TryLockPrune(ctx)
		if err != nil || !ok {
			return 0, err
		}
		defer unlock()
	}
	through, err := s.read().EventPruneThrough(ctx, before)
	if err != nil || through == 0 {
		return 0, err
	}
	var total int64
	for {
		var n int64
		err := s.writeOne(ctx, func(w driver.Executor) (err error) {
			n, err = w.DeleteEventsThrough(ctx, through, pruneBatch)
			return err
		})
		total += n
		if err != nil || n < pruneBatch {
			return total, err
		}
	}
}

func (s *Store) EventWakeups(ctx context.Context) <-chan struct{} {
	if s.listener != nil {
		return s.listener.ListenEvents(ctx)
	}
	return s.wakeups.Subscribe(ctx)
}

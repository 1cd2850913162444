package core

import (
	"context"
	"time"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/driver"
)

func (s *Store) BeginIdempotent(ctx context.Context, rec store.IdempotencyRecord) (store.IdempotencyRecord, bool, error) {
	if rec.Key == "" {
		return store.IdempotencyRecord{}, false, errs.New(errs.BadRequest, "Idempotency key must not be empty")
	}
	// The insert and the read of a live record are two statements; a record
	// that expires or is abandoned in between just means trying again.
	for range 3 {
		err := s.writeOne(ctx, func(w driver.Executor) error { return w.BeginIdempotencyKey(ctx, rec, time.Now()) })
		if err == nil {
			rec.Status, rec.Body, rec.Done = 0, nil, false
			return rec, true, nil
		}
		if !isNoRows(err) {
			return store.IdempotencyRecord{}, false, err
		}
		row, err := s.read().GetIdempotencyKey(ctx, rec.Key)
		if isNoRows(err) {
			continue
		}
		if err != nil {
			return store.IdempotencyRecord{}, false, err
		}
		out := row.IdempotencyRecord
		out.Outcome = decodeOutcome(row.Outcome)
		return out, false, nil
	}
	return store.IdempotencyRecord{}, false, errs.New(errs.ServiceUnavailable, "Idempotency key %q is contended; try again", rec.Key)
}

func (s *Store) FinishIdempotent(ctx context.Context, rec store.IdempotencyRecord) error {
	var n int64
	err := s.writeOne(ctx, func(w driver.Executor) (err error) {
		n, err = w.FinishIdempotencyKey(ctx, rec.Key, rec.Status, rec.Body, rec.ExpiresAt)
		return err
	})
	return affected(n, err, errs.New(errs.NotFound, "Idempotency key %q is not recorded", rec.Key))
}

func (s *Store) AbandonIdempotent(ctx context.Context, key string) error {
	return s.writeOne(ctx, func(w driver.Executor) error { return w.AbandonIdempotencyKey(ctx, key) })
}

func (s *Store) PruneIdempotent(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.writeOne(ctx, func(w driver.Executor) (err error) {
		n, err = w.PruneIdempotencyKeys(ctx, before)
		return err
	})
	return n, err
}

// markIdempotent marks the Idempotency-Keys of a mutation committed, with
// its outcome, on the mutation's own transaction.
func markIdempotent(ctx context.Context, tx driver.Executor, o store.IdempotentOutcome, commits ...store.Commit) error {
	keys, expires := idempotencyMarks(ctx, commits...)
	if len(keys) == 0 {
		return nil
	}
	return tx.MarkIdempotencyCommitted(ctx, keys, encodeOutcome(o), expires)
}

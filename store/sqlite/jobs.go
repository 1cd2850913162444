package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/gen/sqlitedb"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/internal/backend"
)

// Single statements below go straight to the writer: each is its own
// transaction, and the one connection serializes them with everything else.

func (s *Store) BeginIdempotent(ctx context.Context, rec store.IdempotencyRecord) (store.IdempotencyRecord, bool, error) {
	if rec.Key == "" {
		return store.IdempotencyRecord{}, false, errs.New(errs.BadRequest, "Idempotency key must not be empty")
	}
	for range 3 {
		_, err := s.q.BeginIdempotencyKey(ctx, s.writer, sqlitedb.BeginIdempotencyKeyParams{
			Key: rec.Key, Operation: rec.Operation, RequestHash: rec.RequestHash,
			ExpiresAt: micros(rec.ExpiresAt), Now: micros(time.Now()),
		})
		if err == nil {
			rec.Status, rec.Body, rec.Done = 0, nil, false
			return rec, true, nil
		}
		if !isNoRows(err) {
			return store.IdempotencyRecord{}, false, backend.BusyError(interpret(err))
		}
		row, err := s.q.GetIdempotencyKey(ctx, s.reader, rec.Key)
		if isNoRows(err) {
			continue
		}
		if err != nil {
			return store.IdempotencyRecord{}, false, backend.BusyError(interpret(err))
		}
		return idempotencyFromRow(row), false, nil
	}
	return store.IdempotencyRecord{}, false, errs.New(errs.ServiceUnavailable, "Idempotency key %q is contended; try again", rec.Key)
}

func (s *Store) FinishIdempotent(ctx context.Context, rec store.IdempotencyRecord) error {
	n, err := s.q.FinishIdempotencyKey(ctx, s.writer, sqlitedb.FinishIdempotencyKeyParams{
		Key: rec.Key, Status: int64(rec.Status), Body: rec.Body, ExpiresAt: nullMicros(rec.ExpiresAt),
	})
	if err != nil {
		return backend.BusyError(interpret(err))
	}
	if n == 0 {
		return errs.New(errs.NotFound, "Idempotency key %q is not recorded", rec.Key)
	}
	return nil
}

func (s *Store) AbandonIdempotent(ctx context.Context, key string) error {
	return backend.BusyError(interpret(s.q.AbandonIdempotencyKey(ctx, s.writer, key)))
}

func (s *Store) PruneIdempotent(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.q.PruneIdempotencyKeys(ctx, s.writer, micros(before))
	return n, backend.BusyError(interpret(err))
}

func (s *Store) ClaimPurgeJobs(ctx context.Context, n int, now, leaseUntil time.Time) ([]store.PurgeJob, error) {
	if n <= 0 {
		return nil, nil
	}
	rows, err := s.q.ClaimPurgeJobs(ctx, s.writer, sqlitedb.ClaimPurgeJobsParams{
		Now: micros(now), LeaseUntil: nullMicros(leaseUntil), Lim: int64(backend.Limit(store.Page{Limit: n})),
	})
	if err != nil {
		return nil, backend.BusyError(interpret(err))
	}
	jobs := make([]store.PurgeJob, len(rows))
	for i, r := range rows {
		jobs[i] = purgeJobFromRow(r)
		if jobs[i].Claims, err = s.q.OwnedClaims(ctx, s.reader, sqlitedb.OwnedClaimsParams{OwnerKind: backend.ClaimPurge, OwnerID: r.ID}); err != nil {
			return nil, interpret(err)
		}
	}
	slices.SortFunc(jobs, func(a, b store.PurgeJob) int { return cmp.Compare(a.ID, b.ID) })
	return jobs, nil
}

func (s *Store) CompletePurgeJob(ctx context.Context, id int64) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		n, err := s.q.CompletePurgeJob(ctx, tx, id)
		if err != nil {
			return err
		}
		if n == 0 {
			return errs.New(errs.NotFound, "Purge job %d does not exist", id)
		}
		// The files are gone (or given up): their locations are free.
		return s.q.DeleteClaims(ctx, tx, sqlitedb.DeleteClaimsParams{OwnerKind: backend.ClaimPurge, OwnerID: id})
	})
	return backend.BusyError(err)
}

func (s *Store) RetryPurgeJob(ctx context.Context, id int64, retryAt time.Time, lastError string) error {
	n, err := s.q.RetryPurgeJob(ctx, s.writer, sqlitedb.RetryPurgeJobParams{ID: id, RetryAt: micros(retryAt), LastError: lastError})
	if err != nil {
		return backend.BusyError(interpret(err))
	}
	if n == 0 {
		return errs.New(errs.NotFound, "Purge job %d does not exist", id)
	}
	return nil
}

// markIdempotent marks the Idempotency-Keys of a mutation committed, with
// its outcome, on the mutation's own transaction.
func (s *Store) markIdempotent(ctx context.Context, tx *sql.Tx, o store.IdempotentOutcome, commits ...store.Commit) error {
	keys, expires := backend.IdempotencyMarks(ctx, commits...)
	if len(keys) == 0 {
		return nil
	}
	return s.q.MarkIdempotencyCommitted(ctx, tx, sqlitedb.MarkIdempotencyCommittedParams{
		Outcome: backend.EncodeOutcome(o), ExpiresAt: micros(expires), Keys: keys,
	})
}

func (s *Store) CountPurgeJobs(ctx context.Context) (int64, error) {
	n, err := s.q.CountPurgeJobs(ctx, s.reader)
	return n, interpret(err)
}

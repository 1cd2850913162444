package postgres

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/gen/pgdb"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/internal/backend"
)

func (s *Store) BeginIdempotent(ctx context.Context, rec store.IdempotencyRecord) (store.IdempotencyRecord, bool, error) {
	if rec.Key == "" {
		return store.IdempotencyRecord{}, false, errs.New(errs.BadRequest, "Idempotency key must not be empty")
	}
	// The insert and the read of a live record are two statements; a record
	// that expires or is abandoned in between just means trying again.
	for range 3 {
		_, err := s.q.BeginIdempotencyKey(ctx, s.pool, pgdb.BeginIdempotencyKeyParams{
			Key: rec.Key, Operation: rec.Operation, RequestHash: rec.RequestHash, ExpiresAt: rec.ExpiresAt, Now: time.Now(),
		})
		if err == nil {
			rec.Status, rec.Body, rec.Done = 0, nil, false
			return rec, true, nil
		}
		if !isNoRows(err) {
			return store.IdempotencyRecord{}, false, interpret(err)
		}
		row, err := s.q.GetIdempotencyKey(ctx, s.pool, rec.Key)
		if isNoRows(err) {
			continue
		}
		if err != nil {
			return store.IdempotencyRecord{}, false, interpret(err)
		}
		return idempotencyFromRow(row), false, nil
	}
	return store.IdempotencyRecord{}, false, errs.New(errs.ServiceUnavailable, "Idempotency key %q is contended; try again", rec.Key)
}

func (s *Store) FinishIdempotent(ctx context.Context, rec store.IdempotencyRecord) error {
	var expires *time.Time
	if !rec.ExpiresAt.IsZero() {
		expires = &rec.ExpiresAt
	}
	n, err := s.q.FinishIdempotencyKey(ctx, s.pool, pgdb.FinishIdempotencyKeyParams{
		Key: rec.Key, Status: int32(rec.Status), Body: rec.Body, ExpiresAt: expires,
	})
	if err != nil {
		return interpret(err)
	}
	if n == 0 {
		return errs.New(errs.NotFound, "Idempotency key %q is not recorded", rec.Key)
	}
	return nil
}

func (s *Store) AbandonIdempotent(ctx context.Context, key string) error {
	return interpret(s.q.AbandonIdempotencyKey(ctx, s.pool, key))
}

func (s *Store) PruneIdempotent(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.q.PruneIdempotencyKeys(ctx, s.pool, before)
	return n, interpret(err)
}

func (s *Store) ClaimPurgeJobs(ctx context.Context, n int, now, leaseUntil time.Time) ([]store.PurgeJob, error) {
	if n <= 0 {
		return nil, nil
	}
	rows, err := s.q.ClaimPurgeJobs(ctx, s.pool, pgdb.ClaimPurgeJobsParams{
		Now: now, LeaseUntil: &leaseUntil, Lim: backend.Limit(store.Page{Limit: n}),
	})
	if err != nil {
		return nil, interpret(err)
	}
	jobs := make([]store.PurgeJob, len(rows))
	for i, r := range rows {
		jobs[i] = purgeJobFromRow(r)
		if jobs[i].Claims, err = s.q.OwnedClaims(ctx, s.pool, pgdb.OwnedClaimsParams{OwnerKind: backend.ClaimPurge, OwnerID: r.ID}); err != nil {
			return nil, interpret(err)
		}
	}
	// RETURNING has no order; ids follow queueing order.
	slices.SortFunc(jobs, func(a, b store.PurgeJob) int { return cmp.Compare(a.ID, b.ID) })
	return jobs, nil
}

func (s *Store) CompletePurgeJob(ctx context.Context, id int64) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		n, err := s.q.CompletePurgeJob(ctx, tx, id)
		if err != nil {
			return err
		}
		if n == 0 {
			return errs.New(errs.NotFound, "Purge job %d does not exist", id)
		}
		// The files are gone (or given up): their locations are free.
		return s.q.DeleteClaims(ctx, tx, pgdb.DeleteClaimsParams{OwnerKind: backend.ClaimPurge, OwnerID: id})
	})
	return backend.BusyError(err)
}

func (s *Store) RetryPurgeJob(ctx context.Context, id int64, retryAt time.Time, lastError string) error {
	n, err := s.q.RetryPurgeJob(ctx, s.pool, pgdb.RetryPurgeJobParams{ID: id, RetryAt: retryAt, LastError: lastError})
	if err != nil {
		return interpret(err)
	}
	if n == 0 {
		return errs.New(errs.NotFound, "Purge job %d does not exist", id)
	}
	return nil
}

// markIdempotent marks the Idempotency-Keys of a mutation committed, with
// its outcome, on the mutation's own transaction.
func (s *Store) markIdempotent(ctx context.Context, tx pgx.Tx, o store.IdempotentOutcome, commits ...store.Commit) error {
	keys, expires := backend.IdempotencyMarks(ctx, commits...)
	if len(keys) == 0 {
		return nil
	}
	return s.q.MarkIdempotencyCommitted(ctx, tx, pgdb.MarkIdempotencyCommittedParams{
		Outcome: backend.EncodeOutcome(o), ExpiresAt: expires, Keys: keys,
	})
}

func (s *Store) CountPurgeJobs(ctx context.Context) (int64, error) {
	n, err := s.q.CountPurgeJobs(ctx, s.pool)
	return n, interpret(err)
}

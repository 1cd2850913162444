package core

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/driver"
)

func (s *Store) ClaimPurgeJobs(ctx context.Context, n int, now, leaseUntil time.Time) ([]store.PurgeJob, error) {
	if n <= 0 {
		return nil, nil
	}
	var jobs []store.PurgeJob
	err := s.writeOne(ctx, func(w driver.Executor) (err error) {
		jobs, err = w.ClaimPurgeJobs(ctx, now, leaseUntil, sqlLimit(store.Page{Limit: n}))
		return err
	})
	if err != nil {
		return nil, err
	}
	for i := range jobs {
		if jobs[i].Claims, err = s.read().OwnedClaims(ctx, claimPurge, jobs[i].ID); err != nil {
			return nil, err
		}
	}
	// RETURNING has no order; ids follow queueing order.
	slices.SortFunc(jobs, func(a, b store.PurgeJob) int { return cmp.Compare(a.ID, b.ID) })
	return jobs, nil
}

func (s *Store) CompletePurgeJob(ctx context.Context, id int64) error {
	err := s.write(ctx, func(tx driver.Tx) error {
		n, err := tx.CompletePurgeJob(ctx, id)
		if err := affected(n, err, errs.New(errs.NotFound, "Purge job %d does not exist", id)); err != nil {
			return err
		}
		// The files are gone (or given up): their locations are free.
		return tx.DeleteClaims(ctx, claimPurge, id)
	})
	return busyError(err)
}

func (s *Store) RetryPurgeJob(ctx context.Context, id int64, retryAt time.Time, lastError string) error {
	var n int64
	err := s.writeOne(ctx, func(w driver.Executor) (err error) {
		n, err = w.RetryPurgeJob(ctx, id, retryAt, lastError)
		return err
	})
	return affected(n, err, errs.New(errs.NotFound, "Purge job %d does not exist", id))
}

func (s *Store) CountPurgeJobs(ctx context.Context) (int64, error) {
	return s.read().CountPurgeJobs(ctx)
}

func (s *Store) SharedClaims(ctx context.Context, keys []string, before time.Time) ([]string, error) {
	var out []string
	for _, k := range keys {
		shared, err := s.read().SharedClaims(ctx, k, ancestorKeys(k), keyEnd(k), before)
		if err != nil {
			return nil, err
		}
		out = append(out, shared...)
	}
	return out, nil
}

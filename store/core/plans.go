package core

import (
	"context"
	"time"

	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/driver"
)

func (s *Store) CreatePlan(ctx context.Context, p store.Plan) error {
	return s.writeOne(ctx, func(w driver.Executor) error { return w.InsertScanPlan(ctx, p) })
}

func (s *Store) GetPlan(ctx context.Context, id string) (store.Plan, error) {
	p, err := s.read().GetScanPlan(ctx, id)
	if isNoRows(err) {
		return store.Plan{}, noSuchPlan(id)
	}
	return p, err
}

func (s *Store) DeletePlan(ctx context.Context, id string) error {
	return s.writeOne(ctx, func(w driver.Executor) error { return w.DeleteScanPlan(ctx, id) })
}

// changed runs a single-statement write that reports the rows it changed.
func (s *Store) changed(ctx context.Context, fn func(w driver.Executor) (int64, error)) (bool, error) {
	var n int64
	err := s.writeOne(ctx, func(w driver.Executor) (err error) {
		n, err = fn(w)
		return err
	})
	return n > 0, err
}

func (s *Store) AddPlanChunk(ctx context.Context, planID, owner string, seq int, tasks int, payload []byte) (bool, error) {
	return s.changed(ctx, func(w driver.Executor) (int64, error) {
		return w.InsertScanPlanChunk(ctx, planID, owner, seq, tasks, payload)
	})
}

func (s *Store) GetPlanChunk(ctx context.Context, planID string, seq int) ([]byte, error) {
	b, err := s.read().GetScanPlanChunk(ctx, planID, seq)
	if isNoRows(err) {
		return nil, noSuchPlanChunk(planID, seq)
	}
	return b, err
}

func (s *Store) RenewPlanLease(ctx context.Context, planID, owner string, until time.Time) (bool, error) {
	return s.changed(ctx, func(w driver.Executor) (int64, error) { return w.RenewScanPlanLease(ctx, planID, owner, until) })
}

func (s *Store) FinishPlan(ctx context.Context, planID, owner string, out store.PlanOutcome) (bool, error) {
	return s.changed(ctx, func(w driver.Executor) (int64, error) { return w.FinishScanPlan(ctx, planID, owner, out) })
}

func (s *Store) CancelPlan(ctx context.Context, planID string) (bool, error) {
	var cancelled bool
	err := s.write(ctx, func(tx driver.Tx) error {
		n, err := tx.CancelScanPlan(ctx, planID)
		if err != nil {
			return err
		}
		cancelled = n > 0
		return tx.DeleteScanPlanChunks(ctx, planID)
	})
	return cancelled, busyError(err)
}

func (s *Store) ReleasePlans(ctx context.Context, owner string) (int64, error) {
	var n int64
	err := s.writeOne(ctx, func(w driver.Executor) (err error) {
		n, err = w.ReleaseScanPlans(ctx, owner)
		return err
	})
	return n, err
}

func (s *Store) ClaimPlans(ctx context.Context, owner string, n int, now, leaseUntil time.Time) ([]store.Plan, error) {
	if n <= 0 {
		return nil, nil
	}
	var plans []store.Plan
	err := s.write(ctx, func(tx driver.Tx) error {
		var err error
		if plans, err = tx.ClaimScanPlans(ctx, owner, now, leaseUntil, sqlLimit(store.Page{Limit: n})); err != nil {
			return err
		}
		for _, p := range plans {
			// An earlier attempt's chunks are planned again from the start.
			if err := tx.DeleteScanPlanChunks(ctx, p.ID); err != nil {
				return err
			}
		}
		return nil
	})
	sortPlans(plans) // RETURNING has no order
	return plans, busyError(err)
}

func (s *Store) DeleteExpiredPlans(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.writeOne(ctx, func(w driver.Executor) (err error) {
		n, err = w.DeleteExpiredScanPlans(ctx, now)
		return err
	})
	return n, err
}

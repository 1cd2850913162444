package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bingsan/bingsan/gen/pgdb"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/internal/backend"
)

var _ store.PlanStore = (*Store)(nil)

func (s *Store) CreatePlan(ctx context.Context, p store.Plan) error {
	return interpret(s.q.InsertScanPlan(ctx, s.pool, pgdb.InsertScanPlanParams{
		ID: p.ID, Warehouse: p.Table.Warehouse, Namespace: strings.Join(p.Table.Namespace, store.NamespaceSeparator),
		TableName: p.Table.Name, Principal: p.Principal, Status: string(p.Status), Request: p.Request,
		MetadataLocation: p.MetadataLocation, Owner: p.Owner, LeaseUntil: timePtr(p.LeaseUntil),
		Attempts: int32(p.Attempts), CreatedAt: p.CreatedAt, ExpiresAt: p.ExpiresAt,
	}))
}

func (s *Store) GetPlan(ctx context.Context, id string) (store.Plan, error) {
	r, err := s.q.GetScanPlan(ctx, s.pool, id)
	if isNoRows(err) {
		return store.Plan{}, backend.NoSuchPlan(id)
	}
	if err != nil {
		return store.Plan{}, interpret(err)
	}
	return planFromRow(r), nil
}

func (s *Store) DeletePlan(ctx context.Context, id string) error {
	return interpret(s.q.DeleteScanPlan(ctx, s.pool, id))
}

func (s *Store) AddPlanChunk(ctx context.Context, planID, owner string, seq int, tasks int, payload []byte) (bool, error) {
	n, err := s.q.InsertScanPlanChunk(ctx, s.pool, pgdb.InsertScanPlanChunkParams{
		PlanID: planID, Owner: owner, Seq: int32(seq), TaskCount: int32(tasks), Payload: payload,
	})
	return n > 0, interpret(err)
}

func (s *Store) GetPlanChunk(ctx context.Context, planID string, seq int) ([]byte, error) {
	b, err := s.q.GetScanPlanChunk(ctx, s.pool, pgdb.GetScanPlanChunkParams{PlanID: planID, Seq: int32(seq)})
	if isNoRows(err) {
		return nil, backend.NoSuchPlanChunk(planID, seq)
	}
	return b, interpret(err)
}

func (s *Store) RenewPlanLease(ctx context.Context, planID, owner string, until time.Time) (bool, error) {
	n, err := s.q.RenewScanPlanLease(ctx, s.pool, pgdb.RenewScanPlanLeaseParams{ID: planID, Owner: owner, LeaseUntil: &until})
	return n > 0, interpret(err)
}

func (s *Store) FinishPlan(ctx context.Context, planID, owner string, out store.PlanOutcome) (bool, error) {
	n, err := s.q.FinishScanPlan(ctx, s.pool, pgdb.FinishScanPlanParams{
		ID: planID, Owner: owner, Status: string(out.Status), TaskCount: out.Tasks, ChunkCount: int32(out.Chunks),
		ErrorKind: out.ErrorKind, ErrorMessage: out.ErrorMessage,
	})
	return n > 0, interpret(err)
}

func (s *Store) CancelPlan(ctx context.Context, planID string) (bool, error) {
	var cancelled bool
	err := s.write(ctx, func(tx pgx.Tx) error {
		n, err := s.q.CancelScanPlan(ctx, tx, planID)
		if err != nil {
			return err
		}
		cancelled = n > 0
		return s.q.DeleteScanPlanChunks(ctx, tx, planID)
	})
	return cancelled, err
}

func (s *Store) ReleasePlans(ctx context.Context, owner string) (int64, error) {
	n, err := s.q.ReleaseScanPlans(ctx, s.pool, owner)
	return n, interpret(err)
}

func (s *Store) ClaimPlans(ctx context.Context, owner string, n int, now, leaseUntil time.Time) ([]store.Plan, error) {
	if n <= 0 {
		return nil, nil
	}
	var plans []store.Plan
	err := s.write(ctx, func(tx pgx.Tx) error {
		rows, err := s.q.ClaimScanPlans(ctx, tx, pgdb.ClaimScanPlansParams{
			Owner: owner, LeaseUntil: &leaseUntil, Now: now, Lim: backend.Limit(store.Page{Limit: n}),
		})
		if err != nil {
			return err
		}
		plans = make([]store.Plan, len(rows))
		for i, r := range rows {
			plans[i] = planFromRow(r)
			// An earlier attempt's chunks are planned again from the start.
			if err := s.q.DeleteScanPlanChunks(ctx, tx, r.ID); err != nil {
				return err
			}
		}
		return nil
	})
	backend.SortPlans(plans) // RETURNING has no order
	return plans, err
}

func (s *Store) DeleteExpiredPlans(ctx context.Context, now time.Time) (int64, error) {
	n, err := s.q.DeleteExpiredScanPlans(ctx, s.pool, now)
	return n, interpret(err)
}

func planFromRow(r pgdb.ScanPlan) store.Plan {
	p := store.Plan{
		ID:               r.ID,
		Table:            store.Ident{Warehouse: r.Warehouse, Namespace: backend.SplitKey(r.Namespace), Name: r.TableName},
		Principal:        r.Principal,
		Status:           store.PlanStatus(r.Status),
		Request:          r.Request,
		MetadataLocation: r.MetadataLocation,
		Owner:            r.Owner,
		Attempts:         int(r.Attempts),
		Tasks:            r.TaskCount,
		Chunks:           int(r.ChunkCount),
		ErrorKind:        r.ErrorKind,
		ErrorMessage:     r.ErrorMessage,
		CreatedAt:        r.CreatedAt,
		ExpiresAt:        r.ExpiresAt,
	}
	if r.LeaseUntil != nil {
		p.LeaseUntil = *r.LeaseUntil
	}
	return p
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

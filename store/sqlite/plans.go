package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/bingsan/bingsan/gen/sqlitedb"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/internal/backend"
)

var _ store.PlanStore = (*Store)(nil)

func (s *Store) CreatePlan(ctx context.Context, p store.Plan) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		return s.q.InsertScanPlan(ctx, tx, sqlitedb.InsertScanPlanParams{
			ID: p.ID, Warehouse: p.Table.Warehouse, Namespace: strings.Join(p.Table.Namespace, store.NamespaceSeparator),
			TableName: p.Table.Name, Principal: p.Principal, Status: string(p.Status), Request: p.Request,
			MetadataLocation: p.MetadataLocation, Owner: p.Owner, LeaseUntil: nullMicros(p.LeaseUntil),
			Attempts: int64(p.Attempts), CreatedAt: micros(p.CreatedAt), ExpiresAt: micros(p.ExpiresAt),
		})
	})
}

func (s *Store) GetPlan(ctx context.Context, id string) (store.Plan, error) {
	r, err := s.q.GetScanPlan(ctx, s.reader, id)
	if isNoRows(err) {
		return store.Plan{}, backend.NoSuchPlan(id)
	}
	if err != nil {
		return store.Plan{}, interpret(err)
	}
	return planFromRow(r), nil
}

func (s *Store) DeletePlan(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *sql.Tx) error { return s.q.DeleteScanPlan(ctx, tx, id) })
}

func (s *Store) AddPlanChunk(ctx context.Context, planID, owner string, seq int, tasks int, payload []byte) (bool, error) {
	var added bool
	err := s.write(ctx, func(tx *sql.Tx) error {
		n, err := s.q.InsertScanPlanChunk(ctx, tx, sqlitedb.InsertScanPlanChunkParams{
			PlanID: planID, Owner: owner, Seq: int64(seq), TaskCount: int64(tasks), Payload: payload,
		})
		added = n > 0
		return err
	})
	return added, err
}

func (s *Store) GetPlanChunk(ctx context.Context, planID string, seq int) ([]byte, error) {
	b, err := s.q.GetScanPlanChunk(ctx, s.reader, sqlitedb.GetScanPlanChunkParams{PlanID: planID, Seq: int64(seq)})
	if isNoRows(err) {
		return nil, backend.NoSuchPlanChunk(planID, seq)
	}
	return b, interpret(err)
}

func (s *Store) RenewPlanLease(ctx context.Context, planID, owner string, until time.Time) (bool, error) {
	var renewed bool
	err := s.write(ctx, func(tx *sql.Tx) error {
		n, err := s.q.RenewScanPlanLease(ctx, tx, sqlitedb.RenewScanPlanLeaseParams{ID: planID, Owner: owner, LeaseUntil: nullMicros(until)})
		renewed = n > 0
		return err
	})
	return renewed, err
}

func (s *Store) FinishPlan(ctx context.Context, planID, owner string, out store.PlanOutcome) (bool, error) {
	var finished bool
	err := s.write(ctx, func(tx *sql.Tx) error {
		n, err := s.q.FinishScanPlan(ctx, tx, sqlitedb.FinishScanPlanParams{
			ID: planID, Owner: owner, Status: string(out.Status), TaskCount: out.Tasks, ChunkCount: int64(out.Chunks),
			ErrorKind: out.ErrorKind, ErrorMessage: out.ErrorMessage,
		})
		finished = n > 0
		return err
	})
	return finished, err
}

func (s *Store) CancelPlan(ctx context.Context, planID string) (bool, error) {
	var cancelled bool
	err := s.write(ctx, func(tx *sql.Tx) error {
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
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) (err error) {
		n, err = s.q.ReleaseScanPlans(ctx, tx, owner)
		return err
	})
	return n, err
}

func (s *Store) ClaimPlans(ctx context.Context, owner string, n int, now, leaseUntil time.Time) ([]store.Plan, error) {
	if n <= 0 {
		return nil, nil
	}
	var plans []store.Plan
	err := s.write(ctx, func(tx *sql.Tx) error {
		rows, err := s.q.ClaimScanPlans(ctx, tx, sqlitedb.ClaimScanPlansParams{
			Owner: owner, LeaseUntil: nullMicros(leaseUntil), Now: micros(now), Lim: int64(backend.Limit(store.Page{Limit: n})),
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
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) (err error) {
		n, err = s.q.DeleteExpiredScanPlans(ctx, tx, micros(now))
		return err
	})
	return n, err
}

func planFromRow(r sqlitedb.ScanPlan) store.Plan {
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
		CreatedAt:        fromMicros(r.CreatedAt),
		ExpiresAt:        fromMicros(r.ExpiresAt),
	}
	if r.LeaseUntil.Valid {
		p.LeaseUntil = fromMicros(r.LeaseUntil.Int64)
	}
	return p
}

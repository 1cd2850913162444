package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

func testPlans(t *testing.T, newStore func(t *testing.T) store.Store) {
	// Microsecond precision is what both backends store.
	now := time.Now().Truncate(time.Microsecond)
	plan := func(b *bundle, id string, owner string, lease time.Time) store.Plan {
		return store.Plan{
			ID: id, Table: b.ident("orders", "sales", "eu"), Principal: "alice", Status: store.PlanSubmitted,
			Request: []byte(`{"snapshot-id":9007199254740993}`), MetadataLocation: "s3://b/t/metadata/00001.json",
			Owner: owner, LeaseUntil: lease, Attempts: 1, CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		}
	}
	planStore := func(t *testing.T, b *bundle) store.PlanStore {
		t.Helper()
		ps, ok := b.s.(store.PlanStore)
		if !ok {
			t.Fatalf("%T does not implement store.PlanStore", b.s)
		}
		return ps
	}

	t.Run("Lifecycle", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		ps := planStore(t, b)
		want := plan(b, "p1", "node-a", now.Add(time.Minute))
		noErr(t, ps.CreatePlan(b.ctx, want))
		wantErr(t, ps.CreatePlan(b.ctx, want), errs.Internal, "")
		got, err := ps.GetPlan(b.ctx, "p1")
		noErr(t, err)
		if got.ID != "p1" || got.Table.String() != "sales.eu.orders" || got.Table.Warehouse != b.wh || got.Principal != "alice" ||
			got.Status != store.PlanSubmitted || !bytes.Equal(got.Request, want.Request) || got.MetadataLocation != want.MetadataLocation ||
			got.Owner != "node-a" || !got.LeaseUntil.Equal(want.LeaseUntil) || got.Attempts != 1 ||
			!got.CreatedAt.Equal(now) || !got.ExpiresAt.Equal(want.ExpiresAt) {
			t.Fatalf("GetPlan: %+v, want %+v", got, want)
		}
		_, err = ps.GetPlan(b.ctx, "missing")
		wantErr(t, err, errs.NoSuchPlanID, "missing")

		// Only the owner adds chunks, renews and finishes.
		for seq := range 3 {
			ok, err := ps.AddPlanChunk(b.ctx, "p1", "node-a", seq, seq+1, fmt.Appendf(nil, `{"chunk":%d}`, seq))
			noErr(t, err)
			if !ok {
				t.Fatalf("AddPlanChunk %d by the owner refused", seq)
			}
		}
		if ok, err := ps.AddPlanChunk(b.ctx, "p1", "node-b", 3, 1, []byte(`{}`)); err != nil || ok {
			t.Fatalf("AddPlanChunk by another node: %v %v", ok, err)
		}
		if ok, err := ps.RenewPlanLease(b.ctx, "p1", "node-b", now.Add(time.Hour)); err != nil || ok {
			t.Fatalf("RenewPlanLease by another node: %v %v", ok, err)
		}
		if ok, err := ps.RenewPlanLease(b.ctx, "p1", "node-a", now.Add(2*time.Minute)); err != nil || !ok {
			t.Fatalf("RenewPlanLease by the owner: %v %v", ok, err)
		}
		if ok, err := ps.FinishPlan(b.ctx, "p1", "node-b", store.PlanOutcome{Status: store.PlanCompleted}); err != nil || ok {
			t.Fatalf("FinishPlan by another node: %v %v", ok, err)
		}
		if ok, err := ps.FinishPlan(b.ctx, "p1", "node-a", store.PlanOutcome{Status: store.PlanCompleted, Tasks: 6, Chunks: 3}); err != nil || !ok {
			t.Fatalf("FinishPlan by the owner: %v %v", ok, err)
		}
		got, err = ps.GetPlan(b.ctx, "p1")
		noErr(t, err)
		if got.Status != store.PlanCompleted || got.Tasks != 6 || got.Chunks != 3 || got.Owner != "" || !got.LeaseUntil.IsZero() {
			t.Fatalf("after FinishPlan: %+v", got)
		}
		// A finished plan takes no more chunks, even from its last owner.
		if ok, err := ps.AddPlanChunk(b.ctx, "p1", "node-a", 9, 1, []byte(`{}`)); err != nil || ok {
			t.Fatalf("AddPlanChunk after finishing: %v %v", ok, err)
		}
		chunk, err := ps.GetPlanChunk(b.ctx, "p1", 1)
		noErr(t, err)
		if string(chunk) != `{"chunk":1}` {
			t.Fatalf("GetPlanChunk: %s", chunk)
		}
		_, err = ps.GetPlanChunk(b.ctx, "p1", 3)
		wantErr(t, err, errs.NoSuchPlanTask, "")

		// Cancelling frees the chunks and keeps the plan, cancelled.
		if ok, err := ps.CancelPlan(b.ctx, "p1"); err != nil || !ok {
			t.Fatalf("CancelPlan: %v %v", ok, err)
		}
		_, err = ps.GetPlanChunk(b.ctx, "p1", 0)
		wantErr(t, err, errs.NoSuchPlanTask, "")
		got, err = ps.GetPlan(b.ctx, "p1")
		noErr(t, err)
		if got.Status != store.PlanCancelled {
			t.Fatalf("after CancelPlan: %+v", got)
		}
		if ok, err := ps.CancelPlan(b.ctx, "p1"); err != nil || ok {
			t.Fatalf("second CancelPlan: %v %v", ok, err)
		}
		if ok, err := ps.CancelPlan(b.ctx, "missing"); err != nil || ok {
			t.Fatalf("CancelPlan of a missing plan: %v %v", ok, err)
		}

		noErr(t, ps.DeletePlan(b.ctx, "p1"))
		noErr(t, ps.DeletePlan(b.ctx, "p1"))
		_, err = ps.GetPlan(b.ctx, "p1")
		wantErr(t, err, errs.NoSuchPlanID, "")
	})

	t.Run("Failed", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		ps := planStore(t, b)
		noErr(t, ps.CreatePlan(b.ctx, plan(b, "p1", "node-a", now.Add(time.Minute))))
		ok, err := ps.FinishPlan(b.ctx, "p1", "node-a", store.PlanOutcome{Status: store.PlanFailed, ErrorKind: "service-unavailable", ErrorMessage: "S3 said no"})
		if err != nil || !ok {
			t.Fatalf("FinishPlan: %v %v", ok, err)
		}
		got, err := ps.GetPlan(b.ctx, "p1")
		noErr(t, err)
		if got.Status != store.PlanFailed || got.ErrorKind != "service-unavailable" || got.ErrorMessage != "S3 said no" {
			t.Fatalf("failed plan: %+v", got)
		}
		// A failed plan is not cancelled.
		if ok, err := ps.CancelPlan(b.ctx, "p1"); err != nil || ok {
			t.Fatalf("CancelPlan of a failed plan: %v %v", ok, err)
		}
	})

	t.Run("ClaimReleaseExpire", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		ps := planStore(t, b)
		unowned := plan(b, "a-unowned", "", time.Time{})
		lapsed := plan(b, "b-lapsed", "dead", now.Add(-time.Second))
		lapsed.CreatedAt = now.Add(time.Millisecond)
		leased := plan(b, "c-leased", "node-a", now.Add(time.Minute))
		expired := plan(b, "d-expired", "", time.Time{})
		expired.ExpiresAt = now.Add(-time.Second)
		for _, p := range []store.Plan{unowned, lapsed, leased, expired} {
			noErr(t, ps.CreatePlan(b.ctx, p))
		}
		ok, err := ps.AddPlanChunk(b.ctx, "b-lapsed", "dead", 0, 1, []byte(`{"partial":true}`))
		if err != nil || !ok {
			t.Fatalf("AddPlanChunk: %v %v", ok, err)
		}

		claimed, err := ps.ClaimPlans(b.ctx, "node-b", 10, now, now.Add(time.Minute))
		noErr(t, err)
		if len(claimed) != 2 || claimed[0].ID != "a-unowned" || claimed[1].ID != "b-lapsed" {
			t.Fatalf("ClaimPlans: %+v", claimed)
		}
		for _, p := range claimed {
			if p.Owner != "node-b" || !p.LeaseUntil.Equal(now.Add(time.Minute)) || p.Attempts != 2 {
				t.Fatalf("claimed plan: %+v", p)
			}
		}
		// What the dead owner left is gone, and it can add no more.
		_, err = ps.GetPlanChunk(b.ctx, "b-lapsed", 0)
		wantErr(t, err, errs.NoSuchPlanTask, "")
		if ok, err := ps.AddPlanChunk(b.ctx, "b-lapsed", "dead", 1, 1, []byte(`{}`)); err != nil || ok {
			t.Fatalf("AddPlanChunk by the former owner: %v %v", ok, err)
		}
		if again, err := ps.ClaimPlans(b.ctx, "node-c", 10, now, now.Add(time.Minute)); err != nil || len(again) != 0 {
			t.Fatalf("second ClaimPlans: %+v %v", again, err)
		}

		// A node that shuts down releases its plans for the others.
		n, err := ps.ReleasePlans(b.ctx, "node-b")
		noErr(t, err)
		if n != 2 {
			t.Fatalf("ReleasePlans released %d, want 2", n)
		}
		claimed, err = ps.ClaimPlans(b.ctx, "node-c", 1, now, now.Add(time.Minute))
		noErr(t, err)
		if len(claimed) != 1 || claimed[0].ID != "a-unowned" || claimed[0].Attempts != 3 {
			t.Fatalf("ClaimPlans after release: %+v", claimed)
		}

		n, err = ps.DeleteExpiredPlans(b.ctx, now)
		noErr(t, err)
		if n != 1 {
			t.Fatalf("DeleteExpiredPlans deleted %d, want 1", n)
		}
		_, err = ps.GetPlan(b.ctx, "d-expired")
		wantErr(t, err, errs.NoSuchPlanID, "")
		// Chunks go with their plan.
		noErr(t, ps.CreatePlan(b.ctx, plan(b, "e-chunked", "node-a", now.Add(time.Minute))))
		if ok, err := ps.AddPlanChunk(b.ctx, "e-chunked", "node-a", 0, 1, []byte(`{}`)); err != nil || !ok {
			t.Fatalf("AddPlanChunk: %v %v", ok, err)
		}
		n, err = ps.DeleteExpiredPlans(b.ctx, now.Add(2*time.Hour))
		noErr(t, err)
		if n != 4 {
			t.Fatalf("DeleteExpiredPlans deleted %d, want 4", n)
		}
		_, err = ps.GetPlanChunk(b.ctx, "e-chunked", 0)
		wantErr(t, err, errs.NoSuchPlanTask, "")
	})

	// Nodes claiming at once never claim one plan twice.
	t.Run("ConcurrentClaims", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		ps := planStore(t, b)
		const plans = 20
		for i := range plans {
			noErr(t, ps.CreatePlan(b.ctx, plan(b, fmt.Sprintf("p%02d", i), "", time.Time{})))
		}
		var (
			mu    sync.Mutex
			seen  = map[string]string{}
			wg    sync.WaitGroup
			fails []error
		)
		for n := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner := fmt.Sprintf("node-%d", n)
				for {
					got, err := ps.ClaimPlans(b.ctx, owner, 3, now, now.Add(time.Minute))
					mu.Lock()
					if err != nil {
						fails = append(fails, err)
					}
					for _, p := range got {
						if prev, dup := seen[p.ID]; dup {
							fails = append(fails, fmt.Errorf("%s claimed by %s and %s", p.ID, prev, owner))
						}
						seen[p.ID] = owner
					}
					mu.Unlock()
					if err != nil || len(got) == 0 {
						return
					}
				}
			}()
		}
		wg.Wait()
		if len(fails) > 0 {
			t.Fatal(fails)
		}
		if len(seen) != plans {
			t.Fatalf("claimed %d plans, want %d", len(seen), plans)
		}
	})
}

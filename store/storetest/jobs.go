package storetest

import (
	"bytes"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

func testIdempotency(t *testing.T, newStore func(t *testing.T) store.Store) {
	rec := func(key string, expires time.Time) store.IdempotencyRecord {
		return store.IdempotencyRecord{Key: key, Operation: "createTable", RequestHash: "h-" + key, ExpiresAt: expires}
	}
	// Microsecond precision is what both backends store.
	later := time.Now().Add(time.Hour).Truncate(time.Microsecond)

	t.Run("BeginDuplicateFinish", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		got, fresh, err := b.s.BeginIdempotent(b.ctx, rec("k1", later))
		noErr(t, err)
		if !fresh || got.Key != "k1" || got.Done {
			t.Fatalf("first begin: fresh=%v rec=%+v", fresh, got)
		}

		// In flight: the second request sees the first one's record.
		got, fresh, err = b.s.BeginIdempotent(b.ctx, store.IdempotencyRecord{Key: "k1", Operation: "createTable", RequestHash: "other", ExpiresAt: later})
		noErr(t, err)
		if fresh || got.Done || got.RequestHash != "h-k1" || got.Operation != "createTable" || !got.ExpiresAt.Equal(later) {
			t.Fatalf("duplicate begin in flight: fresh=%v rec=%+v", fresh, got)
		}

		done := rec("k1", later)
		done.Status, done.Body = 200, []byte(`{"ok":true}`)
		noErr(t, b.s.FinishIdempotent(b.ctx, done))
		got, fresh, err = b.s.BeginIdempotent(b.ctx, rec("k1", later))
		noErr(t, err)
		if fresh || !got.Done || got.Status != 200 || !bytes.Equal(got.Body, done.Body) || got.RequestHash != "h-k1" {
			t.Fatalf("duplicate begin after finish: fresh=%v rec=%+v", fresh, got)
		}

		// Other keys are independent.
		_, fresh, err = b.s.BeginIdempotent(b.ctx, rec("k2", later))
		noErr(t, err)
		if !fresh {
			t.Fatal("begin of another key was not fresh")
		}

		wantErr(t, b.s.FinishIdempotent(b.ctx, rec("unknown", later)), errs.NotFound, "")
		_, _, err = b.s.BeginIdempotent(b.ctx, rec("", later))
		wantErr(t, err, errs.BadRequest, "")
	})

	t.Run("Abandon", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		_, _, err := b.s.BeginIdempotent(b.ctx, rec("k", later))
		noErr(t, err)
		noErr(t, b.s.AbandonIdempotent(b.ctx, "k"))
		_, fresh, err := b.s.BeginIdempotent(b.ctx, rec("k", later))
		noErr(t, err)
		if !fresh {
			t.Fatal("begin after abandon was not fresh")
		}

		// A finished record is an outcome to replay, not abandoned.
		noErr(t, b.s.FinishIdempotent(b.ctx, store.IdempotencyRecord{Key: "k", Status: 204}))
		noErr(t, b.s.AbandonIdempotent(b.ctx, "k"))
		got, fresh, err := b.s.BeginIdempotent(b.ctx, rec("k", later))
		noErr(t, err)
		if fresh || !got.Done || got.Status != 204 || !got.ExpiresAt.Equal(later) {
			t.Fatalf("finished record after abandon: fresh=%v rec=%+v", fresh, got)
		}
		noErr(t, b.s.AbandonIdempotent(b.ctx, "never-seen"))
	})

	t.Run("ExpiryAndPrune", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		now := time.Now()
		for _, r := range []store.IdempotencyRecord{rec("old1", now.Add(-time.Hour)), rec("old2", now.Add(-time.Minute)), rec("live", later)} {
			_, fresh, err := b.s.BeginIdempotent(b.ctx, r)
			noErr(t, err)
			if !fresh {
				t.Fatalf("%s not fresh", r.Key)
			}
		}
		// An expired record is as good as none.
		got, fresh, err := b.s.BeginIdempotent(b.ctx, rec("old2", later))
		noErr(t, err)
		if !fresh || !got.ExpiresAt.Equal(later) {
			t.Fatalf("begin over an expired record: fresh=%v rec=%+v", fresh, got)
		}

		n, err := b.s.PruneIdempotent(b.ctx, now)
		noErr(t, err)
		if n != 1 {
			t.Fatalf("pruned %d, want 1 (old1)", n)
		}
		for key, wantFresh := range map[string]bool{"old1": true, "old2": false, "live": false} {
			_, fresh, err := b.s.BeginIdempotent(b.ctx, rec(key, later))
			noErr(t, err)
			if fresh != wantFresh {
				t.Fatalf("%s after prune: fresh=%v, want %v", key, fresh, wantFresh)
			}
		}
	})

	t.Run("ConcurrentBegin", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		const n = 8
		fresh := make([]bool, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, f, err := b.s.BeginIdempotent(b.ctx, rec("same", later))
				if err != nil {
					t.Errorf("begin %d: %v", i, err)
				}
				fresh[i] = f
			})
		}
		wg.Wait()
		if c := len(slices.DeleteFunc(fresh, func(f bool) bool { return !f })); c != 1 {
			t.Fatalf("%d concurrent begins were fresh, want 1", c)
		}
	})
}

func testPurgeJobs(t *testing.T, newStore func(t *testing.T) store.Store) {
	// queue drops n tables with purge and returns their jobs' metadata
	// locations in queueing order.
	queue := func(t *testing.T, b *bundle, names ...string) []string {
		t.Helper()
		b.mkNamespace(t, "db")
		var locs []string
		for _, name := range names {
			e := b.mkEntity(t, store.KindTable, b.ident(name, "db"))
			_, err := b.s.DropEntity(b.ctx, store.KindTable, e.Ident, true)
			noErr(t, err)
			locs = append(locs, e.MetadataLocation)
		}
		return locs
	}
	ids := func(jobs []store.PurgeJob) []int64 {
		out := make([]int64, len(jobs))
		for i, j := range jobs {
			out[i] = j.ID
		}
		return out
	}

	t.Run("ClaimLeases", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		locs := queue(t, b, "a", "b", "c")
		now := time.Now().Add(time.Second)
		lease := now.Add(time.Minute)

		first, err := b.s.ClaimPurgeJobs(b.ctx, 2, now, lease)
		noErr(t, err)
		if len(first) != 2 || first[0].MetadataLocation != locs[0] || first[1].MetadataLocation != locs[1] {
			t.Fatalf("first claim: %+v", first)
		}
		// Leased jobs are not handed out again while the lease runs.
		second, err := b.s.ClaimPurgeJobs(b.ctx, 10, now, lease)
		noErr(t, err)
		if len(second) != 1 || second[0].MetadataLocation != locs[2] {
			t.Fatalf("second claim: %+v", second)
		}
		third, err := b.s.ClaimPurgeJobs(b.ctx, 10, now.Add(30*time.Second), lease)
		noErr(t, err)
		if len(third) != 0 {
			t.Fatalf("claim during the lease returned %+v", third)
		}
		// Once the lease ran out (the worker died), the jobs are due again.
		again, err := b.s.ClaimPurgeJobs(b.ctx, 10, lease.Add(time.Second), lease.Add(time.Hour))
		noErr(t, err)
		if want := append(ids(first), ids(second)...); !slices.Equal(ids(again), want) {
			t.Fatalf("after lease expiry: got %v, want %v", ids(again), want)
		}
		none, err := b.s.ClaimPurgeJobs(b.ctx, 0, lease.Add(2*time.Hour), lease.Add(3*time.Hour))
		noErr(t, err)
		if len(none) != 0 {
			t.Fatalf("claim of 0 returned %d", len(none))
		}
	})

	t.Run("RetryAndComplete", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		queue(t, b, "a", "b")
		queued := func(want int64) {
			t.Helper()
			n, err := b.s.CountPurgeJobs(b.ctx)
			noErr(t, err)
			if n != want {
				t.Fatalf("CountPurgeJobs = %d, want %d", n, want)
			}
		}
		queued(2)
		now := time.Now().Add(time.Second)
		jobs, err := b.s.ClaimPurgeJobs(b.ctx, 10, now, now.Add(time.Minute))
		noErr(t, err)
		if len(jobs) != 2 {
			t.Fatalf("claimed %d, want 2", len(jobs))
		}
		failed, finished := jobs[0], jobs[1]

		noErr(t, b.s.RetryPurgeJob(b.ctx, failed.ID, now.Add(time.Hour), "access denied"))
		noErr(t, b.s.CompletePurgeJob(b.ctx, finished.ID))
		queued(1) // leased, retried or waiting: still in the queue

		// The failed job waits for its retry time, lease or not.
		early, err := b.s.ClaimPurgeJobs(b.ctx, 10, now.Add(30*time.Minute), now.Add(31*time.Minute))
		noErr(t, err)
		if len(early) != 0 {
			t.Fatalf("claim before retry time returned %+v", early)
		}
		due, err := b.s.ClaimPurgeJobs(b.ctx, 10, now.Add(2*time.Hour), now.Add(3*time.Hour))
		noErr(t, err)
		if len(due) != 1 || due[0].ID != failed.ID || due[0].Attempts != 1 || due[0].MetadataLocation != failed.MetadataLocation {
			t.Fatalf("claim after retry time: %+v", due)
		}

		wantErr(t, b.s.CompletePurgeJob(b.ctx, finished.ID), errs.NotFound, "")
		wantErr(t, b.s.RetryPurgeJob(b.ctx, finished.ID, now, "x"), errs.NotFound, "")
		noErr(t, b.s.CompletePurgeJob(b.ctx, failed.ID))
		left, err := b.s.ClaimPurgeJobs(b.ctx, 10, now.Add(24*time.Hour), now.Add(25*time.Hour))
		noErr(t, err)
		if len(left) != 0 {
			t.Fatalf("completed jobs still claimable: %+v", left)
		}
		queued(0)
	})

	t.Run("ConcurrentClaims", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		queue(t, b, "a", "b", "c", "d", "e", "f", "g", "h")
		now := time.Now().Add(time.Second)
		const claimers = 4
		got := make([][]int64, claimers)
		var wg sync.WaitGroup
		for i := range claimers {
			wg.Go(func() {
				jobs, err := b.s.ClaimPurgeJobs(b.ctx, 3, now, now.Add(time.Minute))
				if err != nil {
					t.Errorf("claimer %d: %v", i, err)
				}
				got[i] = ids(jobs)
			})
		}
		wg.Wait()
		var all []int64
		for _, g := range got {
			all = append(all, g...)
		}
		slices.Sort(all)
		if len(all) != 8 || len(slices.Compact(all)) != 8 {
			t.Fatalf("concurrent claims: %v, want 8 distinct jobs", got)
		}
	})
}

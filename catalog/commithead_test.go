package catalog_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/bingsan/bingsan/catalog"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/vend"
)

// writeCounter counts the metadata files a service writes.
type writeCounter struct {
	vend.FileIO
	writes atomic.Int64
}

func (w *writeCounter) WriteNew(ctx context.Context, location string, data []byte) error {
	w.writes.Add(1)
	return w.FileIO.WriteNew(ctx, location, data)
}

// readCounter counts the entity rows a service reads.
type readCounter struct {
	store.Store
	reads atomic.Int64
}

func (r *readCounter) GetEntity(ctx context.Context, kind store.Kind, id store.Ident) (store.Entity, error) {
	r.reads.Add(1)
	return r.Store.GetEntity(ctx, kind, id)
}

// A node's commit of a table starts from what its own last commit of the
// table left, without reading the row. When another node has changed the
// table since, the commit is prepared again on a fresh read, and answered
// as if it had read the row in the first place.
func TestCommitFromHead(t *testing.T) {
	t.Parallel()
	snapshot := func(e *env, id store.Ident, snap, parent int64) string {
		return snapshotUpdates(e.whLoc+"/ns/"+id.Name, snap, parent, snap, "main")
	}
	assertMain := func(snap int64) string {
		if snap == 0 {
			return `[{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":null}]`
		}
		return fmt.Sprintf(`[{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":%d}]`, snap)
	}
	for _, tc := range []struct {
		name string
		// meanwhile runs on another node between this node's two commits.
		meanwhile func(t *testing.T, other *env, id store.Ident)
		// reqs and upds are this node's second commit.
		reqs, upds func(e *env, id store.Ident) string
		wantErr    errs.Kind // 0: it commits
		wantReads  int64     // rows read by this node's second commit
		check      func(t *testing.T, e *env, id store.Ident, res catalog.TableResult)
	}{{
		name: "nothing meanwhile",
		reqs: func(*env, store.Ident) string { return assertMain(1) },
		upds: func(e *env, id store.Ident) string { return snapshot(e, id, 2, 1) },
	}, {
		// The head says main is at 1; another node moved it to 2, and the
		// request (rightly) expects 2.
		name: "requirement met by another node's commit",
		meanwhile: func(t *testing.T, other *env, id store.Ident) {
			other.mustCommit(t, id, assertMain(1), snapshot(other, id, 2, 1))
		},
		reqs:      func(*env, store.Ident) string { return assertMain(2) },
		upds:      func(e *env, id store.Ident) string { return snapshot(e, id, 3, 2) },
		wantReads: 1,
		check: func(t *testing.T, e *env, id store.Ident, res catalog.TableResult) {
			if m := parse(t, res.Metadata); m.CurrentSnapshot().SnapshotID != 3 || len(m.Snapshots()) != 3 {
				t.Errorf("snapshots %v, current %d: want 1, 2 and 3 on top", m.Snapshots(), m.CurrentSnapshot().SnapshotID)
			}
		},
	}, {
		// The head agrees with the request, the table does not.
		name: "requirement failed by another node's commit",
		meanwhile: func(t *testing.T, other *env, id store.Ident) {
			other.mustCommit(t, id, assertMain(1), snapshot(other, id, 2, 1))
		},
		reqs:      func(*env, store.Ident) string { return assertMain(1) },
		upds:      func(e *env, id store.Ident) string { return snapshot(e, id, 3, 1) },
		wantErr:   errs.CommitFailed,
		wantReads: 1,
	}, {
		// The table was dropped and created again under its name, and has
		// reached the version this node's head has: the commit must land
		// on the new table's metadata, not on the head's.
		name: "dropped and created again",
		meanwhile: func(t *testing.T, other *env, id store.Ident) {
			if err := other.svc.DropTable(context.Background(), id, false); err != nil {
				t.Fatal(err)
			}
			other.mustCreate(t, id, map[string]string{"incarnation": "second"})
			other.mustCommit(t, id, assertMain(0), snapshot(other, id, 7, 0))
		},
		reqs:      func(*env, store.Ident) string { return `[]` },
		upds:      func(*env, store.Ident) string { return setProps("after", "drop") },
		wantReads: 1,
		check: func(t *testing.T, e *env, id store.Ident, res catalog.TableResult) {
			m := parse(t, res.Metadata)
			if m.Properties()["incarnation"] != "second" || m.CurrentSnapshot() == nil || m.CurrentSnapshot().SnapshotID != 7 {
				t.Errorf("committed on the dropped table's metadata: properties %v, current snapshot %v", m.Properties(), m.CurrentSnapshot())
			}
		},
	}, {
		// Nothing to change on the head; on the table, something to keep
		// (the answer must be the table's current metadata, not the head).
		name: "no change on a stale head",
		meanwhile: func(t *testing.T, other *env, id store.Ident) {
			other.mustCommit(t, id, assertMain(1), snapshot(other, id, 2, 1))
		},
		reqs:      func(*env, store.Ident) string { return `[]` },
		upds:      func(*env, store.Ident) string { return `[]` },
		wantReads: 1,
		check: func(t *testing.T, e *env, id store.Ident, res catalog.TableResult) {
			if m := parse(t, res.Metadata); m.CurrentSnapshot().SnapshotID != 2 {
				t.Errorf("answered with the head: current snapshot %d, want 2", m.CurrentSnapshot().SnapshotID)
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, catalog.Options{})
			counter := &readCounter{Store: e.st}
			e.svc = catalog.New(counter, vend.NewLocal(), e.opts)
			other := e.otherNode()
			other.svc = catalog.New(e.st, vend.NewLocal(), e.opts)
			id := ident("ns", "t")
			e.mustCreate(t, id, nil)
			e.mustCommit(t, id, assertMain(0), snapshot(e, id, 1, 0)) // leaves the head
			if tc.meanwhile != nil {
				tc.meanwhile(t, other, id)
			}
			before := counter.reads.Load()
			res, err := e.commit(id, tc.reqs(e, id), tc.upds(e, id))
			if reads := counter.reads.Load() - before; reads != tc.wantReads {
				t.Errorf("the commit read the row %d times, want %d", reads, tc.wantReads)
			}
			if tc.wantErr != 0 {
				wantKind(t, err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, current := e.load(t, id)
			if got := parse(t, res.Metadata); got.LastUpdatedMillis() != current.LastUpdatedMillis() || res.MetadataLocation == "" {
				t.Errorf("the answer is not the table's current metadata")
			}
			if tc.check != nil {
				tc.check(t, e, id, res)
			}
		})
	}
}

// One writer's commits of a table alternating between two nodes (a load
// balancer spreading them) find this node's head stale every time: after
// the first, the node reads the row before each commit instead of writing
// a file for nothing; once it commits alone again, it trusts its head
// after two reads that agree with it.
func TestCommitHeadDoubtedAfterStale(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{})
	reads := &readCounter{Store: e.st}
	files := &writeCounter{FileIO: vend.NewLocal()}
	e.svc = catalog.New(reads, files, e.opts)
	other := e.otherNode()
	other.svc = catalog.New(e.st, vend.NewLocal(), e.opts)
	id := ident("ns", "t")
	e.mustCreate(t, id, nil)
	n := 0
	commit := func(on *env) {
		t.Helper()
		n++
		on.mustCommit(t, id, `[]`, setProps("n", fmt.Sprint(n)))
	}
	step := func(what string, wantReads, wantFiles int64) {
		t.Helper()
		r0, f0 := reads.reads.Load(), files.writes.Load()
		commit(e)
		if r, f := reads.reads.Load()-r0, files.writes.Load()-f0; r != wantReads || f != wantFiles {
			t.Fatalf("%s: %d reads and %d files, want %d and %d", what, r, f, wantReads, wantFiles)
		}
	}
	step("first commit, from the create's head", 0, 1)
	commit(other)
	step("first commit on a stale head", 1, 2) // the wasted file
	for i := range 4 {
		commit(other)
		step(fmt.Sprintf("alternating commit %d", i), 1, 1)
	}
	step("alone again, first read agreeing", 1, 1)
	step("alone again, second read agreeing", 1, 1)
	step("trusted again", 0, 1)
	if _, m := e.load(t, id); m.Properties()["n"] != fmt.Sprint(n) {
		t.Errorf("last commit lost: properties %v", m.Properties())
	}
}

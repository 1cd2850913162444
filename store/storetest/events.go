package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/principal"
	"github.com/bingsan/bingsan/store"
)

// eventsAfter lists every event after id.
func (b *bundle) eventsAfter(t *testing.T, after int64) []store.Event {
	t.Helper()
	evs, err := b.s.ListEvents(b.ctx, after, 0)
	noErr(t, err)
	return evs
}

func (b *bundle) lastEventID(t *testing.T) int64 {
	t.Helper()
	id, err := b.s.LastEventID(b.ctx)
	noErr(t, err)
	return id
}

// wantEvent checks one event's identity.
func wantEvent(t *testing.T, e store.Event, typ store.EventType, namespace []string, name string) {
	t.Helper()
	if e.Type != typ || !slices.Equal(e.Namespace, namespace) || e.Name != name || e.Warehouse != "wh" {
		t.Fatalf("event %d: got %s %s %q %q, want %s wh %q %q", e.ID, e.Type, e.Warehouse, e.Namespace, e.Name, typ, namespace, name)
	}
	if e.Time.IsZero() || time.Since(e.Time) > time.Hour || time.Until(e.Time) > time.Minute {
		t.Fatalf("event %d: implausible time %v", e.ID, e.Time)
	}
}

// gapless checks that evs have the ids first, first+1, ...
func gapless(t *testing.T, evs []store.Event, first int64) {
	t.Helper()
	for i, e := range evs {
		if e.ID != first+int64(i) {
			t.Fatalf("event ids are not consecutive from %d: %v", first, idsOf(evs))
		}
	}
}

func idsOf(evs []store.Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func testEvents(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("EveryMutation", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		if got := b.lastEventID(t); got != 0 {
			t.Fatalf("LastEventID of an empty store: %d", got)
		}
		ctx := principal.With(b.ctx, "alice")
		tbl, view := b.ident("t", "db", "sub"), b.ident("v", "db", "sub")
		noErr(t, b.s.CreateNamespace(ctx, b.wh, store.Namespace{Levels: []string{"db"}}))
		noErr(t, b.s.CreateNamespace(ctx, b.wh, store.Namespace{Levels: []string{"db", "sub"}}))
		_, err := b.s.UpdateNamespaceProperties(ctx, b.wh, []string{"db"}, []string{"gone", "never"}, map[string]string{"owner": "a", "gone": "x"})
		wantErr(t, err, errs.Unprocessable, "") // no event for a refused update
		_, err = b.s.UpdateNamespaceProperties(ctx, b.wh, []string{"db"}, nil, map[string]string{"owner": "a", "gone": "x"})
		noErr(t, err)
		_, err = b.s.UpdateNamespaceProperties(ctx, b.wh, []string{"db"}, []string{"gone", "never"}, map[string]string{"b": "1"})
		noErr(t, err)
		noErr(t, b.s.CreateEntity(ctx, store.Entity{Ident: tbl, Kind: store.KindTable, MetadataLocation: "t/0.json", Metadata: metadataFor(tbl, 0)}))
		noErr(t, b.s.CreateEntity(ctx, store.Entity{Ident: view, Kind: store.KindView, MetadataLocation: "v/0.json", Metadata: metadataFor(view, 0), EventType: store.EventViewRegistered}))
		c := update(tbl, store.KindTable, 1, "t/1.json")
		c.SnapshotsAdded = []int64{9007199254740993, 7}
		noErr(t, b.s.Commit(ctx, []store.Commit{c}))
		noErr(t, b.s.Commit(ctx, []store.Commit{update(view, store.KindView, 1, "v/1.json")}))
		moved := b.ident("t2", "db")
		noErr(t, b.s.RenameEntity(ctx, store.KindTable, tbl, moved))
		_, err = b.s.DropEntity(ctx, store.KindTable, moved, true)
		noErr(t, err)
		_, err = b.s.DropEntity(ctx, store.KindView, view, false)
		noErr(t, err)
		noErr(t, b.s.DropNamespace(ctx, b.wh, []string{"db", "sub"}))

		evs := b.eventsAfter(t, 0)
		if len(evs) != 12 {
			t.Fatalf("got %d events, want 12: %+v", len(evs), evs)
		}
		gapless(t, evs, 1)
		if got := b.lastEventID(t); got != 12 {
			t.Fatalf("LastEventID: %d, want 12", got)
		}
		for _, e := range evs {
			if e.Principal != "alice" {
				t.Fatalf("event %d: principal %q, want alice", e.ID, e.Principal)
			}
		}
		wantEvent(t, evs[0], store.EventNamespaceCreated, []string{"db"}, "")
		wantEvent(t, evs[1], store.EventNamespaceCreated, []string{"db", "sub"}, "")
		wantEvent(t, evs[2], store.EventNamespaceUpdated, []string{"db"}, "")
		equalStrings(t, "updated", evs[2].PropertiesUpdated, []string{"gone", "owner"})
		wantEvent(t, evs[3], store.EventNamespaceUpdated, []string{"db"}, "")
		equalStrings(t, "updated", evs[3].PropertiesUpdated, []string{"b"})
		equalStrings(t, "removed", evs[3].PropertiesRemoved, []string{"gone"})
		wantEvent(t, evs[4], store.EventTableCreated, []string{"db", "sub"}, "t")
		if evs[4].MetadataLocation != "t/0.json" || evs[4].PreviousMetadataLocation != "" {
			t.Fatalf("create: %+v", evs[4])
		}
		wantEvent(t, evs[5], store.EventViewRegistered, []string{"db", "sub"}, "v")
		wantEvent(t, evs[6], store.EventTableCommitted, []string{"db", "sub"}, "t")
		if e := evs[6]; e.PreviousMetadataLocation != "t/0.json" || e.MetadataLocation != "t/1.json" || !slices.Equal(e.SnapshotsAdded, []int64{9007199254740993, 7}) {
			t.Fatalf("commit: %+v", e)
		}
		wantEvent(t, evs[7], store.EventViewReplaced, []string{"db", "sub"}, "v")
		if e := evs[7]; e.PreviousMetadataLocation != "v/0.json" || e.MetadataLocation != "v/1.json" {
			t.Fatalf("replace: %+v", e)
		}
		wantEvent(t, evs[8], store.EventTableRenamed, []string{"db", "sub"}, "t")
		if e := evs[8]; e.RenamedTo == nil || !slices.Equal(e.RenamedTo.Namespace, []string{"db"}) || e.RenamedTo.Name != "t2" || e.MetadataLocation != "t/1.json" {
			t.Fatalf("rename: %+v", e)
		}
		wantEvent(t, evs[9], store.EventTableDropped, []string{"db"}, "t2")
		if e := evs[9]; e.PreviousMetadataLocation != "t/1.json" || !e.PurgeRequested {
			t.Fatalf("drop: %+v", e)
		}
		wantEvent(t, evs[10], store.EventViewDropped, []string{"db", "sub"}, "v")
		if e := evs[10]; e.PreviousMetadataLocation != "v/1.json" || e.PurgeRequested {
			t.Fatalf("drop view: %+v", e)
		}
		wantEvent(t, evs[11], store.EventNamespaceDropped, []string{"db", "sub"}, "")

		// Without a principal in the context, none is recorded.
		noErr(t, b.s.CreateNamespace(b.ctx, b.wh, store.Namespace{Levels: []string{"anon"}}))
		if evs := b.eventsAfter(t, 12); len(evs) != 1 || evs[0].Principal != "" {
			t.Fatalf("anonymous mutation: %+v", evs)
		}
	})

	t.Run("TransactionEventsInRequestOrder", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkNamespace(t, "db")
		z, a := b.ident("z", "db"), b.ident("a", "db")
		b.mkEntity(t, store.KindTable, z)
		b.mkEntity(t, store.KindTable, a)
		last := b.lastEventID(t)
		staged := b.ident("m", "db")
		noErr(t, b.s.Commit(b.ctx, []store.Commit{
			update(z, store.KindTable, 1, "z/1.json"),
			{Ident: staged, Kind: store.KindTable, Create: true, MetadataLocation: "m/0.json", Metadata: metadataFor(staged, 0), SnapshotsAdded: []int64{1}},
			update(a, store.KindTable, 1, "a/1.json"),
		}))
		evs := b.eventsAfter(t, last)
		gapless(t, evs, last+1)
		if len(evs) != 3 {
			t.Fatalf("got %d events, want 3", len(evs))
		}
		wantEvent(t, evs[0], store.EventTableCommitted, []string{"db"}, "z")
		wantEvent(t, evs[1], store.EventTableCreated, []string{"db"}, "m")
		wantEvent(t, evs[2], store.EventTableCommitted, []string{"db"}, "a")
		if evs[1].MetadataLocation != "m/0.json" || !slices.Equal(evs[1].SnapshotsAdded, []int64{1}) {
			t.Fatalf("staged create: %+v", evs[1])
		}
		if evs[2].PreviousMetadataLocation == "" || evs[2].MetadataLocation != "a/1.json" {
			t.Fatalf("commit of a: %+v", evs[2])
		}
	})

	t.Run("NoEventWithoutMutation", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkNamespace(t, "db")
		b.mkNamespace(t, "full")
		tbl, view := b.ident("t", "db"), b.ident("v", "db")
		b.mkEntity(t, store.KindTable, tbl)
		b.mkEntity(t, store.KindView, view)
		b.mkEntity(t, store.KindTable, b.ident("x", "full"))
		last := b.lastEventID(t)
		drop := func(kind store.Kind, id store.Ident) error {
			_, err := b.s.DropEntity(b.ctx, kind, id, true)
			return err
		}
		for _, tc := range []struct {
			name string
			fn   func() error
			want errs.Kind
		}{
			{"CommitStale", func() error { return b.s.Commit(b.ctx, []store.Commit{update(tbl, store.KindTable, 7, "t/x.json")}) }, errs.CommitFailed},
			// The first commit applies inside the transaction before the
			// second fails: both roll back, events included.
			{"TransactionHalfStale", func() error {
				return b.s.Commit(b.ctx, []store.Commit{update(tbl, store.KindTable, 1, "t/1.json"), update(view, store.KindView, 5, "v/x.json")})
			}, errs.CommitFailed},
			{"CommitCreateExisting", func() error {
				return b.s.Commit(b.ctx, []store.Commit{{Ident: tbl, Kind: store.KindTable, Create: true, MetadataLocation: "m", Metadata: []byte("{}")}})
			}, errs.CommitFailed},
			{"CommitMissing", func() error {
				return b.s.Commit(b.ctx, []store.Commit{update(b.ident("nope", "db"), store.KindTable, 1, "l")})
			}, errs.NoSuchTable},
			{"CreateEntityUnique", func() error {
				return b.s.CreateEntity(b.ctx, store.Entity{Ident: tbl, Kind: store.KindView, MetadataLocation: "m", Metadata: []byte("{}")})
			}, errs.AlreadyExists},
			{"CreateEntityNoNamespace", func() error {
				return b.s.CreateEntity(b.ctx, store.Entity{Ident: b.ident("t", "none"), Kind: store.KindTable, MetadataLocation: "m", Metadata: []byte("{}")})
			}, errs.NoSuchNamespace},
			{"CreateNamespaceUnique", func() error { return b.s.CreateNamespace(b.ctx, b.wh, store.Namespace{Levels: []string{"db"}}) }, errs.AlreadyExists},
			{"UpdateMissingNamespace", func() error {
				_, err := b.s.UpdateNamespaceProperties(b.ctx, b.wh, []string{"none"}, nil, map[string]string{"a": "b"})
				return err
			}, errs.NoSuchNamespace},
			{"DropNamespaceNotEmpty", func() error { return b.s.DropNamespace(b.ctx, b.wh, []string{"full"}) }, errs.NamespaceNotEmpty},
			{"RenameOntoExisting", func() error { return b.s.RenameEntity(b.ctx, store.KindTable, tbl, view) }, errs.AlreadyExists},
			{"RenameMissing", func() error {
				return b.s.RenameEntity(b.ctx, store.KindTable, b.ident("nope", "db"), b.ident("n2", "db"))
			}, errs.NoSuchTable},
			{"DropMissing", func() error { return drop(store.KindTable, b.ident("nope", "db")) }, errs.NoSuchTable},
			{"DropWrongKind", func() error { return drop(store.KindView, tbl) }, errs.NoSuchView},
			{"EventTypeOfAnotherKind", func() error {
				c := update(tbl, store.KindTable, 1, "t/1.json")
				c.EventType = store.EventViewReplaced
				return b.s.Commit(b.ctx, []store.Commit{c})
			}, errs.Internal},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantErr(t, tc.fn(), tc.want, "")
				if got := b.lastEventID(t); got != last {
					t.Fatalf("LastEventID moved from %d to %d", last, got)
				}
				if evs := b.eventsAfter(t, last); len(evs) != 0 {
					t.Fatalf("a failed mutation wrote events: %+v", evs)
				}
			})
		}
		if got := b.getEntity(t, store.KindTable, tbl); got.Version != 1 {
			t.Fatalf("a failed commit changed the table: %+v", got)
		}
		// The counter was rolled back with the rest: the next event takes
		// the next id.
		b.mkNamespace(t, "after")
		if evs := b.eventsAfter(t, last); len(evs) != 1 || evs[0].ID != last+1 {
			t.Fatalf("after failed mutations: %+v", evs)
		}
	})

	t.Run("ListPaging", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		for i := range 7 {
			b.mkNamespace(t, fmt.Sprintf("ns%d", i))
		}
		var got []int64
		for after := int64(0); ; {
			evs, err := b.s.ListEvents(b.ctx, after, 3)
			noErr(t, err)
			if len(evs) > 3 {
				t.Fatalf("limit 3 returned %d", len(evs))
			}
			if len(evs) == 0 {
				break
			}
			got = append(got, idsOf(evs)...)
			after = evs[len(evs)-1].ID
		}
		if !slices.Equal(got, []int64{1, 2, 3, 4, 5, 6, 7}) {
			t.Fatalf("paged ids: %v", got)
		}
		if evs := b.eventsAfter(t, 7); len(evs) != 0 {
			t.Fatalf("after the last: %+v", evs)
		}
	})

	t.Run("Prune", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		for i := range 5 {
			b.mkNamespace(t, fmt.Sprintf("old%d", i))
		}
		time.Sleep(20 * time.Millisecond)
		cut := time.Now()
		time.Sleep(20 * time.Millisecond)
		for i := range 3 {
			b.mkNamespace(t, fmt.Sprintf("new%d", i))
		}
		n, err := b.s.PruneEvents(b.ctx, cut)
		noErr(t, err)
		if n != 5 {
			t.Fatalf("pruned %d, want 5", n)
		}
		evs := b.eventsAfter(t, 0)
		gapless(t, evs, 6)
		if len(evs) != 3 {
			t.Fatalf("kept %v", idsOf(evs))
		}
		if got := b.lastEventID(t); got != 8 {
			t.Fatalf("LastEventID after pruning: %d, want 8", got)
		}
		n, err = b.s.PruneEvents(b.ctx, cut)
		noErr(t, err)
		if n != 0 {
			t.Fatalf("pruning again deleted %d", n)
		}
		// Pruning everything keeps the counter: ids are never reused.
		_, err = b.s.PruneEvents(b.ctx, time.Now().Add(time.Minute))
		noErr(t, err)
		if evs := b.eventsAfter(t, 0); len(evs) != 0 {
			t.Fatalf("kept after pruning all: %v", idsOf(evs))
		}
		b.mkNamespace(t, "next")
		if evs := b.eventsAfter(t, 0); len(evs) != 1 || evs[0].ID != 9 {
			t.Fatalf("after pruning all: %+v", evs)
		}
	})

	t.Run("Wakeups", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		ctx, cancel := context.WithCancel(b.ctx)
		ch := b.s.EventWakeups(ctx)
		// A PostgreSQL listener signals once it listens; drain until a
		// mutation's own wake-up can be told apart.
		deadline := time.After(30 * time.Second)
		for i := 0; ; i++ {
			b.mkNamespace(t, fmt.Sprintf("ns%d", i))
			select {
			case <-ch:
			case <-time.After(2 * time.Second):
				t.Fatal("no wake-up within 2s of a mutation")
			case <-deadline:
				t.Fatal("no wake-up")
			}
			if i >= 2 {
				break
			}
		}
		cancel()
		select {
		case _, ok := <-ch:
			for ok {
				_, ok = <-ch
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the wake-up channel was not closed when its context ended")
		}
	})

	// Concurrent writers: ids stay gapless, and a reader polling all the
	// while never sees an id before the ones below it are visible (ids
	// are handed out in commit order).
	t.Run("ConcurrentWritersCommitOrder", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkNamespace(t, "db")
		const writers, each = 8, 15
		for w := range writers {
			b.mkEntity(t, store.KindTable, b.ident(fmt.Sprintf("t%d", w), "db"))
		}
		start := b.lastEventID(t)
		done := make(chan struct{})
		var readErr error
		var rwg sync.WaitGroup
		rwg.Go(func() {
			last := start
			for {
				select {
				case <-done:
					return
				default:
				}
				evs, err := b.s.ListEvents(b.ctx, last, 0)
				if err != nil {
					readErr = err
					return
				}
				for _, e := range evs {
					if e.ID != last+1 {
						readErr = fmt.Errorf("reader saw event %d right after %d", e.ID, last)
						return
					}
					last = e.ID
				}
			}
		})
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				id := b.ident(fmt.Sprintf("t%d", w), "db")
				for i := range each {
					if err := b.s.Commit(b.ctx, []store.Commit{update(id, store.KindTable, int64(i+1), fmt.Sprintf("%d/%d", w, i))}); err != nil {
						t.Errorf("writer %d commit %d: %v", w, i, err)
						return
					}
					if i%3 == 0 {
						// a rolled-back mutation between the others
						_ = b.s.Commit(b.ctx, []store.Commit{update(id, store.KindTable, 1, "stale")})
					}
				}
			})
		}
		wg.Wait()
		close(done)
		rwg.Wait()
		if readErr != nil {
			t.Fatal(readErr)
		}
		evs := b.eventsAfter(t, start)
		if len(evs) != writers*each {
			t.Fatalf("got %d events, want %d", len(evs), writers*each)
		}
		gapless(t, evs, start+1)
		// Each table's commits appear in its own commit order.
		next := map[string]int{}
		for _, e := range evs {
			var w, i int
			if _, err := fmt.Sscanf(e.MetadataLocation, "%d/%d", &w, &i); err != nil {
				t.Fatalf("event %d: %v", e.ID, err)
			}
			if key := e.Name; i != next[key] {
				t.Fatalf("event %d: commit %d of %s, want %d", e.ID, i, key, next[key])
			}
			next[e.Name]++
		}
	})
}

package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

// testClaims: storage locations belong to one owner, checked atomically
// with the mutation that claims them.
func testClaims(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("OverlapRefused", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkClaimedNamespace(t, "s3://b/wh/a/", "a")
		b.mkClaimedNamespace(t, "s3://b/wh/b/", "b")
		b.mkClaimed(t, b.ident("t", "a"), "uuid-t", "s3://b/wh/a/t/", "s3://b/wh/a/t-data/")

		cases := []struct {
			name string
			ns   []string
			keys []string
		}{
			{"equal to a table's", []string{"a"}, []string{"s3://b/wh/a/t/"}},
			{"inside a table's", []string{"a"}, []string{"s3://b/wh/a/t/sub/"}},
			{"containing a table's", []string{"a"}, []string{"s3://b/wh/a/"}},
			{"a table's extra path", []string{"a"}, []string{"s3://b/wh/a/u/", "s3://b/wh/a/t-data/x/"}},
			{"inside another namespace", []string{"a"}, []string{"s3://b/wh/b/x/"}},
			{"containing a namespace", []string{"a"}, []string{"s3://b/"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				err := b.s.CreateEntity(b.ctx, b.entity(b.ident("x", tc.ns...), "", tc.keys))
				wantErr(t, err, errs.AlreadyExists, "overlaps")
				if !errors.Is(err, store.ErrLocationOwned) {
					t.Fatalf("%v is not ErrLocationOwned", err)
				}
				if ok, _ := b.s.EntityExists(b.ctx, store.KindTable, b.ident("x", tc.ns...)); ok {
					t.Fatal("the refused entity exists")
				}
			})
		}
		// Inside its own namespace, next to the table: fine.
		noErr(t, b.s.CreateEntity(b.ctx, b.entity(b.ident("u", "a"), "uuid-u", []string{"s3://b/wh/a/u/"})))
		// A namespace may not claim inside another, nor over a table.
		err := b.s.CreateNamespace(b.ctx, b.wh, store.Namespace{Levels: []string{"c"}, Location: "s3://b/wh/b/c", Key: "s3://b/wh/b/c/"})
		wantErr(t, err, errs.AlreadyExists, "overlaps")
		err = b.s.CreateNamespace(b.ctx, b.wh, store.Namespace{Levels: []string{"a", "child"}, Location: "s3://b/wh/a/t/c", Key: "s3://b/wh/a/t/c/"})
		wantErr(t, err, errs.AlreadyExists, "overlaps")
		// A child namespace inside its parent: fine.
		noErr(t, b.s.CreateNamespace(b.ctx, b.wh, store.Namespace{Levels: []string{"a", "child"}, Location: "s3://b/wh/a/child", Key: "s3://b/wh/a/child/"}))
		ns, err := b.s.GetNamespace(b.ctx, b.wh, []string{"a", "child"})
		noErr(t, err)
		if ns.Location != "s3://b/wh/a/child" {
			t.Fatalf("namespace location %q", ns.Location)
		}
	})

	// A create placed by a stale read of its namespace (Entity.NamespaceKey)
	// lands only while the namespace still claims that location.
	t.Run("NamespaceMoved", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkClaimedNamespace(t, "s3://b/wh/a/", "a")
		b.mkClaimedNamespace(t, "s3://b/wh/other/", "other")
		inside := func(name, nsKey string, keys ...string) store.Entity {
			e := b.entity(b.ident(name, "a"), "", keys)
			e.NamespaceKey = nsKey
			return e
		}
		noErr(t, b.s.CreateEntity(b.ctx, inside("t", "s3://b/wh/a/", "s3://b/wh/a/t/")))
		_, err := b.s.DropEntity(b.ctx, store.KindTable, b.ident("t", "a"), false)
		noErr(t, err)
		noErr(t, b.s.DropNamespace(b.ctx, b.wh, []string{"a"}))
		b.mkClaimedNamespace(t, "s3://b/wh/elsewhere/a/", "a")
		for _, tc := range []struct {
			name string
			e    store.Entity
		}{
			{"the old location", inside("u", "s3://b/wh/a/", "s3://b/wh/a/u/")},
			{"another namespace's key", inside("u", "s3://b/wh/other/", "s3://b/wh/elsewhere/a/u/")},
			{"a key outside the namespace", inside("u", "s3://b/wh/elsewhere/a/", "s3://b/wh/elsewhere/a/u/", "s3://b/wh/free/")},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := b.s.CreateEntity(b.ctx, tc.e)
				wantErr(t, err, errs.CommitFailed, "was replaced or moved")
				if !errors.Is(err, store.ErrNamespaceMoved) {
					t.Fatalf("%v is not ErrNamespaceMoved", err)
				}
				if ok, _ := b.s.EntityExists(b.ctx, store.KindTable, tc.e.Ident); ok {
					t.Fatal("the refused entity exists")
				}
			})
		}
		noErr(t, b.s.CreateEntity(b.ctx, inside("u", "s3://b/wh/elsewhere/a/", "s3://b/wh/elsewhere/a/u/")))
	})

	t.Run("ReleasedOnDropAndMove", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkClaimedNamespace(t, "s3://b/wh/a/", "a")
		id := b.ident("t", "a")
		e := b.mkClaimed(t, id, "uuid-1", "s3://b/wh/a/t/")

		// A commit moving the table frees the old key and claims the new.
		c := store.Commit{Ident: id, Kind: store.KindTable, BaseVersion: e.Version, MetadataLocation: "s3://b/wh/a/t2/m1.json",
			Metadata: []byte(`{}`), Claims: []string{"s3://b/wh/a/t2/"}}
		noErr(t, b.s.Commit(b.ctx, []store.Commit{c}))
		noErr(t, b.s.CreateEntity(b.ctx, b.entity(b.ident("u", "a"), "uuid-2", []string{"s3://b/wh/a/t/"})))
		// A commit onto a taken key fails and changes nothing.
		c = store.Commit{Ident: id, Kind: store.KindTable, BaseVersion: e.Version + 1, MetadataLocation: "s3://b/wh/a/t/m2.json",
			Metadata: []byte(`{}`), Claims: []string{"s3://b/wh/a/t/x/"}}
		err := b.s.Commit(b.ctx, []store.Commit{c})
		if !errors.Is(err, store.ErrLocationOwned) {
			t.Fatalf("commit onto a taken location: %v", err)
		}
		if got := b.getEntity(t, store.KindTable, id); got.Version != e.Version+1 {
			t.Fatalf("version %d after a refused commit", got.Version)
		}

		// Dropping frees the key: the UUID and the location may return.
		_, err = b.s.DropEntity(b.ctx, store.KindTable, b.ident("u", "a"), false)
		noErr(t, err)
		noErr(t, b.s.CreateEntity(b.ctx, b.entity(b.ident("again", "a"), "uuid-2", []string{"s3://b/wh/a/t/"})))
	})

	t.Run("PurgeHoldsFilesFromRegister", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkClaimedNamespace(t, "s3://b/wh/a/", "a")
		id := b.ident("t", "a")
		b.mkClaimed(t, id, "uuid-1", "s3://b/wh/a/t/")
		_, err := b.s.DropEntity(b.ctx, store.KindTable, id, true)
		noErr(t, err)

		reg := b.entity(b.ident("twin", "a"), "uuid-1", []string{"s3://b/wh/a/t/"})
		reg.Register = true
		wantErr(t, b.s.CreateEntity(b.ctx, reg), errs.AlreadyExists, "purge")
		// A new table may be made where the purged one was.
		noErr(t, b.s.CreateEntity(b.ctx, b.entity(b.ident("new", "a"), "uuid-2", []string{"s3://b/wh/a/t/"})))

		jobs, err := b.s.ClaimPurgeJobs(b.ctx, 10, time.Now(), time.Now().Add(time.Minute))
		noErr(t, err)
		if len(jobs) != 1 || len(jobs[0].Claims) != 1 || jobs[0].Claims[0] != "s3://b/wh/a/t/" || jobs[0].CreatedAt.IsZero() {
			t.Fatalf("jobs %+v", jobs)
		}
		// The table made afterwards does not protect the purged files; one
		// made before would.
		shared, err := b.s.SharedClaims(b.ctx, jobs[0].Claims, jobs[0].CreatedAt)
		noErr(t, err)
		equalStrings(t, "shared before the drop", shared, nil)
		shared, err = b.s.SharedClaims(b.ctx, jobs[0].Claims, time.Now().Add(time.Minute))
		noErr(t, err)
		equalStrings(t, "shared after", shared, []string{"s3://b/wh/a/t/"})

		noErr(t, b.s.CompletePurgeJob(b.ctx, jobs[0].ID))
		_, err = b.s.DropEntity(b.ctx, store.KindTable, b.ident("new", "a"), false)
		noErr(t, err)
		noErr(t, b.s.CreateEntity(b.ctx, reg))
	})

	t.Run("UUIDUnique", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkClaimedNamespace(t, "s3://b/wh/a/", "a")
		b.mkClaimed(t, b.ident("t", "a"), "uuid-1", "s3://b/wh/a/t/")
		err := b.s.CreateEntity(b.ctx, b.entity(b.ident("twin", "a"), "uuid-1", []string{"s3://b/wh/a/twin/"}))
		wantErr(t, err, errs.AlreadyExists, "uuid-1")
		// A name conflict is reported as such.
		err = b.s.CreateEntity(b.ctx, b.entity(b.ident("t", "a"), "uuid-1", []string{"s3://b/wh/a/t9/"}))
		wantErr(t, err, errs.AlreadyExists, "Table already exists")
	})

	t.Run("ConcurrentOverlapsOneWins", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkClaimedNamespace(t, "s3://b/wh/a/", "a")
		// Each round, eight creators claim nested or equal keys at once.
		for round := range 5 {
			keys := []string{"s3://b/wh/a/r/", "s3://b/wh/a/r/x/", "s3://b/wh/a/r/x/y/", "s3://b/wh/a/r/"}
			var (
				wg   sync.WaitGroup
				mu   sync.Mutex
				wins int
			)
			for i := range 8 {
				wg.Go(func() {
					key := keys[i%len(keys)]
					key = key[:len("s3://b/wh/a/r")] + string(rune('a'+round)) + key[len("s3://b/wh/a/r"):]
					err := b.s.CreateEntity(b.ctx, b.entity(b.ident(string(rune('a'+round))+string(rune('0'+i)), "a"), "", []string{key}))
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						wins++
					case !errors.Is(err, store.ErrLocationOwned):
						t.Errorf("claim %s: %v", key, err)
					}
				})
			}
			wg.Wait()
			if wins != 1 {
				t.Fatalf("round %d: %d overlapping claims won, want 1", round, wins)
			}
		}
	})

	t.Run("IdempotentOutcome", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkClaimedNamespace(t, "s3://b/wh/a/", "a")
		begin := func(key string) {
			t.Helper()
			_, began, err := b.s.BeginIdempotent(b.ctx, store.IdempotencyRecord{Key: key, Operation: "op", RequestHash: "h", ExpiresAt: time.Now().Add(-time.Second)})
			noErr(t, err)
			if !began {
				t.Fatalf("key %s already known", key)
			}
		}
		mark := func(key string) store.IdempotencyMark {
			return store.IdempotencyMark{Key: key, ExpiresAt: time.Now().Add(time.Hour)}
		}
		begin("k-create")
		// Marked with an expiry already past: only "committed" keeps the
		// key from being taken over below.
		ctx := store.WithIdempotency(b.ctx, store.IdempotencyMark{Key: "k-create", ExpiresAt: time.Now().Add(-time.Second)})
		e := b.entity(b.ident("t", "a"), "uuid-1", []string{"s3://b/wh/a/t/"})
		noErr(t, b.s.CreateEntity(ctx, e))

		// The in-flight lease has run out (ExpiresAt above), yet the key is
		// neither taken over nor abandoned: its mutation committed.
		rec, began, err := b.s.BeginIdempotent(b.ctx, store.IdempotencyRecord{Key: "k-create", Operation: "op", RequestHash: "h", ExpiresAt: time.Now().Add(time.Minute)})
		noErr(t, err)
		if began || !rec.Committed || rec.Done || rec.Outcome.MetadataLocation != e.MetadataLocation {
			t.Fatalf("record after the create: began %v, %+v", began, rec)
		}
		noErr(t, b.s.AbandonIdempotent(b.ctx, "k-create"))
		if rec, began, _ = b.s.BeginIdempotent(b.ctx, store.IdempotencyRecord{Key: "k-create", Operation: "op", RequestHash: "h"}); began || !rec.Committed {
			t.Fatalf("abandoned a committed key: %+v", rec)
		}

		// A failed mutation marks nothing.
		begin("k-fail")
		err = b.s.CreateEntity(store.WithIdempotency(b.ctx, mark("k-fail")), e)
		wantErr(t, err, errs.AlreadyExists, "")
		if rec, _, _ = b.s.BeginIdempotent(b.ctx, store.IdempotencyRecord{Key: "k-fail", Operation: "op", RequestHash: "h"}); rec.Committed {
			t.Fatal("a failed create marked its key committed")
		}

		// Property updates record their change; commits the keys of their
		// members besides the context's (which a group hides).
		begin("k-props")
		_, err = b.s.UpdateNamespaceProperties(store.WithIdempotency(b.ctx, mark("k-props")), b.wh, []string{"a"}, []string{"gone"}, map[string]string{"k": "v"})
		noErr(t, err)
		rec, _, _ = b.s.BeginIdempotent(b.ctx, store.IdempotencyRecord{Key: "k-props", Operation: "op", RequestHash: "h"})
		if !rec.Committed || rec.Outcome.PropertyChange == nil || len(rec.Outcome.PropertyChange.Updated) != 1 || len(rec.Outcome.PropertyChange.Missing) != 1 {
			t.Fatalf("property update outcome %+v", rec.Outcome)
		}
		begin("k-m1")
		begin("k-m2")
		begin("k-hidden")
		cur := b.getEntity(t, store.KindTable, b.ident("t", "a"))
		for _, single := range []bool{true, false} {
			c := store.Commit{Ident: cur.Ident, Kind: store.KindTable, BaseVersion: cur.Version, MetadataLocation: "s3://b/wh/a/t/m" + time.Now().Format("150405.000000") + ".json",
				Metadata: []byte(`{}`), Idempotency: []store.IdempotencyMark{mark("k-m1"), mark("k-m2")}}
			commits := []store.Commit{c}
			if !single {
				// Two entities: the transaction path, not the one-statement one.
				other := b.mkClaimed(t, b.ident("o", "a"), "uuid-o", "s3://b/wh/a/o/")
				commits = append(commits, store.Commit{Ident: other.Ident, Kind: store.KindTable, BaseVersion: other.Version, MetadataLocation: "s3://b/wh/a/o/m.json", Metadata: []byte(`{}`)})
			}
			noErr(t, b.s.Commit(store.WithIdempotency(b.ctx, store.IdempotencyMark{}), commits))
			for _, k := range []string{"k-m1", "k-m2"} {
				rec, _, _ = b.s.BeginIdempotent(b.ctx, store.IdempotencyRecord{Key: k, Operation: "op", RequestHash: "h"})
				if !rec.Committed || (single && rec.Outcome.MetadataLocation != c.MetadataLocation) {
					t.Fatalf("commit member %s: %+v", k, rec)
				}
			}
			cur = b.getEntity(t, store.KindTable, cur.Ident)
		}
		if rec, _, _ = b.s.BeginIdempotent(b.ctx, store.IdempotencyRecord{Key: "k-hidden", Operation: "op", RequestHash: "h"}); rec.Committed {
			t.Fatal("an unrelated key was marked")
		}
	})
}

func (b *bundle) entity(id store.Ident, uuid string, keys []string) store.Entity {
	return store.Entity{Ident: id, Kind: store.KindTable, MetadataLocation: keys[0] + "metadata/00000.json",
		Metadata: metadataFor(id, 0), UUID: uuid, Claims: keys}
}

func (b *bundle) mkClaimed(t *testing.T, id store.Ident, uuid string, keys ...string) store.Entity {
	t.Helper()
	e := b.entity(id, uuid, keys)
	if err := b.s.CreateEntity(b.ctx, e); err != nil {
		t.Fatalf("CreateEntity(%s): %v", id, err)
	}
	return b.getEntity(t, store.KindTable, id)
}

func (b *bundle) mkClaimedNamespace(t *testing.T, key string, levels ...string) {
	t.Helper()
	ns := store.Namespace{Levels: levels, Location: key[:len(key)-1], Key: key}
	if err := b.s.CreateNamespace(b.ctx, b.wh, ns); err != nil {
		t.Fatalf("CreateNamespace(%q): %v", levels, err)
	}
}

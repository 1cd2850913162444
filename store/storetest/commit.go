package storetest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

func update(id store.Ident, kind store.Kind, base int64, loc string) store.Commit {
	return store.Commit{Ident: id, Kind: kind, BaseVersion: base, MetadataLocation: loc, Metadata: metadataFor(id, int(base))}
}

func testCommit(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("CompareAndSwap", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkNamespace(t, "db")
		for _, kind := range []store.Kind{store.KindTable, store.KindView} {
			t.Run(string(kind), func(t *testing.T) {
				id := b.ident("e_"+string(kind), "db")
				b.mkEntity(t, kind, id)
				c := update(id, kind, 1, "loc-2")
				noErr(t, b.s.Commit(b.ctx, []store.Commit{c}))
				got := b.getEntity(t, kind, id)
				if got.Version != 2 || got.MetadataLocation != "loc-2" || !bytes.Equal(got.Metadata, c.Metadata) {
					t.Fatalf("after commit: got %+v", got)
				}

				// The same base again is stale and changes nothing.
				err := b.s.Commit(b.ctx, []store.Commit{update(id, kind, 1, "loc-stale")})
				wantErr(t, err, errs.CommitFailed, "")
				if after := b.getEntity(t, kind, id); after.Version != 2 || after.MetadataLocation != "loc-2" || !bytes.Equal(after.Metadata, c.Metadata) {
					t.Fatalf("a stale commit changed the entity: %+v", after)
				}
				noErr(t, b.s.Commit(b.ctx, []store.Commit{update(id, kind, 2, "loc-3")}))
				if got := b.getEntity(t, kind, id); got.Version != 3 {
					t.Fatalf("version: got %d, want 3", got.Version)
				}
			})
		}
	})

	// A base names its metadata by location as well as by version: an
	// entity dropped and created again counts its versions from 1 again,
	// so a writer whose base predates the drop must lose, alone or in a
	// transaction with another entity.
	t.Run("BaseLocation", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkNamespace(t, "db")
		other := b.ident("other", "db")
		b.mkEntity(t, store.KindTable, other)
		for _, tc := range []struct {
			name string
			with []store.Commit // committed together with the one under test
		}{{"Alone", nil}, {"InTransaction", []store.Commit{{Ident: other, Kind: store.KindTable, MetadataLocation: "o", Metadata: []byte("{}")}}}} {
			t.Run(tc.name, func(t *testing.T) {
				id := b.ident("t_"+tc.name, "db")
				old := b.mkEntity(t, store.KindTable, id)
				if _, err := b.s.DropEntity(b.ctx, store.KindTable, id, false); err != nil {
					t.Fatal(err)
				}
				b.mkEntity(t, store.KindTable, id) // version 1 again, another location
				fresh := b.getEntity(t, store.KindTable, id)
				if fresh.MetadataLocation == old.MetadataLocation {
					fresh.MetadataLocation += "-recreated" // make the two differ
					noErr(t, b.s.Commit(b.ctx, []store.Commit{{Ident: id, Kind: store.KindTable, BaseVersion: 1, MetadataLocation: fresh.MetadataLocation, Metadata: fresh.Metadata}}))
					fresh = b.getEntity(t, store.KindTable, id)
				}
				commits := func(base store.Entity, loc string) []store.Commit {
					c := update(id, store.KindTable, base.Version, loc)
					c.BaseLocation = base.MetadataLocation
					out := []store.Commit{c}
					for _, w := range tc.with {
						w.BaseVersion = b.getEntity(t, store.KindTable, w.Ident).Version
						out = append(out, w)
					}
					return out
				}
				stale := old
				stale.Version = fresh.Version
				wantErr(t, b.s.Commit(b.ctx, commits(stale, "loc-stale")), errs.CommitFailed, "was replaced concurrently")
				if got := b.getEntity(t, store.KindTable, id); got.Version != fresh.Version || got.MetadataLocation != fresh.MetadataLocation {
					t.Fatalf("a commit on the dropped entity's metadata changed the new one: %+v", got)
				}
				noErr(t, b.s.Commit(b.ctx, commits(fresh, "loc-next")))
				if got := b.getEntity(t, store.KindTable, id); got.MetadataLocation != "loc-next" {
					t.Fatalf("after commit on the current base: %+v", got)
				}
			})
		}
	})

	t.Run("Errors", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkNamespace(t, "db")
		b.mkEntity(t, store.KindTable, b.ident("t", "db"))
		b.mkEntity(t, store.KindView, b.ident("v", "db"))
		for _, tc := range []struct {
			name    string
			commits []store.Commit
			want    errs.Kind
			msg     string
		}{
			{"MissingTable", []store.Commit{update(b.ident("x", "db"), store.KindTable, 1, "l")}, errs.NoSuchTable, "Table does not exist: db.x"},
			{"MissingView", []store.Commit{update(b.ident("x", "db"), store.KindView, 1, "l")}, errs.NoSuchView, "View does not exist: db.x"},
			{"ViewAsTable", []store.Commit{update(b.ident("v", "db"), store.KindTable, 1, "l")}, errs.NoSuchTable, ""},
			{"TableAsView", []store.Commit{update(b.ident("t", "db"), store.KindView, 1, "l")}, errs.NoSuchView, ""},
			{"Stale", []store.Commit{update(b.ident("t", "db"), store.KindTable, 7, "l")}, errs.CommitFailed, ""},
			{"Empty", nil, errs.BadRequest, ""},
			{"SameEntityTwice", []store.Commit{
				update(b.ident("t", "db"), store.KindTable, 1, "l"),
				update(b.ident("t", "db"), store.KindTable, 1, "l"),
			}, errs.BadRequest, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantErr(t, b.s.Commit(b.ctx, tc.commits), tc.want, tc.msg)
			})
		}
		for _, e := range []struct {
			kind store.Kind
			name string
		}{{store.KindTable, "t"}, {store.KindView, "v"}} {
			if got := b.getEntity(t, e.kind, b.ident(e.name, "db")); got.Version != 1 {
				t.Fatalf("%s changed by failed commits: %+v", e.name, got)
			}
		}
	})

	t.Run("AllOrNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkNamespace(t, "a")
		b.mkNamespace(t, "b")
		t1, t2, v := b.ident("t1", "a"), b.ident("t2", "b"), b.ident("v", "b")
		b.mkEntity(t, store.KindTable, t1)
		b.mkEntity(t, store.KindTable, t2)
		b.mkEntity(t, store.KindView, v)
		noErr(t, b.s.Commit(b.ctx, []store.Commit{update(t2, store.KindTable, 1, "t2-2")}))

		for _, tc := range []struct {
			name    string
			commits []store.Commit
			want    errs.Kind
		}{
			// t2 is at version 2: its part is stale, so t1 and v stay put.
			{"OneStale", []store.Commit{
				update(t1, store.KindTable, 1, "bad"), update(t2, store.KindTable, 1, "bad"), update(v, store.KindView, 1, "bad"),
			}, errs.CommitFailed},
			{"OneMissing", []store.Commit{
				update(t1, store.KindTable, 1, "bad"), update(b.ident("gone", "b"), store.KindTable, 1, "bad"),
			}, errs.NoSuchTable},
			{"OneCreateExists", []store.Commit{
				update(t1, store.KindTable, 1, "bad"), {Ident: t2, Kind: store.KindTable, Create: true, MetadataLocation: "bad"},
			}, errs.CommitFailed},
			{"OneCreateInMissingNamespace", []store.Commit{
				update(t1, store.KindTable, 1, "bad"), {Ident: b.ident("n", "nope"), Kind: store.KindTable, Create: true, MetadataLocation: "bad"},
			}, errs.NoSuchNamespace},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantErr(t, b.s.Commit(b.ctx, tc.commits), tc.want, "")
				for _, e := range []struct {
					kind    store.Kind
					id      store.Ident
					version int64
				}{{store.KindTable, t1, 1}, {store.KindTable, t2, 2}, {store.KindView, v, 1}} {
					if got := b.getEntity(t, e.kind, e.id); got.Version != e.version || got.MetadataLocation == "bad" {
						t.Fatalf("%s changed by a failed commit: %+v", e.id, got)
					}
				}
				ok, err := b.s.EntityExists(b.ctx, store.KindTable, b.ident("n", "nope"))
				noErr(t, err)
				if ok {
					t.Fatal("a failed commit created a table")
				}
			})
		}

		// All current: all applied, in any input order.
		noErr(t, b.s.Commit(b.ctx, []store.Commit{
			update(v, store.KindView, 1, "v-2"), update(t2, store.KindTable, 2, "t2-3"), update(t1, store.KindTable, 1, "t1-2"),
			{Ident: b.ident("new", "a"), Kind: store.KindTable, Create: true, MetadataLocation: "new-1", Metadata: []byte("{}")},
		}))
		for _, e := range []struct {
			kind    store.Kind
			id      store.Ident
			version int64
			loc     string
		}{{store.KindTable, t1, 2, "t1-2"}, {store.KindTable, t2, 3, "t2-3"}, {store.KindView, v, 2, "v-2"}, {store.KindTable, b.ident("new", "a"), 1, "new-1"}} {
			if got := b.getEntity(t, e.kind, e.id); got.Version != e.version || got.MetadataLocation != e.loc {
				t.Fatalf("%s: got version %d at %q, want %d at %q", e.id, got.Version, got.MetadataLocation, e.version, e.loc)
			}
		}
	})

	t.Run("Create", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkNamespace(t, "db")
		b.mkEntity(t, store.KindView, b.ident("v", "db"))
		id := b.ident("staged", "db")
		c := store.Commit{Ident: id, Kind: store.KindTable, Create: true, MetadataLocation: "m1", Metadata: metadataFor(id, 1)}
		noErr(t, b.s.Commit(b.ctx, []store.Commit{c}))
		got := b.getEntity(t, store.KindTable, id)
		if got.Version != 1 || got.MetadataLocation != "m1" || !bytes.Equal(got.Metadata, c.Metadata) {
			t.Fatalf("created by commit: %+v", got)
		}
		// The entity appeared (here: we created it) before this create commit.
		wantErr(t, b.s.Commit(b.ctx, []store.Commit{c}), errs.CommitFailed, "")
		// A view holding the name counts too.
		wantErr(t, b.s.Commit(b.ctx, []store.Commit{{Ident: b.ident("v", "db"), Kind: store.KindTable, Create: true, MetadataLocation: "x"}}), errs.CommitFailed, "")
		if got := b.getEntity(t, store.KindTable, id); got.Version != 1 || got.MetadataLocation != "m1" {
			t.Fatalf("a failed create commit changed the table: %+v", got)
		}
	})

	t.Run("ConcurrentSameBase", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkNamespace(t, "db")
		id := b.ident("hot", "db")
		b.mkEntity(t, store.KindTable, id)

		const writers = 16
		errsOut := make([]error, writers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range writers {
			wg.Go(func() {
				<-start
				errsOut[i] = b.s.Commit(b.ctx, []store.Commit{update(id, store.KindTable, 1, fmt.Sprintf("writer-%d", i))})
			})
		}
		close(start)
		wg.Wait()

		winner := -1
		for i, err := range errsOut {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("writers %d and %d both committed on base version 1", winner, i)
			case err == nil:
				winner = i
			case !errs.Is(err, errs.CommitFailed):
				t.Fatalf("writer %d: got %v, want CommitFailed", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("no writer committed")
		}
		got := b.getEntity(t, store.KindTable, id)
		if got.Version != 2 || got.MetadataLocation != fmt.Sprintf("writer-%d", winner) {
			t.Fatalf("after the race: %+v, winner %d", got, winner)
		}
	})

	// Writers that retry on CommitFailed, each changing both entities in a
	// random order, must all get through: row locks are taken in one order,
	// so they cannot deadlock, and no update is lost.
	t.Run("ConcurrentMultiEntity", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkNamespace(t, "x")
		b.mkNamespace(t, "y")
		ids := []store.Ident{b.ident("a", "y"), b.ident("b", "x")}
		for _, id := range ids {
			b.mkEntity(t, store.KindTable, id)
		}
		const writers, each = 4, 5
		var wg sync.WaitGroup
		failures := make(chan error, writers)
		for w := range writers {
			wg.Go(func() {
				for done := 0; done < each; {
					var cs []store.Commit
					for _, id := range ids {
						e, err := b.s.GetEntity(b.ctx, store.KindTable, id)
						if err != nil {
							failures <- err
							return
						}
						cs = append(cs, update(id, store.KindTable, e.Version, fmt.Sprintf("w%d-%d", w, done)))
					}
					rand.Shuffle(len(cs), func(i, j int) { cs[i], cs[j] = cs[j], cs[i] })
					switch err := b.s.Commit(b.ctx, cs); {
					case err == nil:
						done++
					case !errs.Is(err, errs.CommitFailed):
						failures <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(failures)
		for err := range failures {
			t.Fatalf("writer failed: %v", err)
		}
		for _, id := range ids {
			if got := b.getEntity(t, store.KindTable, id); got.Version != 1+writers*each {
				t.Fatalf("%s: version %d, want %d", id, got.Version, 1+writers*each)
			}
		}
	})
}

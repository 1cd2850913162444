package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

func namesOf(ids []store.Ident) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

func testEntities(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("CreateGetExists", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkNamespace(t, "db")
		for _, kind := range []store.Kind{store.KindTable, store.KindView} {
			t.Run(string(kind), func(t *testing.T) {
				id := b.ident("e_"+string(kind), "db")
				want := b.mkEntity(t, kind, id)
				got := b.getEntity(t, kind, id)
				if got.Kind != kind || got.Version != 1 || got.MetadataLocation != want.MetadataLocation || got.Ident.String() != id.String() || got.Ident.Warehouse != b.wh {
					t.Fatalf("GetEntity: got %+v, want %+v", got, want)
				}
				// Stored bytes come back exactly as given.
				if !bytes.Equal(got.Metadata, want.Metadata) {
					t.Fatalf("metadata: got %q, want %q", got.Metadata, want.Metadata)
				}
				other := store.KindView
				if kind == store.KindView {
					other = store.KindTable
				}
				for k, wantOK := range map[store.Kind]bool{kind: true, other: false} {
					ok, err := b.s.EntityExists(b.ctx, k, id)
					noErr(t, err)
					if ok != wantOK {
						t.Fatalf("EntityExists(%s): got %v, want %v", k, ok, wantOK)
					}
				}
			})
		}
	})

	// Concurrent reads of many keys (which a backend may merge into
	// batches) each get their own row, or NoSuchTable / NoSuchView for a
	// missing name, a name of the other kind, or a name in another
	// namespace; a later read sees a later version.
	t.Run("ConcurrentGets", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkNamespace(t, "db")
		b.mkNamespace(t, "db", "sub")
		type probe struct {
			kind store.Kind
			id   store.Ident
			want string // metadata location; "" for not found
		}
		var probes []probe
		for i := range 12 {
			kind := []store.Kind{store.KindTable, store.KindView}[i%2]
			ns := [][]string{{"db"}, {"db", "sub"}}[i/6]
			e := b.mkEntity(t, kind, b.ident(fmt.Sprintf("e%d", i), ns...))
			other := store.KindView
			if kind == store.KindView {
				other = store.KindTable
			}
			otherNs := [][]string{{"db", "sub"}, {"db"}}[i/6]
			probes = append(probes,
				probe{kind, e.Ident, e.MetadataLocation},
				probe{other, e.Ident, ""},
				probe{kind, b.ident(e.Ident.Name, otherNs...), ""},
				probe{kind, b.ident(fmt.Sprintf("missing%d", i), ns...), ""})
		}
		errc := make(chan error, 20*len(probes))
		var wg sync.WaitGroup
		for range 20 {
			for _, p := range probes {
				wg.Go(func() {
					e, err := b.s.GetEntity(b.ctx, p.kind, p.id)
					switch {
					case p.want == "" && !errs.Is(err, map[store.Kind]errs.Kind{store.KindTable: errs.NoSuchTable, store.KindView: errs.NoSuchView}[p.kind]):
						errc <- fmt.Errorf("GetEntity(%s %s): %v, want not found", p.kind, p.id, err)
					case p.want != "" && (err != nil || e.MetadataLocation != p.want || e.Kind != p.kind || e.Ident.String() != p.id.String()):
						errc <- fmt.Errorf("GetEntity(%s %s) = %+v, %v", p.kind, p.id, e, err)
					}
				})
			}
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Error(err)
		}

		id := b.ident("e0", "db")
		cur := b.getEntity(t, store.KindTable, id)
		next := update(id, store.KindTable, cur.Version, "s3://bucket/e0/metadata/00001.json")
		noErr(t, b.s.Commit(b.ctx, []store.Commit{next}))
		if got := b.getEntity(t, store.KindTable, id); got.Version != cur.Version+1 || got.MetadataLocation != "s3://bucket/e0/metadata/00001.json" {
			t.Fatalf("after commit: %+v", got)
		}
	})

	t.Run("OpaqueMetadata", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkNamespace(t, "db")
		raw := []byte("\x00\xff{ \"not\": json at all \x1f\n")
		id := b.ident("raw", "db")
		noErr(t, b.s.CreateEntity(b.ctx, store.Entity{Ident: id, Kind: store.KindTable, MetadataLocation: "m", Metadata: raw}))
		if got := b.getEntity(t, store.KindTable, id).Metadata; !bytes.Equal(got, raw) {
			t.Fatalf("metadata: got %q, want %q", got, raw)
		}
	})

	t.Run("CreateErrors", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkNamespace(t, "db")
		b.mkEntity(t, store.KindTable, b.ident("t", "db"))
		b.mkEntity(t, store.KindView, b.ident("v", "db"))
		for _, tc := range []struct {
			name string
			kind store.Kind
			id   store.Ident
			want errs.Kind
			msg  string
		}{
			{"TableOverTable", store.KindTable, b.ident("t", "db"), errs.AlreadyExists, "Table already exists: db.t"},
			{"ViewOverView", store.KindView, b.ident("v", "db"), errs.AlreadyExists, "View already exists: db.v"},
			{"ViewOverTable", store.KindView, b.ident("t", "db"), errs.AlreadyExists, "Table with same name already exists: db.t"},
			{"TableOverView", store.KindTable, b.ident("v", "db"), errs.AlreadyExists, "View with same name already exists: db.v"},
			{"MissingNamespace", store.KindTable, b.ident("t", "nope", "x"), errs.NoSuchNamespace, "Namespace does not exist: nope.x"},
			{"NoNamespace", store.KindTable, b.ident("t"), errs.BadRequest, ""},
			{"NoName", store.KindTable, b.ident("", "db"), errs.BadRequest, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := b.s.CreateEntity(b.ctx, store.Entity{Ident: tc.id, Kind: tc.kind, MetadataLocation: "m", Metadata: []byte("{}")})
				wantErr(t, err, tc.want, tc.msg)
			})
		}
		// The losers changed nothing.
		if got := b.getEntity(t, store.KindTable, b.ident("t", "db")); got.MetadataLocation == "m" {
			t.Fatal("a failed create overwrote the existing table")
		}
	})

	t.Run("GetErrors", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkNamespace(t, "db")
		b.mkEntity(t, store.KindTable, b.ident("t", "db"))
		b.mkEntity(t, store.KindView, b.ident("v", "db"))
		for _, tc := range []struct {
			name string
			kind store.Kind
			id   store.Ident
			want errs.Kind
			msg  string
		}{
			{"MissingTable", store.KindTable, b.ident("x", "db"), errs.NoSuchTable, "Table does not exist: db.x"},
			{"MissingView", store.KindView, b.ident("x", "db"), errs.NoSuchView, "View does not exist: db.x"},
			{"ViewAsTable", store.KindTable, b.ident("v", "db"), errs.NoSuchTable, "Table does not exist: db.v"},
			{"TableAsView", store.KindView, b.ident("t", "db"), errs.NoSuchView, "View does not exist: db.t"},
			{"MissingNamespace", store.KindTable, b.ident("t", "nope"), errs.NoSuchTable, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := b.s.GetEntity(b.ctx, tc.kind, tc.id)
				wantErr(t, err, tc.want, tc.msg)
			})
		}
	})

	t.Run("List", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkNamespace(t, "db")
		b.mkNamespace(t, "db", "inner")
		b.mkNamespace(t, "empty")
		var tables, views []string
		for _, n := range []int{4, 0, 6, 2, 5, 1, 3} {
			name := fmt.Sprintf("t%d", n)
			b.mkEntity(t, store.KindTable, b.ident(name, "db"))
			tables = append(tables, "db."+name)
		}
		for _, n := range []int{2, 0, 1} {
			name := fmt.Sprintf("v%d", n)
			b.mkEntity(t, store.KindView, b.ident(name, "db"))
			views = append(views, "db."+name)
		}
		b.mkEntity(t, store.KindTable, b.ident("deeper", "db", "inner"))
		slices.Sort(tables)
		slices.Sort(views)

		for _, tc := range []struct {
			kind  store.Kind
			limit int
			want  []string
		}{
			{store.KindTable, 0, tables},
			{store.KindTable, 3, tables},
			{store.KindTable, 7, tables},
			{store.KindView, 2, views},
			{store.KindView, 0, views},
		} {
			t.Run(fmt.Sprintf("%s/limit%d", tc.kind, tc.limit), func(t *testing.T) {
				var got []string
				after := ""
				for {
					page, err := b.s.ListEntities(b.ctx, tc.kind, b.wh, []string{"db"}, store.Page{After: after, Limit: tc.limit})
					noErr(t, err)
					if tc.limit > 0 && len(page) > tc.limit {
						t.Fatalf("page of %d, limit %d", len(page), tc.limit)
					}
					if len(page) == 0 {
						break
					}
					got = append(got, namesOf(page)...)
					after = page[len(page)-1].Name
					if tc.limit <= 0 {
						break
					}
				}
				equalStrings(t, "listed", got, tc.want)
			})
		}

		got, err := b.s.ListEntities(b.ctx, store.KindTable, b.wh, []string{"empty"}, store.Page{})
		noErr(t, err)
		equalStrings(t, "empty namespace", namesOf(got), nil)
		_, err = b.s.ListEntities(b.ctx, store.KindTable, b.wh, []string{"nope"}, store.Page{})
		wantErr(t, err, errs.NoSuchNamespace, "Namespace does not exist: nope")
		_, err = b.s.ListEntities(b.ctx, store.KindView, b.wh, []string{"nope"}, store.Page{})
		wantErr(t, err, errs.NoSuchNamespace, "")
	})

	t.Run("Rename", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkNamespace(t, "a")
		b.mkNamespace(t, "b")
		b.mkNamespace(t, "b", "c")
		orig := b.mkEntity(t, store.KindTable, b.ident("t", "a"))
		noErr(t, b.s.Commit(b.ctx, []store.Commit{{Ident: orig.Ident, Kind: store.KindTable, BaseVersion: 1, MetadataLocation: "m2", Metadata: []byte("{}")}}))

		to := b.ident("t2", "b", "c")
		noErr(t, b.s.RenameEntity(b.ctx, store.KindTable, orig.Ident, to))
		_, err := b.s.GetEntity(b.ctx, store.KindTable, orig.Ident)
		wantErr(t, err, errs.NoSuchTable, "")
		got := b.getEntity(t, store.KindTable, to)
		if got.Version != 2 || got.MetadataLocation != "m2" || got.Ident.String() != "b.c.t2" {
			t.Fatalf("renamed table: got %+v", got)
		}
		// Renamed views stay views.
		v := b.mkEntity(t, store.KindView, b.ident("v", "a"))
		noErr(t, b.s.RenameEntity(b.ctx, store.KindView, v.Ident, b.ident("v", "b")))
		b.getEntity(t, store.KindView, b.ident("v", "b"))
	})

	t.Run("RenameErrors", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkNamespace(t, "a")
		b.mkNamespace(t, "b")
		b.mkEntity(t, store.KindTable, b.ident("t", "a"))
		b.mkEntity(t, store.KindTable, b.ident("t", "b"))
		b.mkEntity(t, store.KindView, b.ident("v", "b"))
		b.mkEntity(t, store.KindView, b.ident("v", "a"))
		for _, tc := range []struct {
			name     string
			kind     store.Kind
			from, to store.Ident
			want     errs.Kind
			msg      string
		}{
			{"OntoTable", store.KindTable, b.ident("t", "a"), b.ident("t", "b"), errs.AlreadyExists, "Table already exists: b.t"},
			{"OntoView", store.KindTable, b.ident("t", "a"), b.ident("v", "b"), errs.AlreadyExists, "View with same name already exists: b.v"},
			{"ViewOntoTable", store.KindView, b.ident("v", "a"), b.ident("t", "b"), errs.AlreadyExists, "Table with same name already exists: b.t"},
			{"MissingNamespace", store.KindTable, b.ident("t", "a"), b.ident("t", "nope"), errs.NoSuchNamespace, "Namespace does not exist: nope"},
			{"MissingSource", store.KindTable, b.ident("x", "a"), b.ident("y", "a"), errs.NoSuchTable, "Table does not exist: a.x"},
			{"ViewAsTable", store.KindTable, b.ident("v", "a"), b.ident("y", "a"), errs.NoSuchTable, ""},
			{"TableAsView", store.KindView, b.ident("t", "a"), b.ident("y", "a"), errs.NoSuchView, "View does not exist: a.t"},
			{"OtherWarehouse", store.KindTable, b.ident("t", "a"), store.Ident{Warehouse: "other", Namespace: []string{"a"}, Name: "t"}, errs.BadRequest, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantErr(t, b.s.RenameEntity(b.ctx, tc.kind, tc.from, tc.to), tc.want, tc.msg)
			})
		}
		// Nothing moved.
		b.getEntity(t, store.KindTable, b.ident("t", "a"))
		b.getEntity(t, store.KindView, b.ident("v", "a"))
	})

	t.Run("Drop", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkNamespace(t, "db")
		e := b.mkEntity(t, store.KindTable, b.ident("t", "db"))
		b.mkEntity(t, store.KindView, b.ident("v", "db"))

		_, err := b.s.DropEntity(b.ctx, store.KindView, e.Ident, false)
		wantErr(t, err, errs.NoSuchView, "View does not exist: db.t")
		_, err = b.s.DropEntity(b.ctx, store.KindTable, b.ident("v", "db"), false)
		wantErr(t, err, errs.NoSuchTable, "Table does not exist: db.v")

		dropped, err := b.s.DropEntity(b.ctx, store.KindTable, e.Ident, false)
		noErr(t, err)
		if dropped.MetadataLocation != e.MetadataLocation || !bytes.Equal(dropped.Metadata, e.Metadata) || dropped.Version != 1 || dropped.Kind != store.KindTable {
			t.Fatalf("dropped: got %+v, want %+v", dropped, e)
		}
		_, err = b.s.GetEntity(b.ctx, store.KindTable, e.Ident)
		wantErr(t, err, errs.NoSuchTable, "")
		_, err = b.s.DropEntity(b.ctx, store.KindTable, e.Ident, false)
		wantErr(t, err, errs.NoSuchTable, "")

		// Without purge, no job.
		jobs, err := b.s.ClaimPurgeJobs(b.ctx, 10, time.Now().Add(time.Hour), time.Now().Add(2*time.Hour))
		noErr(t, err)
		if len(jobs) != 0 {
			t.Fatalf("drop without purge queued %d jobs", len(jobs))
		}
		// The name is free again, for either kind.
		b.mkEntity(t, store.KindView, e.Ident)
	})

	t.Run("DropWithPurge", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkNamespace(t, "db")
		tbl := b.mkEntity(t, store.KindTable, b.ident("t", "db"))
		view := b.mkEntity(t, store.KindView, b.ident("v", "db"))
		for _, e := range []store.Entity{tbl, view} {
			_, err := b.s.DropEntity(b.ctx, e.Kind, e.Ident, true)
			noErr(t, err)
		}
		jobs, err := b.s.ClaimPurgeJobs(b.ctx, 10, time.Now().Add(time.Minute), time.Now().Add(time.Hour))
		noErr(t, err)
		if len(jobs) != 2 {
			t.Fatalf("got %d purge jobs, want 2", len(jobs))
		}
		for i, e := range []store.Entity{tbl, view} {
			j := jobs[i]
			if j.Location != "s3://bucket/"+e.Ident.Name || j.MetadataLocation != e.MetadataLocation || !bytes.Equal(j.Metadata, e.Metadata) || j.Attempts != 0 {
				t.Fatalf("job %d: got %+v for %+v", i, j, e)
			}
		}
	})
}

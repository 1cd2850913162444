package storetest

import (
	"errors"
	"testing"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

// testFunctions: functions (SQL UDFs) are a third kind of entity, stored,
// listed, renamed, committed, dropped and claimed like views, and sharing
// the namespace's name space with tables and views.
func testFunctions(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("Lifecycle", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkNamespace(t, "db")
		b.mkNamespace(t, "other")
		id := b.ident("f", "db")
		want := b.mkEntity(t, store.KindFunction, id)
		got := b.getEntity(t, store.KindFunction, id)
		if got.Kind != store.KindFunction || got.Version != 1 || got.MetadataLocation != want.MetadataLocation || string(got.Metadata) != string(want.Metadata) {
			t.Fatalf("GetEntity: got %+v, want %+v", got, want)
		}
		for _, k := range store.Kinds {
			ok, err := b.s.EntityExists(b.ctx, k, id)
			noErr(t, err)
			if ok != (k == store.KindFunction) {
				t.Fatalf("EntityExists(%s): %v", k, ok)
			}
		}

		// Listing is per kind: tables and views of the namespace are not
		// functions.
		b.mkEntity(t, store.KindTable, b.ident("t", "db"))
		b.mkEntity(t, store.KindView, b.ident("v", "db"))
		b.mkEntity(t, store.KindFunction, b.ident("a", "db"))
		ids, err := b.s.ListEntities(b.ctx, store.KindFunction, b.wh, []string{"db"}, store.Page{})
		noErr(t, err)
		equalStrings(t, "functions", namesOf(ids), []string{"db.a", "db.f"})
		ids, err = b.s.ListEntities(b.ctx, store.KindFunction, b.wh, []string{"db"}, store.Page{After: "a", Limit: 1})
		noErr(t, err)
		equalStrings(t, "second page", namesOf(ids), []string{"db.f"})
		ids, err = b.s.ListEntities(b.ctx, store.KindTable, b.wh, []string{"db"}, store.Page{})
		noErr(t, err)
		equalStrings(t, "tables", namesOf(ids), []string{"db.t"})
		_, err = b.s.ListEntities(b.ctx, store.KindFunction, b.wh, []string{"nope"}, store.Page{})
		wantErr(t, err, errs.NoSuchNamespace, "Namespace does not exist: nope")

		// Replace: compare-and-swap on the version, as for views.
		noErr(t, b.s.Commit(b.ctx, []store.Commit{update(id, store.KindFunction, 1, "f-2")}))
		err = b.s.Commit(b.ctx, []store.Commit{update(id, store.KindFunction, 1, "f-3")})
		wantErr(t, err, errs.CommitFailed, "function db.f was updated concurrently")
		if got := b.getEntity(t, store.KindFunction, id); got.Version != 2 || got.MetadataLocation != "f-2" {
			t.Fatalf("after commits: %+v", got)
		}

		// Rename across namespaces keeps the row.
		moved := b.ident("g", "other")
		noErr(t, b.s.RenameEntity(b.ctx, store.KindFunction, id, moved))
		if got := b.getEntity(t, store.KindFunction, moved); got.MetadataLocation != "f-2" || got.Version != 2 {
			t.Fatalf("renamed: %+v", got)
		}

		// A namespace holding a function is not empty.
		wantErr(t, b.s.DropNamespace(b.ctx, b.wh, []string{"other"}), errs.NamespaceNotEmpty, "it contains functions")

		dropped, err := b.s.DropEntity(b.ctx, store.KindFunction, moved, false)
		noErr(t, err)
		if dropped.MetadataLocation != "f-2" {
			t.Fatalf("dropped: %+v", dropped)
		}
		_, err = b.s.GetEntity(b.ctx, store.KindFunction, moved)
		wantErr(t, err, errs.NoSuchFunction, "Function does not exist: other.g")
		noErr(t, b.s.DropNamespace(b.ctx, b.wh, []string{"other"}))
	})

	// One identifier names one catalog object: a function cannot take the
	// name of a table or view, nor they a function's, and every operation
	// of one kind leaves the others alone.
	t.Run("SharedNameSpace", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkNamespace(t, "db")
		b.mkEntity(t, store.KindTable, b.ident("t", "db"))
		b.mkEntity(t, store.KindView, b.ident("v", "db"))
		b.mkEntity(t, store.KindFunction, b.ident("f", "db"))
		fn := func(id store.Ident) store.Entity {
			return store.Entity{Ident: id, Kind: store.KindFunction, MetadataLocation: "m", Metadata: []byte("{}")}
		}
		cases := []struct {
			name string
			run  func() error
			kind errs.Kind
			msg  string
		}{
			{"FunctionOverTable", func() error { return b.s.CreateEntity(b.ctx, fn(b.ident("t", "db"))) }, errs.AlreadyExists, "Table with same name already exists: db.t"},
			{"FunctionOverView", func() error { return b.s.CreateEntity(b.ctx, fn(b.ident("v", "db"))) }, errs.AlreadyExists, "View with same name already exists: db.v"},
			{"FunctionOverFunction", func() error { return b.s.CreateEntity(b.ctx, fn(b.ident("f", "db"))) }, errs.AlreadyExists, "Function already exists: db.f"},
			{"TableOverFunction", func() error {
				return b.s.CreateEntity(b.ctx, store.Entity{Ident: b.ident("f", "db"), Kind: store.KindTable, MetadataLocation: "m", Metadata: []byte("{}")})
			}, errs.AlreadyExists, "Function with same name already exists: db.f"},
			{"ViewOverFunction", func() error {
				return b.s.CreateEntity(b.ctx, store.Entity{Ident: b.ident("f", "db"), Kind: store.KindView, MetadataLocation: "m", Metadata: []byte("{}")})
			}, errs.AlreadyExists, "Function with same name already exists: db.f"},
			{"RenameFunctionOntoTable", func() error { return b.s.RenameEntity(b.ctx, store.KindFunction, b.ident("f", "db"), b.ident("t", "db")) }, errs.AlreadyExists, "Table with same name already exists: db.t"},
			{"RenameViewOntoFunction", func() error { return b.s.RenameEntity(b.ctx, store.KindView, b.ident("v", "db"), b.ident("f", "db")) }, errs.AlreadyExists, "Function with same name already exists: db.f"},
			{"GetTableAsFunction", func() error { _, err := b.s.GetEntity(b.ctx, store.KindFunction, b.ident("t", "db")); return err }, errs.NoSuchFunction, "Function does not exist: db.t"},
			{"GetFunctionAsView", func() error { _, err := b.s.GetEntity(b.ctx, store.KindView, b.ident("f", "db")); return err }, errs.NoSuchView, "View does not exist: db.f"},
			{"DropViewAsFunction", func() error { _, err := b.s.DropEntity(b.ctx, store.KindFunction, b.ident("v", "db"), false); return err }, errs.NoSuchFunction, ""},
			{"RenameTableAsFunction", func() error { return b.s.RenameEntity(b.ctx, store.KindFunction, b.ident("t", "db"), b.ident("x", "db")) }, errs.NoSuchFunction, ""},
			{"CommitFunctionAsTable", func() error {
				return b.s.Commit(b.ctx, []store.Commit{update(b.ident("f", "db"), store.KindTable, 1, "x")})
			}, errs.NoSuchTable, ""},
			{"CommitViewAsFunction", func() error {
				return b.s.Commit(b.ctx, []store.Commit{update(b.ident("v", "db"), store.KindFunction, 1, "x")})
			}, errs.NoSuchFunction, ""},
			{"BadName", func() error { return b.s.CreateEntity(b.ctx, fn(b.ident("a\x00b", "db"))) }, errs.BadRequest, "Function name"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				wantErr(t, tc.run(), tc.kind, tc.msg)
			})
		}
		for _, k := range store.Kinds {
			name := map[store.Kind]string{store.KindTable: "t", store.KindView: "v", store.KindFunction: "f"}[k]
			if got := b.getEntity(t, k, b.ident(name, "db")); got.Version != 1 {
				t.Fatalf("%s %s changed: %+v", k, name, got)
			}
		}
	})

	// A function's location is claimed like a view's: it may not overlap a
	// table's, and its claims go with it when it is dropped.
	t.Run("Claims", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkClaimedNamespace(t, "s3://b/wh/a/", "a")
		b.mkClaimed(t, b.ident("t", "a"), "uuid-t", "s3://b/wh/a/t/")
		fn := func(name, uuid, key string) store.Entity {
			return store.Entity{Ident: b.ident(name, "a"), Kind: store.KindFunction, MetadataLocation: key + "metadata/00000.json",
				Metadata: []byte("{}"), UUID: uuid, Claims: []string{key}}
		}
		err := b.s.CreateEntity(b.ctx, fn("f", "uuid-f", "s3://b/wh/a/t/f/"))
		if !errors.Is(err, store.ErrLocationOwned) {
			t.Fatalf("function inside a table's location: %v", err)
		}
		noErr(t, b.s.CreateEntity(b.ctx, fn("f", "uuid-f", "s3://b/wh/a/f/")))
		// The UUID is unique across kinds.
		wantErr(t, b.s.CreateEntity(b.ctx, fn("g", "uuid-t", "s3://b/wh/a/g/")), errs.AlreadyExists, "UUID uuid-t")
		// A table may not take the function's location either.
		err = b.s.CreateEntity(b.ctx, b.entity(b.ident("u", "a"), "uuid-u", []string{"s3://b/wh/a/f/"}))
		if !errors.Is(err, store.ErrLocationOwned) {
			t.Fatalf("table on a function's location: %v", err)
		}
		_, err = b.s.DropEntity(b.ctx, store.KindFunction, b.ident("f", "a"), false)
		noErr(t, err)
		noErr(t, b.s.CreateEntity(b.ctx, b.entity(b.ident("u", "a"), "uuid-u", []string{"s3://b/wh/a/f/"})))
	})

	t.Run("Events", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkNamespace(t, "db")
		id := b.ident("f", "db")
		after := b.lastEventID(t)
		noErr(t, b.s.CreateEntity(b.ctx, store.Entity{Ident: id, Kind: store.KindFunction, MetadataLocation: "f/0.json", Metadata: []byte("{}")}))
		noErr(t, b.s.Commit(b.ctx, []store.Commit{update(id, store.KindFunction, 1, "f/1.json")}))
		moved := b.ident("g", "db")
		noErr(t, b.s.RenameEntity(b.ctx, store.KindFunction, id, moved))
		_, err := b.s.DropEntity(b.ctx, store.KindFunction, moved, true)
		noErr(t, err)
		noErr(t, b.s.CreateEntity(b.ctx, store.Entity{Ident: id, Kind: store.KindFunction, MetadataLocation: "f/1.json", Metadata: []byte("{}"), EventType: store.EventFunctionRegistered}))
		// A function event type is refused for another kind.
		err = b.s.CreateEntity(b.ctx, store.Entity{Ident: b.ident("t", "db"), Kind: store.KindTable, MetadataLocation: "t", Metadata: []byte("{}"), EventType: store.EventFunctionRegistered})
		wantErr(t, err, errs.Internal, "")

		evs := b.eventsAfter(t, after)
		var types []string
		for _, e := range evs {
			types = append(types, string(e.Type))
		}
		equalStrings(t, "event types", types, []string{"function.created", "function.replaced", "function.renamed", "function.dropped", "function.registered"})
		if evs[1].PreviousMetadataLocation != "f/0.json" || evs[1].MetadataLocation != "f/1.json" {
			t.Fatalf("replaced event: %+v", evs[1])
		}
		if r := evs[2].RenamedTo; r == nil || r.Name != "g" {
			t.Fatalf("renamed event: %+v", evs[2])
		}
		if !evs[3].PurgeRequested || evs[3].Type.Object() != "function" {
			t.Fatalf("dropped event: %+v", evs[3])
		}
	})
}

package storetest

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

func levelsOf(nss []store.Namespace) []string {
	out := make([]string, len(nss))
	for i, ns := range nss {
		out[i] = fmt.Sprint(ns.Levels)
	}
	return out
}

func testNamespaces(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("CreateGetExists", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		props := map[string]string{"owner": "me", "comment": "x"}
		noErr(t, b.s.CreateNamespace(b.ctx, b.wh, store.Namespace{Levels: []string{"db"}, Properties: props}))

		ns, err := b.s.GetNamespace(b.ctx, b.wh, []string{"db"})
		noErr(t, err)
		equalStrings(t, "levels", ns.Levels, []string{"db"})
		if !maps.Equal(ns.Properties, props) {
			t.Fatalf("properties: got %v, want %v", ns.Properties, props)
		}
		ok, err := b.s.NamespaceExists(b.ctx, b.wh, []string{"db"})
		noErr(t, err)
		if !ok {
			t.Fatal("NamespaceExists: got false for an existing namespace")
		}

		// Without properties the map is empty, never nil.
		b.mkNamespace(t, "bare")
		ns, err = b.s.GetNamespace(b.ctx, b.wh, []string{"bare"})
		noErr(t, err)
		if ns.Properties == nil || len(ns.Properties) != 0 {
			t.Fatalf("properties of a bare namespace: got %#v, want empty map", ns.Properties)
		}
	})

	t.Run("Missing", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		_, err := b.s.GetNamespace(b.ctx, b.wh, []string{"no", "such"})
		wantErr(t, err, errs.NoSuchNamespace, "Namespace does not exist: no.such")
		ok, err := b.s.NamespaceExists(b.ctx, b.wh, []string{"no"})
		noErr(t, err)
		if ok {
			t.Fatal("NamespaceExists: got true for a missing namespace")
		}
	})

	t.Run("CreateErrors", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkNamespace(t, "a")
		for _, tc := range []struct {
			name   string
			levels []string
			kind   errs.Kind
			msg    string
		}{
			{"Duplicate", []string{"a"}, errs.AlreadyExists, "Namespace already exists: a"},
			{"MissingParent", []string{"x", "y"}, errs.NoSuchNamespace, "Namespace does not exist: x"},
			{"MissingGrandparent", []string{"a", "b", "c"}, errs.NoSuchNamespace, "Namespace does not exist: a.b"},
			{"NoLevels", nil, errs.BadRequest, ""},
			{"EmptyLevel", []string{"a", ""}, errs.BadRequest, ""},
			{"SeparatorInLevel", []string{"a\x1fb"}, errs.BadRequest, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := b.s.CreateNamespace(b.ctx, b.wh, store.Namespace{Levels: tc.levels})
				wantErr(t, err, tc.kind, tc.msg)
			})
		}
	})

	t.Run("NestedLevelsWithDots", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkNamespace(t, "a.b")
		b.mkNamespace(t, "a.b", "c.d")
		b.mkNamespace(t, "a")

		ns, err := b.s.GetNamespace(b.ctx, b.wh, []string{"a.b", "c.d"})
		noErr(t, err)
		equalStrings(t, "levels", ns.Levels, []string{"a.b", "c.d"})

		// The dotted level is one level, not two.
		_, err = b.s.GetNamespace(b.ctx, b.wh, []string{"a", "b"})
		wantErr(t, err, errs.NoSuchNamespace, "")
		err = b.s.CreateNamespace(b.ctx, b.wh, store.Namespace{Levels: []string{"a", "b", "c"}})
		wantErr(t, err, errs.NoSuchNamespace, "")

		got, err := b.s.ListNamespaces(b.ctx, b.wh, []string{"a.b"}, store.Page{})
		noErr(t, err)
		equalStrings(t, "children of a.b", levelsOf(got), []string{"[a.b c.d]"})
		got, err = b.s.ListNamespaces(b.ctx, b.wh, []string{"a"}, store.Page{})
		noErr(t, err)
		equalStrings(t, "children of a", levelsOf(got), nil)
	})

	t.Run("ListDirectChildren", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		for _, l := range [][]string{{"e"}, {"a"}, {"a", "d"}, {"a", "b"}, {"a", "b", "c"}, {"ab"}} {
			b.mkNamespace(t, l...)
		}
		for _, tc := range []struct {
			name   string
			parent []string
			want   []string
		}{
			{"Top", nil, []string{"[a]", "[ab]", "[e]"}},
			{"OneDown", []string{"a"}, []string{"[a b]", "[a d]"}},
			{"TwoDown", []string{"a", "b"}, []string{"[a b c]"}},
			{"Leaf", []string{"e"}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := b.s.ListNamespaces(b.ctx, b.wh, tc.parent, store.Page{})
				noErr(t, err)
				equalStrings(t, "list", levelsOf(got), tc.want)
			})
		}
		_, err := b.s.ListNamespaces(b.ctx, b.wh, []string{"zz"}, store.Page{})
		wantErr(t, err, errs.NoSuchNamespace, "Namespace does not exist: zz")
	})

	t.Run("ListPagination", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkNamespace(t, "p")
		var wantTop, wantChild []string
		for _, n := range []int{7, 2, 9, 0, 4, 1, 8, 3, 6, 5} {
			name := fmt.Sprintf("n%02d", n)
			b.mkNamespace(t, name)
			b.mkNamespace(t, "p", name)
			wantTop = append(wantTop, fmt.Sprint([]string{name}))
			wantChild = append(wantChild, fmt.Sprint([]string{"p", name}))
		}
		wantTop = append(wantTop, "[p]")
		slices.Sort(wantTop)
		slices.Sort(wantChild)

		for _, tc := range []struct {
			name   string
			parent []string
			want   []string
		}{
			{"Top", nil, wantTop},
			{"Child", []string{"p"}, wantChild},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var got []string
				after, pages := "", 0
				for {
					page, err := b.s.ListNamespaces(b.ctx, b.wh, tc.parent, store.Page{After: after, Limit: 3})
					noErr(t, err)
					if len(page) > 3 {
						t.Fatalf("page of %d, limit 3", len(page))
					}
					if len(page) == 0 {
						break
					}
					pages++
					got = append(got, levelsOf(page)...)
					last := page[len(page)-1].Levels
					after = last[len(last)-1]
				}
				equalStrings(t, "all pages", got, tc.want)
				if want := (len(tc.want) + 2) / 3; pages != want {
					t.Fatalf("pages: got %d, want %d", pages, want)
				}
			})
		}
	})

	t.Run("WarehousesAreSeparate", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkNamespace(t, "shared")
		noErr(t, b.s.CreateNamespace(b.ctx, "other", store.Namespace{Levels: []string{"shared"}}))
		noErr(t, b.s.CreateNamespace(b.ctx, "other", store.Namespace{Levels: []string{"only-other"}}))
		got, err := b.s.ListNamespaces(b.ctx, b.wh, nil, store.Page{})
		noErr(t, err)
		equalStrings(t, "list", levelsOf(got), []string{"[shared]"})
	})

	t.Run("UpdateProperties", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		noErr(t, b.s.CreateNamespace(b.ctx, b.wh, store.Namespace{Levels: []string{"db"}, Properties: map[string]string{"a": "1", "b": "2", "c": "3"}}))

		ch, err := b.s.UpdateNamespaceProperties(b.ctx, b.wh, []string{"db"}, []string{"c", "zz", "b"}, map[string]string{"a": "10", "d": "4"})
		noErr(t, err)
		equalStrings(t, "updated", ch.Updated, []string{"a", "d"})
		equalStrings(t, "removed", ch.Removed, []string{"b", "c"})
		equalStrings(t, "missing", ch.Missing, []string{"zz"})

		ns, err := b.s.GetNamespace(b.ctx, b.wh, []string{"db"})
		noErr(t, err)
		if want := map[string]string{"a": "10", "d": "4"}; !maps.Equal(ns.Properties, want) {
			t.Fatalf("properties: got %v, want %v", ns.Properties, want)
		}

		_, err = b.s.UpdateNamespaceProperties(b.ctx, b.wh, []string{"nope"}, nil, map[string]string{"a": "1"})
		wantErr(t, err, errs.NoSuchNamespace, "Namespace does not exist: nope")
		_, err = b.s.UpdateNamespaceProperties(b.ctx, b.wh, []string{"db"}, []string{"a"}, map[string]string{"a": "1"})
		wantErr(t, err, errs.Unprocessable, "")
	})

	t.Run("Drop", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.mkNamespace(t, "empty")
		b.mkNamespace(t, "with-table")
		b.mkEntity(t, store.KindTable, b.ident("t", "with-table"))
		b.mkNamespace(t, "with-view")
		b.mkEntity(t, store.KindView, b.ident("v", "with-view"))
		b.mkNamespace(t, "with-child")
		b.mkNamespace(t, "with-child", "child")

		for _, tc := range []struct {
			name   string
			levels []string
			kind   errs.Kind
			msg    string
		}{
			{"Missing", []string{"nope"}, errs.NoSuchNamespace, "Namespace does not exist: nope"},
			{"HoldsTable", []string{"with-table"}, errs.NamespaceNotEmpty, "tables"},
			{"HoldsView", []string{"with-view"}, errs.NamespaceNotEmpty, "views"},
			{"HoldsNamespace", []string{"with-child"}, errs.NamespaceNotEmpty, "namespaces"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantErr(t, b.s.DropNamespace(b.ctx, b.wh, tc.levels), tc.kind, tc.msg)
				if tc.kind == errs.NamespaceNotEmpty {
					ok, err := b.s.NamespaceExists(b.ctx, b.wh, tc.levels)
					noErr(t, err)
					if !ok {
						t.Fatal("a namespace that is not empty was dropped")
					}
				}
			})
		}

		noErr(t, b.s.DropNamespace(b.ctx, b.wh, []string{"empty"}))
		_, err := b.s.GetNamespace(b.ctx, b.wh, []string{"empty"})
		wantErr(t, err, errs.NoSuchNamespace, "")

		// Emptied namespaces can go, children first.
		noErr(t, b.s.DropNamespace(b.ctx, b.wh, []string{"with-child", "child"}))
		noErr(t, b.s.DropNamespace(b.ctx, b.wh, []string{"with-child"}))
		_, err = b.s.DropEntity(b.ctx, store.KindTable, b.ident("t", "with-table"), false)
		noErr(t, err)
		noErr(t, b.s.DropNamespace(b.ctx, b.wh, []string{"with-table"}))
	})
}

package catalog_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bingsan/bingsan/catalog"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

func TestNamespaces(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{})
	ctx := context.Background()
	svc := e.svc

	ns, err := svc.CreateNamespace(ctx, warehouse, store.Namespace{Levels: []string{"a"}, Properties: map[string]string{"owner": "me"}})
	if err != nil || ns.Properties["owner"] != "me" {
		t.Fatalf("CreateNamespace = %+v, %v", ns, err)
	}
	_, err = svc.CreateNamespace(ctx, warehouse, store.Namespace{Levels: []string{"a"}})
	wantKind(t, err, errs.AlreadyExists)
	if err.Error() != "Namespace already exists: a" {
		t.Errorf("message = %q", err.Error())
	}
	if _, err := svc.CreateNamespace(ctx, warehouse, store.Namespace{Levels: []string{"a", "b.c"}}); err != nil {
		t.Fatalf("nested namespace with a dot: %v", err)
	}
	got, err := svc.GetNamespace(ctx, warehouse, []string{"a"})
	if err != nil || got.Properties["owner"] != "me" {
		t.Errorf("GetNamespace = %+v, %v", got, err)
	}
	if err := svc.NamespaceExists(ctx, warehouse, []string{"a", "b.c"}); err != nil {
		t.Errorf("NamespaceExists: %v", err)
	}
	wantKind(t, svc.NamespaceExists(ctx, warehouse, []string{"a", "b"}), errs.NoSuchNamespace)
	_, err = svc.GetNamespace(ctx, warehouse, []string{"x", "y"})
	wantKind(t, err, errs.NoSuchNamespace)
	if err.Error() != "Namespace does not exist: x.y" {
		t.Errorf("message = %q", err.Error())
	}

	ch, err := svc.UpdateNamespaceProperties(ctx, warehouse, []string{"a"}, []string{"owner", "gone"}, map[string]string{"k": "v"})
	if err != nil || !slices.Equal(ch.Updated, []string{"k"}) || !slices.Equal(ch.Removed, []string{"owner"}) || !slices.Equal(ch.Missing, []string{"gone"}) {
		t.Errorf("UpdateNamespaceProperties = %+v, %v", ch, err)
	}
	_, err = svc.UpdateNamespaceProperties(ctx, warehouse, []string{"a"}, []string{"k"}, map[string]string{"k": "v"})
	wantKind(t, err, errs.Unprocessable)
	_, err = svc.UpdateNamespaceProperties(ctx, warehouse, []string{"zz"}, nil, map[string]string{"k": "v"})
	wantKind(t, err, errs.NoSuchNamespace)

	e.mustCreate(t, ident("a", "t"), nil)
	wantKind(t, svc.DropNamespace(ctx, warehouse, []string{"a"}), errs.NamespaceNotEmpty)
	wantKind(t, svc.DropNamespace(ctx, warehouse, []string{"zz"}), errs.NoSuchNamespace)
	if err := svc.DropNamespace(ctx, warehouse, []string{"a", "b.c"}); err != nil {
		t.Errorf("DropNamespace: %v", err)
	}
}

func TestNamespaceIdentifiers(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{})
	ctx := context.Background()
	tests := []struct {
		name   string
		wh     string
		levels []string
		kind   errs.Kind
	}{
		{name: "no levels", wh: warehouse, levels: nil, kind: errs.BadRequest},
		{name: "empty level", wh: warehouse, levels: []string{"a", ""}, kind: errs.BadRequest},
		{name: "unit separator", wh: warehouse, levels: []string{"a\x1fb"}, kind: errs.BadRequest},
		{name: "unknown warehouse", wh: "nope", levels: []string{"a"}, kind: errs.NoSuchWarehouse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.CreateNamespace(ctx, tt.wh, store.Namespace{Levels: tt.levels})
			wantKind(t, err, tt.kind)
			_, err = e.svc.GetNamespace(ctx, tt.wh, tt.levels)
			wantKind(t, err, tt.kind)
			wantKind(t, e.svc.DropNamespace(ctx, tt.wh, tt.levels), tt.kind)
		})
	}
}

func TestListNamespaces(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{}) // creates "ns"
	ctx := context.Background()
	for _, n := range []string{"d", "b", "c", "a"} {
		e.mustNamespace(t, n)
	}
	e.mustNamespace(t, "a", "y")
	e.mustNamespace(t, "a", "x")

	var got []string
	token := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("too many pages")
		}
		nss, next, err := e.svc.ListNamespaces(ctx, warehouse, nil, catalog.Page{Token: token, Size: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, ns := range nss {
			got = append(got, strings.Join(ns.Levels, "."))
		}
		if next == "" {
			break
		}
		token = next
	}
	if strings.Join(got, ",") != "a,b,c,d,ns" {
		t.Errorf("top level = %v", got)
	}
	children, next, err := e.svc.ListNamespaces(ctx, warehouse, []string{"a"}, catalog.Page{})
	if err != nil || next != "" || len(children) != 2 || strings.Join(children[0].Levels, ".") != "a.x" || strings.Join(children[1].Levels, ".") != "a.y" {
		t.Errorf("children of a = %v %q %v", children, next, err)
	}
	// An exact page has no next token.
	children, next, err = e.svc.ListNamespaces(ctx, warehouse, []string{"a"}, catalog.Page{Size: 2})
	if err != nil || next != "" || len(children) != 2 {
		t.Errorf("exact page = %v %q %v", children, next, err)
	}
	_, _, err = e.svc.ListNamespaces(ctx, warehouse, []string{"nope"}, catalog.Page{})
	wantKind(t, err, errs.NoSuchNamespace)
	_, _, err = e.svc.ListNamespaces(ctx, warehouse, nil, catalog.Page{Size: -1})
	wantKind(t, err, errs.BadRequest)
}

// Dropping a namespace removes its directory when nothing is left in it.
func TestDropNamespaceRemovesItsEmptyDirectory(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{})
	ctx := context.Background()
	e.mustNamespace(t, "gone")
	id := ident("gone", "t")
	e.mustCreate(t, id, nil)
	if err := e.svc.DropTable(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.PurgeOnce(ctx); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(e.dir, "gone")
	if _, err := os.Stat(dir); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if err := e.svc.DropNamespace(ctx, warehouse, []string{"gone"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("namespace directory still there: %v", err)
	}
	// A failed create (the name is taken) leaves no directory either.
	e.mustCreate(t, ident("ns", "taken"), nil)
	before := metadataFiles(t, e.dir)
	if _, err := e.svc.CreateTable(ctx, catalog.CreateTableInput{Ident: ident("ns", "taken"), Schema: schemaOf(t, schemaJSON)}); err == nil {
		t.Fatal("created twice")
	}
	entries, _ := os.ReadDir(filepath.Join(e.dir, "ns"))
	if len(entries) != 1 || len(metadataFiles(t, e.dir)) != len(before) {
		t.Fatalf("a failed create left %v", entries)
	}
}

package server

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/bingsan/bingsan/auth"
	"github.com/bingsan/bingsan/authz"
	"github.com/bingsan/bingsan/principal"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/migrate"
	"github.com/bingsan/bingsan/store/sqlite"
	"github.com/bingsan/bingsan/vend"
)

// The vending access mode follows the grants of the request's principal
// and operation; a configured AccessMode can only narrow it.
func TestGrantAccessMode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx, migrate.Up); err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(ctx, st, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"reader", "writer"} {
		if _, _, err := a.CreatePrincipal(ctx, p, false); err != nil {
			t.Fatal(err)
		}
		if err := a.CreateRole(ctx, store.AuthRole{Name: p + "s"}); err != nil {
			t.Fatal(err)
		}
		if err := a.AssignRole(ctx, p, p+"s"); err != nil {
			t.Fatal(err)
		}
	}
	orders := store.Ident{Warehouse: "default", Namespace: []string{"sales"}, Name: "orders"}
	ns := authz.Namespace("default", []string{"sales"})
	for role, priv := range map[string]authz.Privilege{"readers": authz.Read, "writers": authz.Write} {
		if _, err := a.CreateGrant(ctx, store.Grant{Role: role, On: ns, Privilege: string(priv)}); err != nil {
			t.Fatal(err)
		}
	}
	request := func(who, op string) *fasthttp.RequestCtx {
		rc := &fasthttp.RequestCtx{}
		principal.SetPrincipal(rc, &principal.Principal{Name: who})
		rc.SetUserValue(operationKey{}, op)
		return rc
	}
	readOnly := func(context.Context, store.Ident) vend.Mode { return vend.ReadOnly }
	cases := []struct {
		who, op string
		base    func(context.Context, store.Ident) vend.Mode
		want    vend.Mode
	}{
		{"reader", "loadTable", nil, vend.ReadOnly},
		{"reader", "loadCredentials", nil, vend.ReadOnly},
		{"writer", "loadTable", nil, vend.ReadWrite},
		{"writer", "signRequest", nil, vend.ReadWrite},
		{"reader", "createTable", nil, vend.ReadWrite},
		{"writer", "loadTable", readOnly, vend.ReadOnly},
		{"nobody", "loadTable", nil, vend.ReadOnly},
	}
	for _, c := range cases {
		if got := grantAccessMode(a, c.base)(request(c.who, c.op), orders); got != c.want {
			t.Errorf("%s %s: %s, want %s", c.who, c.op, got, c.want)
		}
	}
}

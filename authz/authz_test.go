package authz_test

import (
	"testing"

	"github.com/bingsan/bingsan/authz"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/principal"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/vend"
)

func id(name string, ns ...string) store.Ident {
	return store.Ident{Warehouse: "wh", Namespace: ns, Name: name}
}

func grant(role string, on store.Securable, priv authz.Privilege) store.Grant {
	return store.Grant{Role: role, On: on, Privilege: string(priv)}
}

func TestPrivileges(t *testing.T) {
	t.Parallel()
	for _, p := range authz.Privileges {
		if !authz.Admin.Implies(p) || !p.Implies(p) {
			t.Errorf("%s", p)
		}
		got, err := authz.ParsePrivilege(string(p))
		if err != nil || got != p {
			t.Errorf("ParsePrivilege(%s) = %s, %v", p, got, err)
		}
	}
	if !authz.Write.Implies(authz.Read) || authz.Read.Implies(authz.Write) || authz.Create.Implies(authz.Read) ||
		authz.ManageGrants.Implies(authz.Read) || authz.Drop.Implies(authz.Write) {
		t.Error("implications are off")
	}
	if _, err := authz.ParsePrivilege("own"); !errs.Is(err, errs.BadRequest) {
		t.Errorf("unknown privilege: %v", err)
	}
}

func TestCovers(t *testing.T) {
	t.Parallel()
	ns := authz.Namespace("wh", []string{"a", "b"})
	cases := []struct {
		grant, target store.Securable
		want          bool
	}{
		{authz.Catalog(), authz.Table(id("t", "x")), true},
		{authz.Catalog(), authz.Catalog(), true},
		{authz.Warehouse("wh"), authz.Table(id("t", "x")), true},
		{authz.Warehouse("wh"), authz.Warehouse("other"), false},
		{authz.Warehouse("wh"), authz.Catalog(), false},
		{ns, authz.Namespace("wh", []string{"a", "b"}), true},
		{ns, authz.Namespace("wh", []string{"a", "b", "c"}), true},
		{ns, authz.Table(id("t", "a", "b", "c", "d")), true},
		{ns, authz.View(id("v", "a", "b")), true},
		{ns, authz.Function(id("f", "a", "b", "c")), true},
		{ns, authz.Function(id("f", "a")), false},
		{authz.Warehouse("wh"), authz.Function(id("f", "x")), true},
		{authz.Table(id("f", "a")), authz.Function(id("f", "a")), false},
		{authz.View(id("f", "a")), authz.Function(id("f", "a")), false},
		{ns, authz.Namespace("wh", []string{"a"}), false},
		{ns, authz.Namespace("wh", []string{"a", "bc"}), false},
		{ns, authz.Table(id("t", "a")), false},
		{ns, authz.Namespace("other", []string{"a", "b"}), false},
		{ns, authz.Warehouse("wh"), false},
		{authz.Table(id("t", "a")), authz.Table(id("t", "a")), true},
		{authz.Table(id("t", "a")), authz.View(id("t", "a")), false},
		{authz.Table(id("t", "a")), authz.Table(id("t2", "a")), false},
		{authz.Table(id("t", "a")), authz.Table(id("t", "a", "b")), false},
		{authz.Table(id("t", "a")), authz.Namespace("wh", []string{"a"}), false},
	}
	for _, c := range cases {
		if got := authz.Covers(c.grant, c.target); got != c.want {
			t.Errorf("Covers(%s, %s) = %v, want %v", authz.Describe(c.grant), authz.Describe(c.target), got, c.want)
		}
	}
	if got := authz.Parent("wh", []string{"a"}); got.Type != store.SecurableWarehouse {
		t.Errorf("parent of a top-level namespace: %+v", got)
	}
	if got := authz.Describe(authz.Table(id("t", "a", "b"))); got != "table wh.a.b.t" {
		t.Errorf("Describe: %q", got)
	}
}

func policy() *authz.Policy {
	return authz.NewPolicy(store.AuthState{
		Principals: []store.AuthPrincipal{
			{Name: "ana", Roles: []string{"analysts"}},
			{Name: "eve", Roles: []string{"writers"}},
			{Name: "off", Roles: []string{"admins"}, Disabled: true},
			{Name: "root", Roles: []string{"admins"}},
		},
		Grants: []store.Grant{
			grant("analysts", authz.Namespace("wh", []string{"sales"}), authz.Read),
			grant("writers", authz.Table(id("orders", "sales")), authz.Write),
			grant("admins", authz.Catalog(), authz.Admin),
			grant("oidc-readers", authz.Warehouse("wh"), authz.Read),
		},
	})
}

func TestPolicy(t *testing.T) {
	t.Parallel()
	p := policy()
	ana := &principal.Principal{Name: "ana"}
	eve := &principal.Principal{Name: "eve"}
	off := &principal.Principal{Name: "off"}
	root := &principal.Principal{Name: "root"}
	ext := &principal.Principal{Name: "someone@idp", Roles: []string{"oidc-readers"}}
	orders, eu := authz.Table(id("orders", "sales")), authz.Table(id("orders", "sales", "eu"))
	cases := []struct {
		who  *principal.Principal
		want authz.Privilege
		on   store.Securable
		ok   bool
	}{
		{ana, authz.Read, orders, true},
		{ana, authz.Read, eu, true}, // inherited down the tree
		{ana, authz.Read, authz.Namespace("wh", []string{"sales"}), true},
		{ana, authz.Read, authz.Namespace("wh", []string{"hr"}), false},
		{ana, authz.Write, orders, false},
		{ana, authz.Read, authz.Warehouse("wh"), false},
		{eve, authz.Write, orders, true},
		{eve, authz.Read, orders, true}, // write implies read
		{eve, authz.Read, eu, false},
		{eve, authz.Drop, orders, false},
		{root, authz.Admin, authz.Catalog(), true},
		{root, authz.Drop, eu, true},
		{off, authz.Read, orders, false}, // disabled
		{ext, authz.Read, eu, true},      // a role from the token
		{ext, authz.Write, eu, false},
		{nil, authz.Read, orders, false},
	}
	for _, c := range cases {
		name := "<nil>"
		if c.who != nil {
			name = c.who.Name
		}
		if got := p.Allowed(c.who, c.want, c.on); got != c.ok {
			t.Errorf("%s %s on %s: %v, want %v", name, c.want, authz.Describe(c.on), got, c.ok)
		}
	}
	err := p.Check(ana, authz.Drop, orders)
	if !errs.Is(err, errs.Forbidden) || err.Error() == "" {
		t.Fatalf("Check: %v", err)
	}
	if got := p.Roles(&principal.Principal{Name: "ana", Roles: []string{"x", "analysts"}}); len(got) != 2 || got[0] != "analysts" || got[1] != "x" {
		t.Fatalf("Roles: %v", got)
	}
}

func TestAccessModeFollowsGrants(t *testing.T) {
	t.Parallel()
	p := policy()
	ana := &principal.Principal{Name: "ana"}
	eve := &principal.Principal{Name: "eve"}
	orders := id("orders", "sales")
	cases := []struct {
		who *principal.Principal
		op  string
		id  store.Ident
		m   vend.Mode
	}{
		{ana, "loadTable", orders, vend.ReadOnly},
		{ana, "loadCredentials", orders, vend.ReadOnly},
		{ana, "signRequest", orders, vend.ReadOnly},
		{eve, "loadTable", orders, vend.ReadWrite},
		{eve, "loadCredentials", orders, vend.ReadWrite},
		{eve, "loadTable", id("other", "sales"), vend.ReadOnly},
		{ana, "createTable", id("new", "sales"), vend.ReadWrite}, // its creator writes the first files
		{nil, "loadTable", orders, vend.ReadOnly},
	}
	for _, c := range cases {
		if got := p.AccessMode(c.who, c.op, c.id); got != c.m {
			t.Errorf("%v %s %s: %s, want %s", c.who, c.op, c.id, got, c.m)
		}
	}
}

func TestCanSeeEvent(t *testing.T) {
	t.Parallel()
	p := policy()
	ana := &principal.Principal{Name: "ana"}
	eve := &principal.Principal{Name: "eve"}
	ev := func(typ store.EventType, name string, ns ...string) store.Event {
		return store.Event{Type: typ, Warehouse: "wh", Namespace: ns, Name: name}
	}
	renamed := ev(store.EventTableRenamed, "orders", "staging")
	renamed.RenamedTo = &store.RenamedTo{Namespace: []string{"sales"}, Name: "orders"}
	cases := []struct {
		who *principal.Principal
		e   store.Event
		ok  bool
	}{
		{ana, ev(store.EventNamespaceCreated, "", "sales", "eu"), true},
		{ana, ev(store.EventNamespaceCreated, "", "hr"), false},
		{ana, ev(store.EventTableCommitted, "orders", "sales"), true},
		{ana, ev(store.EventViewCreated, "v", "sales"), true},
		{ana, ev(store.EventTableCommitted, "t", "hr"), false},
		{eve, ev(store.EventTableCommitted, "orders", "sales"), true},
		{eve, ev(store.EventViewCreated, "orders", "sales"), false}, // a table grant is not a view grant
		{eve, ev(store.EventNamespaceUpdated, "", "sales"), false},
		{eve, renamed, true}, // under its new name
		{ana, renamed, true},
	}
	for i, c := range cases {
		if got := p.CanSeeEvent(c.who, c.e); got != c.ok {
			t.Errorf("case %d: %s sees %s %v.%s: %v, want %v", i, c.who.Name, c.e.Type, c.e.Namespace, c.e.Name, got, c.ok)
		}
	}
}

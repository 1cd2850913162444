package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

func testAuth(t *testing.T, newStore func(t *testing.T) store.Store) {
	b := setup(t, newStore)
	s, ok := b.s.(store.AuthStore)
	if !ok {
		t.Fatalf("%T does not implement store.AuthStore", b.s)
	}
	ctx := b.ctx
	version := func() int64 {
		t.Helper()
		v, err := s.AuthVersion(ctx)
		noErr(t, err)
		return v
	}
	changed := func(before int64, what string) int64 {
		t.Helper()
		v := version()
		if v <= before {
			t.Fatalf("%s: version %d did not grow from %d", what, v, before)
		}
		return v
	}

	v := version()

	// Principals.
	noErr(t, s.CreatePrincipal(ctx, store.AuthPrincipal{Name: "alice", ClientID: "cid-alice", SecretHash: "h1"}))
	v = changed(v, "create principal")
	noErr(t, s.CreatePrincipal(ctx, store.AuthPrincipal{Name: "bob"}))
	noErr(t, s.CreatePrincipal(ctx, store.AuthPrincipal{Name: "carol"})) // two without client ids
	wantErr(t, s.CreatePrincipal(ctx, store.AuthPrincipal{Name: "alice"}), errs.AlreadyExists, "alice")
	wantErr(t, s.CreatePrincipal(ctx, store.AuthPrincipal{Name: "dave", ClientID: "cid-alice"}), errs.AlreadyExists, "")
	wantErr(t, s.CreatePrincipal(ctx, store.AuthPrincipal{Name: " "}), errs.BadRequest, "")
	p, err := s.GetPrincipalByClientID(ctx, "cid-alice")
	noErr(t, err)
	if p.Name != "alice" || p.SecretHash != "h1" || p.Disabled || p.CreatedAt.IsZero() {
		t.Fatalf("by client id: %+v", p)
	}
	_, err = s.GetPrincipalByClientID(ctx, "nobody")
	wantErr(t, err, errs.NotFound, "")
	_, err = s.GetPrincipal(ctx, "nobody")
	wantErr(t, err, errs.NotFound, "nobody")
	v = version()
	noErr(t, s.SetPrincipalDisabled(ctx, "bob", true))
	v = changed(v, "disable")
	noErr(t, s.SetPrincipalCredentials(ctx, "bob", "cid-bob", "h2"))
	v = changed(v, "credentials")
	wantErr(t, s.SetPrincipalCredentials(ctx, "carol", "cid-bob", "h3"), errs.AlreadyExists, "")
	wantErr(t, s.SetPrincipalDisabled(ctx, "nobody", true), errs.NotFound, "")
	wantErr(t, s.SetPrincipalCredentials(ctx, "nobody", "x", "y"), errs.NotFound, "")
	p, err = s.GetPrincipal(ctx, "bob")
	noErr(t, err)
	if !p.Disabled || p.ClientID != "cid-bob" || p.SecretHash != "h2" {
		t.Fatalf("bob: %+v", p)
	}

	// Roles and assignments.
	noErr(t, s.CreateRole(ctx, store.AuthRole{Name: "readers", Description: "read all"}))
	noErr(t, s.CreateRole(ctx, store.AuthRole{Name: "writers"}))
	wantErr(t, s.CreateRole(ctx, store.AuthRole{Name: "readers"}), errs.AlreadyExists, "readers")
	v = version()
	noErr(t, s.AssignRole(ctx, "alice", "writers"))
	noErr(t, s.AssignRole(ctx, "alice", "readers"))
	noErr(t, s.AssignRole(ctx, "alice", "readers")) // idempotent
	v = changed(v, "assign")
	wantErr(t, s.AssignRole(ctx, "nobody", "readers"), errs.NotFound, "nobody")
	wantErr(t, s.AssignRole(ctx, "alice", "nothing"), errs.NotFound, "nothing")
	p, err = s.GetPrincipal(ctx, "alice")
	noErr(t, err)
	equalStrings(t, "alice's roles", p.Roles, []string{"readers", "writers"})
	noErr(t, s.UnassignRole(ctx, "alice", "writers"))
	wantErr(t, s.UnassignRole(ctx, "alice", "writers"), errs.NotFound, "")
	roles, err := s.ListRoles(ctx)
	noErr(t, err)
	if len(roles) != 2 || roles[0].Name != "readers" || roles[0].Description != "read all" {
		t.Fatalf("roles: %+v", roles)
	}

	// Grants.
	ns := store.Securable{Type: store.SecurableNamespace, Warehouse: "wh", Namespace: []string{"a", "b.c"}}
	g1, err := s.CreateGrant(ctx, store.Grant{Role: "readers", On: ns, Privilege: "read"})
	noErr(t, err)
	if g1.ID == 0 || !slices.Equal(g1.On.Namespace, ns.Namespace) || g1.On.Type != store.SecurableNamespace {
		t.Fatalf("grant: %+v", g1)
	}
	again, err := s.CreateGrant(ctx, store.Grant{Role: "readers", On: ns, Privilege: "read"})
	noErr(t, err)
	if again.ID != g1.ID {
		t.Fatalf("granting twice made grant %d besides %d", again.ID, g1.ID)
	}
	g2, err := s.CreateGrant(ctx, store.Grant{Role: "writers", On: store.Securable{Type: store.SecurableCatalog}, Privilege: "admin"})
	noErr(t, err)
	_, err = s.CreateGrant(ctx, store.Grant{Role: "nothing", On: ns, Privilege: "read"})
	wantErr(t, err, errs.NotFound, "nothing")
	for _, bad := range []store.Securable{
		{Type: "shelf"},
		{Type: store.SecurableCatalog, Warehouse: "wh"},
		{Type: store.SecurableWarehouse},
		{Type: store.SecurableNamespace, Warehouse: "wh"},
		{Type: store.SecurableTable, Warehouse: "wh", Namespace: []string{"a"}},
		{Type: store.SecurableNamespace, Warehouse: "wh", Namespace: []string{"a"}, Name: "t"},
	} {
		_, err := s.CreateGrant(ctx, store.Grant{Role: "readers", On: bad, Privilege: "read"})
		wantErr(t, err, errs.BadRequest, "")
	}
	grants, err := s.ListGrants(ctx)
	noErr(t, err)
	if len(grants) != 2 || grants[0].ID != g1.ID || grants[1].ID != g2.ID {
		t.Fatalf("grants: %+v", grants)
	}
	deleted, err := s.DeleteGrant(ctx, g2.ID)
	noErr(t, err)
	if deleted.Role != "writers" || deleted.Privilege != "admin" {
		t.Fatalf("deleted grant: %+v", deleted)
	}
	_, err = s.DeleteGrant(ctx, g2.ID)
	wantErr(t, err, errs.NotFound, "")
	// A grant on one function, as on one table or view; it needs the name.
	fnOn := store.Securable{Type: store.SecurableFunction, Warehouse: "wh", Namespace: []string{"a"}, Name: "add_one"}
	fg, err := s.CreateGrant(ctx, store.Grant{Role: "readers", On: fnOn, Privilege: "read"})
	noErr(t, err)
	if fg.On.Type != store.SecurableFunction || fg.On.Name != "add_one" || !slices.Equal(fg.On.Namespace, []string{"a"}) {
		t.Fatalf("function grant: %+v", fg)
	}
	_, err = s.CreateGrant(ctx, store.Grant{Role: "readers", On: store.Securable{Type: store.SecurableFunction, Warehouse: "wh", Namespace: []string{"a"}}, Privilege: "read"})
	wantErr(t, err, errs.BadRequest, "function")
	_, err = s.DeleteGrant(ctx, fg.ID)
	noErr(t, err)

	// API keys.
	now := time.Now().Truncate(time.Millisecond)
	noErr(t, s.CreateAPIKey(ctx, store.APIKey{Prefix: "k1", Hash: "hk1", Principal: "alice", Name: "ci"}))
	noErr(t, s.CreateAPIKey(ctx, store.APIKey{Prefix: "k2", Hash: "hk2", Principal: "bob", ExpiresAt: now.Add(time.Hour)}))
	wantErr(t, s.CreateAPIKey(ctx, store.APIKey{Prefix: "k1", Hash: "x", Principal: "bob"}), errs.AlreadyExists, "")
	wantErr(t, s.CreateAPIKey(ctx, store.APIKey{Prefix: "k3", Hash: "x", Principal: "nobody"}), errs.NotFound, "")
	k, err := s.GetAPIKey(ctx, "k2")
	noErr(t, err)
	if k.Principal != "bob" || k.Hash != "hk2" || !k.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("key: %+v", k)
	}
	_, err = s.GetAPIKey(ctx, "nope")
	wantErr(t, err, errs.NotFound, "")
	grace := now.Add(10 * time.Minute)
	noErr(t, s.RotateAPIKey(ctx, "k1", store.APIKey{Prefix: "k1b", Hash: "hk1b", Principal: "alice", Name: "ci"}, grace))
	k, err = s.GetAPIKey(ctx, "k1")
	noErr(t, err)
	if !k.ExpiresAt.Equal(grace) {
		t.Fatalf("rotated key expires at %v, want %v", k.ExpiresAt, grace)
	}
	// A rotation never extends the old key.
	noErr(t, s.RotateAPIKey(ctx, "k2", store.APIKey{Prefix: "k2b", Hash: "hk2b", Principal: "bob"}, now.Add(48*time.Hour)))
	if k, _ = s.GetAPIKey(ctx, "k2"); !k.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("rotation extended the old key to %v", k.ExpiresAt)
	}
	wantErr(t, s.RotateAPIKey(ctx, "k2", store.APIKey{Prefix: "k2c", Hash: "x", Principal: "alice"}, grace), errs.BadRequest, "")
	wantErr(t, s.RotateAPIKey(ctx, "none", store.APIKey{Prefix: "k9", Hash: "x", Principal: "alice"}, grace), errs.NotFound, "")
	keys, err := s.ListAPIKeys(ctx, "alice")
	noErr(t, err)
	if len(keys) != 2 {
		t.Fatalf("alice's keys: %+v", keys)
	}
	all, err := s.ListAPIKeys(ctx, "")
	noErr(t, err)
	if len(all) != 4 {
		t.Fatalf("all keys: %+v", all)
	}
	noErr(t, s.DeleteAPIKey(ctx, "k1"))
	wantErr(t, s.DeleteAPIKey(ctx, "k1"), errs.NotFound, "")

	// Signing keys: a new key retires the older ones.
	t0 := now.Add(-time.Hour)
	noErr(t, s.AddSigningKey(ctx, store.SigningKey{KID: "s1", Algorithm: "EdDSA", PrivateKey: []byte("p1"), PublicKey: []byte("P1"), CreatedAt: t0}, t0.Add(time.Hour)))
	noErr(t, s.AddSigningKey(ctx, store.SigningKey{KID: "s2", Algorithm: "EdDSA", PrivateKey: []byte("p2"), PublicKey: []byte("P2"), CreatedAt: now}, now.Add(time.Hour)))
	st, err := s.LoadAuthState(ctx)
	noErr(t, err)
	if len(st.SigningKeys) != 2 {
		t.Fatalf("signing keys: %+v", st.SigningKeys)
	}
	s1, s2 := st.SigningKeys[0], st.SigningKeys[1]
	if s1.KID != "s1" || !s1.RetiredAt.Equal(now) || !s1.ExpiresAt.Equal(now.Add(time.Hour)) || string(s1.PrivateKey) != "p1" {
		t.Fatalf("retired key: %+v", s1)
	}
	if s2.KID != "s2" || !s2.RetiredAt.IsZero() || !s2.ExpiresAt.IsZero() {
		t.Fatalf("new key: %+v", s2)
	}
	noErr(t, s.ExpireSigningKeys(ctx, "s2", now.Add(-time.Second)))
	n, err := s.DeleteExpiredSigningKeys(ctx, now)
	noErr(t, err)
	if n != 1 {
		t.Fatalf("deleted %d expired signing keys, want 1", n)
	}

	// The state holds everything.
	st, err = s.LoadAuthState(ctx)
	noErr(t, err)
	if st.Version != version() || len(st.Principals) != 3 || len(st.Roles) != 2 || len(st.Grants) != 1 ||
		len(st.APIKeys) != 3 || len(st.SigningKeys) != 1 || st.SigningKeys[0].KID != "s2" {
		t.Fatalf("state: %+v", st)
	}
	equalStrings(t, "alice's roles in the state", st.Principals[0].Roles, []string{"readers"})

	// Deleting a role removes its grants and assignments; deleting a
	// principal its keys.
	noErr(t, s.DeleteRole(ctx, "readers"))
	wantErr(t, s.DeleteRole(ctx, "readers"), errs.NotFound, "")
	noErr(t, s.DeletePrincipal(ctx, "alice"))
	wantErr(t, s.DeletePrincipal(ctx, "alice"), errs.NotFound, "")
	st, err = s.LoadAuthState(ctx)
	noErr(t, err)
	if len(st.Grants) != 0 || len(st.APIKeys) != 2 || len(st.Principals) != 2 {
		t.Fatalf("after deletes: %+v", st)
	}

	// The audit log.
	before := version()
	for i, e := range []store.AuditEntry{
		{Principal: "alice", Operation: "createTable", Target: "table wh.a.t", Outcome: "success", Status: 200},
		{Principal: "bob", Operation: "dropTable", Target: "table wh.a.t", Outcome: "denied", Status: 403, Detail: "no"},
		{Principal: "alice", Operation: "dropTable", Target: "table wh.a.t", Outcome: "success", Status: 204, Time: now.Add(-48 * time.Hour)},
	} {
		id, err := s.AppendAudit(ctx, e)
		noErr(t, err)
		if id <= 0 {
			t.Fatalf("entry %d: id %d", i, id)
		}
	}
	if version() != before {
		t.Fatal("the audit log changed the auth state version")
	}
	entries, err := s.ListAudit(ctx, store.AuditQuery{})
	noErr(t, err)
	if len(entries) != 3 || entries[1].Principal != "bob" || entries[1].Detail != "no" || entries[1].Status != 403 {
		t.Fatalf("audit: %+v", entries)
	}
	entries, err = s.ListAudit(ctx, store.AuditQuery{Principal: "alice", Operation: "dropTable"})
	noErr(t, err)
	if len(entries) != 1 || entries[0].Status != 204 {
		t.Fatalf("audit filtered: %+v", entries)
	}
	entries, err = s.ListAudit(ctx, store.AuditQuery{Outcome: "denied"})
	noErr(t, err)
	if len(entries) != 1 || entries[0].Principal != "bob" {
		t.Fatalf("audit denials: %+v", entries)
	}
	first, err := s.ListAudit(ctx, store.AuditQuery{Limit: 1})
	noErr(t, err)
	rest, err := s.ListAudit(ctx, store.AuditQuery{After: first[0].ID})
	noErr(t, err)
	if len(first) != 1 || len(rest) != 2 {
		t.Fatalf("paging: %d then %d", len(first), len(rest))
	}
	pruned, err := s.PruneAudit(ctx, now.Add(-time.Hour))
	noErr(t, err)
	if pruned != 1 {
		t.Fatalf("pruned %d, want 1", pruned)
	}
}

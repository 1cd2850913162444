package catalog_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bingsan/bingsan/catalog"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/vend"
)

// fakeVendor records the scopes it is asked about and grants a marker.
type fakeVendor struct {
	mu     sync.Mutex
	scopes []vend.Scope
	err    error
}

func (f *fakeVendor) record(s vend.Scope) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scopes = append(f.scopes, s)
	return f.err
}

func (f *fakeVendor) Grant(_ context.Context, s vend.Scope, d vend.Delegation) (vend.Grant, error) {
	if err := f.record(s); err != nil {
		return vend.Grant{}, err
	}
	g := vend.Grant{Config: map[string]string{"mode": s.Mode.String()}}
	if d.VendedCredentials {
		g.Credentials = []vend.Credential{{Prefix: s.Locations[0], Config: map[string]string{"k": "v"}}}
	}
	return g, nil
}

func (f *fakeVendor) Credentials(_ context.Context, s vend.Scope) ([]vend.Credential, error) {
	if err := f.record(s); err != nil {
		return nil, err
	}
	return []vend.Credential{{Prefix: s.Locations[0]}}, nil
}

func (f *fakeVendor) Sign(_ context.Context, s vend.Scope, r vend.SignRequest) (vend.SignedRequest, error) {
	if err := f.record(s); err != nil {
		return vend.SignedRequest{}, err
	}
	return vend.SignedRequest{URI: r.URI}, nil
}

type vendors map[string]vend.Vendor

func (v vendors) Vendor(wh string) vend.Vendor { return v[wh] }

func TestTableAccess(t *testing.T) {
	t.Parallel()
	fv := &fakeVendor{}
	e := setup(t, catalog.Options{Vendors: vendors{warehouse: fv}})
	ctx := context.Background()
	dataPath := e.whLoc + "/ns/shared-data/t"
	vended := &catalog.AccessRequest{Delegation: vend.ParseDelegation("vended-credentials"), Mode: vend.ReadOnly}

	res, err := e.svc.CreateTable(ctx, catalog.CreateTableInput{
		Ident: ident("ns", "t"), Schema: schemaOf(t, schemaJSON), Access: vended,
		Properties: map[string]string{"write.data.path": dataPath, "write.metadata.path": "ignored-below"},
	})
	if err == nil {
		t.Fatal("a relative write.metadata.path is outside the namespace")
	}
	res, err = e.svc.CreateTable(ctx, catalog.CreateTableInput{
		Ident: ident("ns", "t"), Schema: schemaOf(t, schemaJSON), Access: vended,
		Properties: map[string]string{"write.data.path": dataPath},
	})
	if err != nil {
		t.Fatal(err)
	}
	loc := parse(t, res.Metadata).Location()
	// The grant covers the location and the data path outside it.
	if len(res.Access.Credentials) != 1 || res.Access.Config["mode"] != "read-only" {
		t.Fatalf("grant %+v", res.Access)
	}
	if got := fv.scopes[len(fv.scopes)-1]; !slices.Equal(got.Locations, []string{loc, dataPath}) || got.Mode != vend.ReadOnly {
		t.Fatalf("scope %+v", got)
	}

	g, err := e.svc.TableAccess(ctx, ident("ns", "t"), res.Metadata, catalog.AccessRequest{})
	if err != nil || len(g.Credentials) != 0 || g.Config["mode"] != "read-write" {
		t.Fatalf("TableAccess without delegation: %+v, %v", g, err)
	}
	creds, err := e.svc.LoadCredentials(ctx, ident("ns", "t"), vend.ReadWrite)
	if err != nil || len(creds) != 1 || creds[0].Prefix != loc {
		t.Fatalf("LoadCredentials: %+v, %v", creds, err)
	}
	if _, err := e.svc.LoadCredentials(ctx, ident("ns", "missing"), vend.ReadWrite); !errs.Is(err, errs.NoSuchTable) {
		t.Fatalf("LoadCredentials of a missing table: %v", err)
	}
	if _, err := e.svc.SignRequest(ctx, ident("ns", "t"), vend.ReadWrite, vend.SignRequest{URI: "x"}); err != nil {
		t.Fatal(err)
	}

	// A failed grant fails the create before anything is written.
	fv.err = errs.New(errs.ServiceUnavailable, "Cannot vend credentials: STS refused")
	_, err = e.svc.CreateTable(ctx, catalog.CreateTableInput{Ident: ident("ns", "failed"), Schema: schemaOf(t, schemaJSON), Access: vended})
	if !errs.Is(err, errs.ServiceUnavailable) {
		t.Fatalf("create with a failing vendor: %v", err)
	}
	if err := e.svc.TableExists(ctx, ident("ns", "failed")); !errs.Is(err, errs.NoSuchTable) {
		t.Fatalf("table exists after a failed grant: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(e.dir, "ns"))
	for _, en := range entries {
		if strings.HasPrefix(en.Name(), "failed-") {
			t.Fatalf("directory written by a failed create: %s", en.Name())
		}
	}

	// Without vendors, nothing is granted and nothing fails.
	plain := setup(t, catalog.Options{})
	res, err = plain.svc.CreateTable(ctx, catalog.CreateTableInput{Ident: ident("ns", "t"), Schema: schemaOf(t, schemaJSON), Access: vended})
	if err != nil || res.Access.Config != nil || res.Access.Credentials != nil {
		t.Fatalf("no vendors: %+v, %v", res.Access, err)
	}
	if _, err := plain.svc.SignRequest(ctx, ident("ns", "t"), vend.ReadWrite, vend.SignRequest{}); !errs.Is(err, errs.BadRequest) {
		t.Fatalf("sign without a vendor: %v", err)
	}
}

func TestLocationsStayInsideNamespace(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{})
	ctx := context.Background()
	outside := "file://" + filepath.ToSlash(t.TempDir())
	id := ident("ns", "t")
	e.mustCreate(t, id, nil)

	// Staged create committed with a location outside.
	_, err := e.commit(ident("ns", "staged"), `[{"type":"assert-create"}]`, `[
		{"action":"add-schema","schema":`+schemaJSON+`},{"action":"set-current-schema","schema-id":-1},
		{"action":"add-spec","spec":{"fields":[]}},{"action":"set-default-spec","spec-id":-1},
		{"action":"add-sort-order","sort-order":{"order-id":0,"fields":[]}},{"action":"set-default-sort-order","sort-order-id":-1},
		{"action":"set-location","location":"`+outside+`/staged"}]`)
	wantMessage(t, err, errs.BadRequest, "Location "+outside+"/staged must lie inside")

	// A table commit that leaves the location alone is not checked again.
	e.mustCommit(t, id, `[]`, setProps("k", "v"))
	_, err = e.commit(id, `[]`, setProps("write.metadata.path", outside+"/m"))
	wantMessage(t, err, errs.BadRequest, "Property write.metadata.path")

	// Views: create, replace with set-location, register.
	_, err = e.createView(ident("ns", "v"), outside+"/v", nil)
	wantMessage(t, err, errs.BadRequest, "Location")
	res, m := e.mustCreateView(t, ident("ns", "v"), nil)
	_, err = e.replaceView(ident("ns", "v"), assertUUID(m), `[{"action":"set-location","location":"`+outside+`/v2"}]`)
	wantMessage(t, err, errs.BadRequest, "Location")
	_, err = e.svc.RegisterView(ctx, ident("ns", "reg"), outside+"/v.metadata.json")
	wantMessage(t, err, errs.BadRequest, "Cannot register "+outside+"/v.metadata.json: Location")

	// With the opt-in, all of it is allowed.
	open := setup(t, catalog.Options{ExternalLocations: map[string]bool{warehouse: true}})
	open.mustCreate(t, id, nil)
	if _, err := open.commit(id, `[]`, `[{"action":"set-location","location":"`+outside+`/moved"}]`); err != nil {
		t.Fatalf("opt-in set-location: %v", err)
	}
	if _, err := open.createView(ident("ns", "v"), outside+"/v", nil); err != nil {
		t.Fatalf("opt-in view: %v", err)
	}
	if _, err := open.svc.RegisterView(ctx, ident("ns", "reg"), res.MetadataLocation); err != nil {
		t.Fatalf("opt-in register of another warehouse's file: %v", err)
	}
}

package vend_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/internal/gcstest"
	"github.com/bingsan/bingsan/vend"
)

// The token exchange gets the catalog's token and a Credential Access
// Boundary limited to the table's bucket and prefix; the client gets the
// downscoped token under the keys Iceberg clients read.
func TestGCSVendedTokenIsDownscoped(t *testing.T) {
	t.Parallel()
	e := gcsSetup(t, nil)
	ctx := context.Background()
	v := e.st.Vendor("lake")
	table := e.wh + "/ns/t"

	creds, err := v.Credentials(ctx, vend.Scope{Locations: []string{table}, Mode: vend.ReadWrite})
	if err != nil {
		t.Fatalf("Credentials: %v", err)
	}
	ex := e.sts.Exchanges()
	if len(ex) != 1 {
		t.Fatalf("%d exchanges", len(ex))
	}
	if len(creds) != 1 || creds[0].Prefix != table {
		t.Fatalf("credentials %+v", creds)
	}
	cfg := creds[0].Config
	if cfg["gcs.oauth2.token"] != ex[0].Token || cfg["gcs.oauth2.token"] == gcstest.RootToken {
		t.Fatalf("vended token %q, issued %q", cfg["gcs.oauth2.token"], ex[0].Token)
	}
	ms, _ := strconv.ParseInt(cfg["gcs.oauth2.token-expires-at"], 10, 64)
	if until := time.Until(time.UnixMilli(ms)); until < 55*time.Minute || until > 61*time.Minute {
		t.Errorf("token expires in %s, want about an hour (the exchange's expires_in)", until)
	}
	if len(cfg) != 2 {
		t.Errorf("credential config holds more than the token: %v", keysOf(cfg))
	}

	rules := ex[0].Boundary.AccessBoundary.Rules
	if len(rules) != 1 {
		t.Fatalf("rules %+v", rules)
	}
	r := rules[0]
	if r.AvailableResource != "//storage.googleapis.com/projects/_/buckets/"+e.bucket {
		t.Errorf("resource %s", r.AvailableResource)
	}
	if len(r.AvailablePermissions) != 1 || r.AvailablePermissions[0] != "inRole:roles/storage.objectAdmin" {
		t.Errorf("permissions %v", r.AvailablePermissions)
	}
	if r.Condition == nil {
		t.Fatal("no availability condition: the token would reach the whole bucket")
	}
	want := "resource.name.startsWith('projects/_/buckets/" + e.bucket + "/objects/wh/ns/t/') || " +
		"api.getAttribute('storage.googleapis.com/objectListPrefix', '').startsWith('wh/ns/t/')"
	if r.Condition.Expression != want {
		t.Errorf("condition\n got %s\nwant %s", r.Condition.Expression, want)
	}

	// Read-only: objectViewer, another exchange.
	ro, err := v.Credentials(ctx, vend.Scope{Locations: []string{table}, Mode: vend.ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	ex = e.sts.Exchanges()
	if len(ex) != 2 || ro[0].Config["gcs.oauth2.token"] != ex[1].Token {
		t.Fatalf("read-only: %d exchanges", len(ex))
	}
	if p := ex[1].Boundary.AccessBoundary.Rules[0].AvailablePermissions; len(p) != 1 || p[0] != "inRole:roles/storage.objectViewer" {
		t.Errorf("read-only permissions %v", p)
	}

	// A data path in another bucket and a metadata path inside the table:
	// one rule per bucket, the inner path covered by the table's prefix.
	other := "gs://" + e.bucket + "-data/x/it's"
	creds, err = v.Credentials(ctx, vend.Scope{Locations: []string{table, other, table + "/metadata"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(creds) != 3 || creds[1].Prefix != other || creds[1].Config["gcs.oauth2.token"] != creds[0].Config["gcs.oauth2.token"] {
		t.Fatalf("credentials %+v", creds)
	}
	ex = e.sts.Exchanges()
	rules = ex[len(ex)-1].Boundary.AccessBoundary.Rules
	if len(rules) != 2 || rules[1].AvailableResource != "//storage.googleapis.com/projects/_/buckets/"+e.bucket+"-data" ||
		!strings.Contains(rules[1].Condition.Expression, `objects/x/it\'s/'`) || strings.Count(rules[0].Condition.Expression, "startsWith") != 2 {
		t.Errorf("rules %+v", rules)
	}
}

func TestGCSVendedTokenCache(t *testing.T) {
	t.Parallel()
	e := gcsSetup(t, nil)
	ctx := context.Background()
	v := e.st.Vendor("lake")
	scope := vend.Scope{Locations: []string{e.wh + "/ns/t"}}
	first, err := v.Credentials(ctx, scope)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			again, err := v.Credentials(ctx, scope)
			if err != nil || again[0].Config["gcs.oauth2.token"] != first[0].Config["gcs.oauth2.token"] {
				t.Errorf("cache miss: %v", err)
			}
		})
	}
	wg.Wait()
	if n := len(e.sts.Exchanges()); n != 1 {
		t.Fatalf("%d exchanges for one scope", n)
	}
	// Renewed once less than a quarter of the hour is left.
	e.clock.Add(40 * time.Minute)
	if again, _ := v.Credentials(ctx, scope); again[0].Config["gcs.oauth2.token"] != first[0].Config["gcs.oauth2.token"] {
		t.Error("renewed too early")
	}
	e.clock.Add(10 * time.Minute)
	if again, _ := v.Credentials(ctx, scope); again[0].Config["gcs.oauth2.token"] == first[0].Config["gcs.oauth2.token"] {
		t.Error("not renewed shortly before expiry")
	}
}

func TestGCSGrant(t *testing.T) {
	t.Parallel()
	e := gcsSetup(t, nil)
	ctx := context.Background()
	v := e.st.Vendor("lake")
	scope := vend.Scope{Locations: []string{e.wh + "/ns/t"}}

	g, err := v.Grant(ctx, scope, vend.Delegation{})
	if err != nil || len(g.Credentials) != 0 || g.RemoteSigning || g.Config["gcs.oauth2.token"] != "" {
		t.Fatalf("no delegation: %+v, %v", g, err)
	}
	if g.Config["gcs.service.host"] != e.srv.Endpoint {
		t.Errorf("client config %v", g.Config)
	}
	if len(e.sts.Exchanges()) != 0 {
		t.Error("exchanged a token nobody asked for")
	}
	// Remote signing does not exist for GCS: a client offering only it gets
	// the configuration.
	g, err = v.Grant(ctx, scope, vend.Delegation{RemoteSigning: true})
	if err != nil || g.RemoteSigning || len(g.Credentials) != 0 {
		t.Fatalf("remote-signing: %+v, %v", g, err)
	}
	if _, err := v.Sign(ctx, scope, vend.SignRequest{Method: "GET", URI: e.srv.Endpoint}); !errs.Is(err, errs.BadRequest) {
		t.Errorf("Sign: want BadRequest, got %v", err)
	}
	g, err = v.Grant(ctx, scope, vend.ParseDelegation("vended-credentials,remote-signing"))
	if err != nil || len(g.Credentials) != 1 {
		t.Fatalf("vended: %+v, %v", g, err)
	}
	for _, k := range []string{"gcs.oauth2.token", "gcs.oauth2.token-expires-at"} {
		if g.Config[k] == "" || g.Config[k] != g.Credentials[0].Config[k] {
			t.Errorf("%s not in config and storage-credentials alike", k)
		}
	}
	// A profile that does not vend gives only the configuration.
	off := gcsSetup(t, func(p *vend.Profile) { p.VendedCredentials = false })
	g, err = off.st.Vendor("lake").Grant(ctx, vend.Scope{Locations: []string{off.wh + "/ns/t"}}, vend.Delegation{VendedCredentials: true})
	if err != nil || len(g.Credentials) != 0 || g.Config["gcs.oauth2.token"] != "" {
		t.Fatalf("vending off: %+v, %v", g, err)
	}
}

func TestGCSExchangeRefused(t *testing.T) {
	t.Parallel()
	e := gcsSetup(t, nil)
	e.sts.Refuse("One or more access boundary rules are invalid")
	_, err := e.st.Vendor("lake").Credentials(context.Background(), vend.Scope{Locations: []string{e.wh + "/ns/t"}})
	if !errs.Is(err, errs.ServiceUnavailable) {
		t.Fatalf("want ServiceUnavailable, got %v", err)
	}
	var de *errs.Error
	errors.As(err, &de)
	for _, want := range []string{"Cannot vend credentials", "token exchange", e.sts.URL, "refused", "invalid_grant", "access boundary rules are invalid"} {
		if !strings.Contains(de.Message, want) {
			t.Errorf("message %q does not mention %q", de.Message, want)
		}
	}
	if strings.Contains(err.Error(), gcstest.RootToken) {
		t.Fatalf("error shows the catalog's token: %v", err)
	}
	// A refusal is not cached.
	e.sts.Refuse("")
	if _, err := e.st.Vendor("lake").Credentials(context.Background(), vend.Scope{Locations: []string{e.wh + "/ns/t"}}); err != nil {
		t.Fatalf("after the refusal: %v", err)
	}
}

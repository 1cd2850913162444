package server_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"
	"github.com/fasthttp/websocket"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/bingsan/bingsan/auth"
	"github.com/bingsan/bingsan/gen/bingsanapi"
	iceberggen "github.com/bingsan/bingsan/gen/iceberg"
	"github.com/bingsan/bingsan/gen/managementapi"
	"github.com/bingsan/bingsan/internal/eventstest"
	"github.com/bingsan/bingsan/metrics"
	"github.com/bingsan/bingsan/server/servertest"
)

const (
	adminID     = "root"
	adminSecret = "root-secret-42"
)

// authEnv is a server with authentication on and a settable clock.
type authEnv struct {
	t      *testing.T
	srv    *servertest.Instance
	offset atomic.Int64
	admin  string // the bootstrap admin's token
}

func (e *authEnv) now() time.Time { return time.Now().Add(time.Duration(e.offset.Load())) }

func startAuth(t *testing.T, b servertest.Backend, cfg servertest.Config) *authEnv {
	t.Helper()
	e := &authEnv{t: t}
	if cfg.Auth == nil {
		cfg.Auth = &auth.Options{}
	}
	cfg.Auth.BootstrapClientID, cfg.Auth.BootstrapClientSecret = adminID, adminSecret
	cfg.Auth.Now = e.now
	e.srv = servertest.Start(t, b, cfg)
	e.admin = e.token(adminID, adminSecret)
	return e
}

// token logs in with client credentials.
func (e *authEnv) token(id, secret string) string {
	e.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "scope": {"catalog"}}
	status, _, body := call(e.t, "POST", e.srv.URL+"/v1/oauth/tokens", "application/x-www-form-urlencoded", []byte(form.Encode()))
	if status != 200 {
		e.t.Fatalf("token for %s: %d %s", id, status, body)
	}
	var tok iceberggen.OAuthTokenResponse
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" || tok.TokenType != "bearer" || tok.ExpiresIn == nil {
		e.t.Fatalf("token response %s: %v", body, err)
	}
	return tok.AccessToken
}

// do sends a request with a bearer token ("" for none) and a JSON body
// (a string, or any value to encode).
func (e *authEnv) do(method, path, token string, body any) (int, []byte) {
	e.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			e.t.Fatal(err)
		}
	}
	var headers []string
	if token != "" {
		headers = append(headers, "Authorization", "Bearer "+token)
	}
	ct := ""
	if raw != nil {
		ct = "application/json"
	}
	status, _, resp := call(e.t, method, e.srv.URL+path, ct, raw, headers...)
	return status, resp
}

// must is do that expects status want and decodes the answer into out.
func (e *authEnv) must(want int, method, path, token string, body, out any) {
	e.t.Helper()
	status, resp := e.do(method, path, token, body)
	if status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, resp)
	}
	if out != nil {
		if err := json.Unmarshal(resp, out); err != nil {
			e.t.Fatalf("%s %s: %v: %s", method, path, err, resp)
		}
	}
}

// principal creates a principal with roles (created as needed) and
// returns its token and credentials.
func (e *authEnv) principal(name string, roles ...string) (string, managementapi.ClientCredentials) {
	e.t.Helper()
	for _, r := range roles {
		if status, body := e.do("POST", "/management/v1/roles", e.admin, managementapi.Role{Name: r}); status != 201 && status != 409 {
			e.t.Fatalf("create role %s: %d %s", r, status, body)
		}
	}
	var out managementapi.PrincipalWithCredentials
	e.must(201, "POST", "/management/v1/principals", e.admin, managementapi.CreatePrincipalRequest{Name: name, Roles: &roles}, &out)
	if out.Credentials == nil || out.Principal.Name != name || !slices.Equal(out.Principal.Roles, nonNilStrings(roles)) {
		e.e("principal %s: %+v", name, out)
	}
	return e.token(out.Credentials.ClientId, out.Credentials.ClientSecret), *out.Credentials
}

func (e *authEnv) e(format string, args ...any) { e.t.Helper(); e.t.Fatalf(format, args...) }

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// grant gives role privilege on a securable.
func (e *authEnv) grant(role, privilege, typ, warehouse string, namespace []string, name string) int64 {
	e.t.Helper()
	s := managementapi.Securable{Type: managementapi.SecurableType(typ)}
	if warehouse != "" {
		s.Warehouse = &warehouse
	}
	if namespace != nil {
		s.Namespace = &namespace
	}
	if name != "" {
		s.Name = &name
	}
	var g managementapi.Grant
	e.must(201, "POST", "/management/v1/grants", e.admin,
		managementapi.GrantRequest{Role: role, Privilege: managementapi.Privilege(privilege), Securable: s}, &g)
	return g.Id
}

// audit returns the audit log entries matching query.
func (e *authEnv) audit(query string) []managementapi.AuditEntry {
	e.t.Helper()
	var page managementapi.AuditPage
	e.must(200, "GET", "/management/v1/audit?limit=1000&"+query, e.admin, nil, &page)
	return page.Entries
}

// fillAuthPath fills a route's path parameters for the objects the auth
// tests create.
func fillAuthPath(path string) string {
	r := strings.NewReplacer("{prefix}", "default", "{namespace}", "sales", "{table}", "orders", "{view}", "v", "{function}", "f",
		"{plan-id}", "p", "{principal}", adminID, "{role}", "admin", "{grant-id}", "1")
	return r.Replace(path)
}

func TestAuthEveryRouteNeedsCredentials(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		e := startAuth(t, b, servertest.Config{Metrics: metrics.New(metrics.Options{}), ProtectMetrics: true})
		type route struct{ method, path, op string }
		var routes []route
		for _, rt := range iceberggen.Routes(nil, nil) {
			routes = append(routes, route{rt.Method, rt.Path, rt.OperationID})
			if short := strings.Replace(rt.Path, "/{prefix}/", "/", 1); short != rt.Path {
				routes = append(routes, route{rt.Method, short, rt.OperationID})
			}
		}
		for _, rt := range bingsanapi.Routes(nil, nil) {
			routes = append(routes, route{rt.Method, rt.Path, rt.OperationID})
		}
		mgmt := managementapi.Routes(nil, nil)
		if len(mgmt) != 30 {
			t.Fatalf("management API has %d operations, want 30", len(mgmt))
		}
		for _, rt := range mgmt {
			routes = append(routes, route{rt.Method, rt.Path, rt.OperationID})
		}
		routes = append(routes, route{"GET", "/metrics", "metrics"})

		for _, rt := range routes {
			path := fillAuthPath(rt.path)
			if strings.HasPrefix(rt.path, "/management/") {
				path = strings.NewReplacer("{prefix}", "bsk_aaaaaaaaaa").Replace(rt.path)
				path = fillAuthPath(path)
			}
			for _, cred := range []string{"", "Bearer nonsense", "Basic " + base64.StdEncoding.EncodeToString([]byte(adminID+":"+adminSecret))} {
				ct, body := "application/json", []byte("{}")
				if rt.op == "getToken" {
					ct, body = "application/x-www-form-urlencoded", []byte("grant_type=client_credentials")
				}
				var headers []string
				if cred != "" {
					headers = []string{"Authorization", cred}
				}
				status, hdr, resp := call(t, rt.method, e.srv.URL+path, ct, body, headers...)
				if rt.op == "getToken" {
					// Public; Basic carries client credentials there.
					if cred == "" && status != 400 || cred != "" && !strings.HasPrefix(cred, "Basic") && status != 400 || strings.HasPrefix(cred, "Basic") && status != 200 {
						t.Errorf("getToken with %q: %d %s", cred, status, resp)
					}
					continue
				}
				if status != 401 {
					t.Errorf("%s %s with %q: status %d, want 401: %s", rt.method, path, cred, status, resp)
					continue
				}
				if !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("%s %s: no WWW-Authenticate challenge", rt.method, path)
				}
				if rt.method != "HEAD" {
					if m := errorOf(t, status, resp); m.Type != "NotAuthorizedException" {
						t.Errorf("%s %s: %s", rt.method, path, m.Type)
					}
				}
			}
		}
		for _, path := range []string{"/health/live", "/health/ready"} {
			if status, _ := e.do("GET", path, "", nil); status != 200 {
				t.Errorf("%s without credentials: %d", path, status)
			}
		}
		// With a token everything answers (metrics too).
		if status, _ := e.do("GET", "/metrics", e.admin, nil); status != 200 {
			t.Errorf("/metrics with a token: %d", status)
		}
		var cfg iceberggen.CatalogConfig
		e.must(200, "GET", "/v1/config", e.admin, nil, &cfg)
		if !slices.Contains(*cfg.Endpoints, "POST /v1/oauth/tokens") {
			t.Errorf("getToken is not advertised: %v", *cfg.Endpoints)
		}
		// Unauthenticated attempts are audited as denials.
		denied := e.audit("outcome=denied&principal=")
		if len(denied) < len(routes) {
			t.Errorf("%d denials audited for %d routes × 3 credentials", len(denied), len(routes))
		}
	})
}

// catalogState is what a denied request must not change: every namespace
// with its properties, every table and view with its metadata location, and
// the newest event.
func catalogState(t *testing.T, e *authEnv) string {
	t.Helper()
	var b strings.Builder
	var walk func(parent []string)
	walk = func(parent []string) {
		q := ""
		if len(parent) > 0 {
			q = "?parent=" + url.QueryEscape(strings.Join(parent, "\x1f"))
		}
		var nss iceberggen.ListNamespacesResponse
		e.must(200, "GET", "/v1/namespaces"+q, e.admin, nil, &nss)
		for _, ns := range *nss.Namespaces {
			nsPath := "/v1/namespaces/" + url.PathEscape(strings.Join(ns, "\x1f"))
			var meta iceberggen.GetNamespaceResponse
			e.must(200, "GET", nsPath, e.admin, nil, &meta)
			fmt.Fprintf(&b, "ns %v %v\n", ns, *meta.Properties)
			for _, kind := range []string{"tables", "views"} {
				var ids iceberggen.ListTablesResponse
				e.must(200, "GET", nsPath+"/"+kind, e.admin, nil, &ids)
				for _, id := range *ids.Identifiers {
					var loaded struct {
						MetadataLocation string `json:"metadata-location"`
					}
					e.must(200, "GET", nsPath+"/"+kind+"/"+url.PathEscape(id.Name), e.admin, nil, &loaded)
					fmt.Fprintf(&b, "%s %v.%s %s\n", kind, id.Namespace, id.Name, loaded.MetadataLocation)
				}
			}
			walk(ns)
		}
	}
	walk(nil)
	last, err := e.srv.Store.LastEventID(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "last event %d\n", last)
	return b.String()
}

func TestAuthForbiddenChangesNothing(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		e := startAuth(t, b, servertest.Config{})
		e.must(200, "POST", "/v1/namespaces", e.admin, `{"namespace":["sales"],"properties":{"owner":"me"}}`, nil)
		e.must(200, "POST", "/v1/namespaces", e.admin, `{"namespace":["sales","eu"]}`, nil)
		e.must(200, "POST", "/v1/namespaces/sales/tables", e.admin, epCreateTableBody("orders"), nil)
		e.must(200, "POST", "/v1/namespaces/sales/views", e.admin, createViewBody("v", "spark", "select 1"), nil)
		var orders epTable
		e.must(200, "GET", "/v1/namespaces/sales/tables/orders", e.admin, nil, &orders)
		var v struct {
			MetadataLocation string `json:"metadata-location"`
		}
		e.must(200, "GET", "/v1/namespaces/sales/views/v", e.admin, nil, &v)
		before := catalogState(t, e)

		// A principal with a role that grants nothing relevant.
		e.principal("outsider", "elsewhere")
		e.grant("elsewhere", "admin", "namespace", "default", []string{"hr"}, "")
		nobody, _ := e.principal("nobody")
		// Valid requests, each of which the admin could make.
		bodies := map[string]string{
			"createNamespace":   `{"namespace":["evil"]}`,
			"updateProperties":  `{"updates":{"owner":"evil"},"removals":["owner"]}`,
			"createTable":       epCreateTableBody("evil"),
			"registerTable":     fmt.Sprintf(`{"name":"evil","metadata-location":%q}`, orders.MetadataLocation),
			"updateTable":       `{"requirements":[],"updates":[{"action":"set-properties","updates":{"evil":"1"}}]}`,
			"renameTable":       `{"source":{"namespace":["sales"],"name":"orders"},"destination":{"namespace":["sales"],"name":"evil"}}`,
			"commitTransaction": `{"table-changes":[{"identifier":{"namespace":["sales"],"name":"orders"},"requirements":[],"updates":[{"action":"set-properties","updates":{"evil":"1"}}]}]}`,
			"createView":        createViewBody("evil", "spark", "select 2"),
			"registerView":      fmt.Sprintf(`{"name":"evil","metadata-location":%q}`, v.MetadataLocation),
			"replaceView":       replaceViewBody("", "", 5, "spark", "select 3"),
			"renameView":        `{"source":{"namespace":["sales"],"name":"v"},"destination":{"namespace":["sales"],"name":"evil"}}`,
			"reportMetrics":     `{"report-type":"commit-report","table-name":"orders","snapshot-id":1,"sequence-number":1,"operation":"append","metrics":{}}`,
			"signRequest":       `{"region":"us-east-1","uri":"s3://bucket/x","method":"GET","headers":{}}`,
			"planTableScan":     `{}`,
			"fetchScanTasks":    `{"plan-task":"x"}`,
		}
		denied := 0
		for _, rt := range iceberggen.Routes(nil, nil) {
			body, ok := bodies[rt.OperationID]
			if !ok && (rt.Method == "POST" || rt.Method == "PUT") {
				body = "{}"
			}
			var payload any
			if body != "" {
				payload = body
			}
			path := fillAuthPath(rt.Path)
			status, resp := e.do(rt.Method, path, nobody, payload)
			switch rt.OperationID {
			case "getToken":
				continue
			case "getConfig":
				if status != 200 {
					t.Errorf("getConfig: %d %s", status, resp)
				}
				continue
			}
			if status != 403 {
				t.Errorf("%s %s (%s): status %d, want 403: %s", rt.Method, path, rt.OperationID, status, resp)
				continue
			}
			denied++
			if rt.Method != "HEAD" {
				if m := errorOf(t, status, resp); m.Type != "ForbiddenException" || !strings.Contains(m.Message, "nobody") {
					t.Errorf("%s: %s %q", rt.OperationID, m.Type, m.Message)
				}
			}
		}
		// The management API, too.
		for _, rt := range managementapi.Routes(nil, nil) {
			if rt.OperationID == "whoAmI" || rt.OperationID == "listGrants" || rt.OperationID == "listApiKeys" || rt.OperationID == "createApiKey" {
				continue // open to every principal for itself
			}
			body := any(nil)
			switch rt.OperationID {
			case "createPrincipal":
				body = `{"name":"evil"}`
			case "createRole":
				body = `{"name":"evil"}`
			case "createGrant":
				body = `{"role":"admin","privilege":"admin","securable":{"type":"catalog"}}`
			case "updatePrincipal":
				body = `{"disabled":true}`
			case "createWarehouse":
				body = `{"name":"evil","location":"file:///tmp/evil","storage":{"type":"file"}}`
			case "updateWarehouse":
				body = `{"remote-signing":false}`
			case "renameWarehouse":
				body = `{"new-name":"evil"}`
			}
			status, resp := e.do(rt.Method, fillAuthPath(rt.Path), nobody, body)
			if status != 403 {
				t.Errorf("%s %s: status %d, want 403: %s", rt.Method, rt.Path, status, resp)
				continue
			}
			denied++
		}
		// Events the principal may not read are not listed.
		var page bingsanapi.EventPage
		e.must(200, "GET", "/v1/events?after=0", nobody, nil, &page)
		if len(page.Events) != 0 || page.NextAfter == 0 {
			t.Errorf("events for nobody: %+v", page)
		}

		if after := catalogState(t, e); after != before {
			t.Fatalf("denied requests changed the catalog:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		var admin managementapi.Principal
		e.must(200, "GET", "/management/v1/principals/"+adminID, e.admin, nil, &admin)
		if admin.Disabled || !slices.Equal(admin.Roles, []string{auth.AdminRole}) {
			t.Fatalf("the admin changed: %+v", admin)
		}
		if got := len(e.audit("outcome=denied&principal=nobody")); got != denied {
			t.Fatalf("%d denials audited, want %d", got, denied)
		}
	})
}

func TestAuthGrantsInherit(t *testing.T) {
	t.Parallel()
	e := startAuth(t, servertest.SQLite, servertest.Config{})
	for _, ns := range []string{`["sales"]`, `["sales","eu"]`, `["hr"]`} {
		e.must(200, "POST", "/v1/namespaces", e.admin, `{"namespace":`+ns+`}`, nil)
	}
	e.must(200, "POST", "/v1/namespaces/sales/tables", e.admin, epCreateTableBody("orders"), nil)
	e.must(200, "POST", "/v1/namespaces/sales%1Feu/tables", e.admin, epCreateTableBody("orders"), nil)
	e.must(200, "POST", "/v1/namespaces/sales%1Feu/tables", e.admin, epCreateTableBody("returns"), nil)
	e.must(200, "POST", "/v1/namespaces/hr/tables", e.admin, epCreateTableBody("people"), nil)

	tok, _ := e.principal("ana", "analysts")
	commit := `{"requirements":[],"updates":[{"action":"set-properties","updates":{"k":"v"}}]}`
	expect := func(want int, method, path string, body any) {
		t.Helper()
		if status, resp := e.do(method, path, tok, body); status != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, status, want, resp)
		}
	}
	expect(403, "GET", "/v1/namespaces/sales/tables/orders", nil)

	// Read on sales covers everything below it, and nothing else.
	e.grant("analysts", "read", "namespace", "default", []string{"sales"}, "")
	expect(200, "GET", "/v1/namespaces/sales/tables/orders", nil)
	expect(200, "GET", "/v1/namespaces/sales%1Feu/tables/orders", nil)
	expect(204, "HEAD", "/v1/namespaces/sales%1Feu/tables/returns", nil)
	expect(200, "GET", "/v1/namespaces/sales%1Feu/tables", nil)
	expect(200, "GET", "/v1/namespaces?parent=sales", nil)
	expect(403, "GET", "/v1/namespaces", nil) // listing the warehouse needs read on it
	expect(403, "GET", "/v1/namespaces/hr/tables/people", nil)
	expect(403, "POST", "/v1/namespaces/sales/tables/orders", commit)
	expect(403, "POST", "/v1/namespaces/sales/tables", epCreateTableBody("new"))

	// Write on sales.eu: commits there, not in sales itself.
	e.grant("analysts", "write", "namespace", "default", []string{"sales", "eu"}, "")
	expect(200, "POST", "/v1/namespaces/sales%1Feu/tables/orders", commit)
	expect(403, "POST", "/v1/namespaces/sales/tables/orders", commit)

	// A table grant covers that table only.
	e.grant("analysts", "write", "table", "default", []string{"sales"}, "orders")
	expect(200, "POST", "/v1/namespaces/sales/tables/orders", commit)
	expect(403, "DELETE", "/v1/namespaces/sales/tables/orders", nil)

	// Rename: drop on the source, create on the destination.
	rename := `{"source":{"namespace":["sales","eu"],"name":"returns"},"destination":{"namespace":["sales"],"name":"returns"}}`
	e.grant("analysts", "drop", "namespace", "default", []string{"sales", "eu"}, "")
	expect(403, "POST", "/v1/tables/rename", rename)
	e.grant("analysts", "create", "namespace", "default", []string{"sales"}, "")
	expect(204, "POST", "/v1/tables/rename", rename)

	// Revoking takes effect at once.
	var grants managementapi.GrantList
	e.must(200, "GET", "/management/v1/grants?role=analysts", e.admin, nil, &grants)
	if len(grants.Grants) != 5 {
		t.Fatalf("grants of analysts: %+v", grants)
	}
	e.must(204, "DELETE", fmt.Sprintf("/management/v1/grants/%d", grants.Grants[0].Id), e.admin, nil, nil)
	expect(403, "GET", "/v1/namespaces/sales/tables/returns", nil) // only create and drop there now
	expect(200, "GET", "/v1/namespaces/sales/tables/orders", nil)  // write implies read

	// Events follow the read grants.
	var page bingsanapi.EventPage
	e.must(200, "GET", "/v1/events?after=0&limit=1000", tok, nil, &page)
	if len(page.Events) == 0 {
		t.Fatal("no events for ana")
	}
	for _, ev := range page.Events {
		// The events name who made the change.
		by := adminID
		if ev.Type == "io.bingsan.table.renamed" || ev.Type == "io.bingsan.table.committed" {
			by = "ana"
		}
		if ev.Data.Principal == nil || *ev.Data.Principal != by {
			t.Errorf("event %s by %v, want %s", ev.Type, ev.Data.Principal, by)
		}
		ns := ev.Data.Namespace
		ok := len(ns) == 2 && ns[1] == "eu" || ev.Data.Name != nil && *ev.Data.Name == "orders" && len(ns) == 1
		if !ok {
			t.Errorf("ana sees an event about %v %v", ns, ev.Data.Name)
		}
	}
}

func TestAuthTokenEndpoint(t *testing.T) {
	t.Parallel()
	e := startAuth(t, servertest.SQLite, servertest.Config{Auth: &auth.Options{TokenTTL: time.Hour}})
	post := func(ct, body string, headers ...string) (int, iceberggen.OAuthError, iceberggen.OAuthTokenResponse) {
		t.Helper()
		status, _, resp := call(t, "POST", e.srv.URL+"/v1/oauth/tokens", ct, []byte(body), headers...)
		var oe iceberggen.OAuthError
		var ok iceberggen.OAuthTokenResponse
		if status == 200 {
			if err := json.Unmarshal(resp, &ok); err != nil {
				t.Fatalf("%s: %v", resp, err)
			}
		} else if err := json.Unmarshal(resp, &oe); err != nil || oe.Error == "" {
			t.Fatalf("status %d: not an OAuth error: %s", status, resp)
		}
		return status, oe, ok
	}
	form := "application/x-www-form-urlencoded"
	cases := []struct {
		name, ct, body string
		headers        []string
		status         int
		code           iceberggen.OAuthErrorError
	}{
		{"json body", "application/json", `{"grant_type":"client_credentials"}`, nil, 400, iceberggen.InvalidRequest},
		{"no grant type", form, "client_id=root", nil, 400, iceberggen.InvalidRequest},
		{"unknown grant type", form, "grant_type=password&username=a&password=b", nil, 400, iceberggen.UnsupportedGrantType},
		{"no secret", form, "grant_type=client_credentials&client_id=root", nil, 400, iceberggen.InvalidRequest},
		{"wrong secret", form, "grant_type=client_credentials&client_id=root&client_secret=nope", nil, 401, iceberggen.InvalidClient},
		{"unknown client", form, "grant_type=client_credentials&client_id=who&client_secret=" + adminSecret, nil, 401, iceberggen.InvalidClient},
		{"bad exchange", form, "grant_type=urn:ietf:params:oauth:grant-type:token-exchange&subject_token=x.y.z&subject_token_type=urn:ietf:params:oauth:token-type:access_token", nil, 400, iceberggen.InvalidGrant},
		{"basic", form, "grant_type=client_credentials", []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(adminID+":"+adminSecret))}, 200, ""},
		{"exchange", form, "grant_type=urn:ietf:params:oauth:grant-type:token-exchange&subject_token_type=urn:ietf:params:oauth:token-type:access_token&subject_token=" + e.admin, nil, 200, ""},
	}
	for _, c := range cases {
		status, oe, tok := post(c.ct, c.body, c.headers...)
		if status != c.status || oe.Error != c.code {
			t.Errorf("%s: %d %q, want %d %q", c.name, status, oe.Error, c.status, c.code)
		}
		if status == 200 {
			if tok.AccessToken == "" || *tok.ExpiresIn != 3600 {
				t.Errorf("%s: %+v", c.name, tok)
			}
			if s, _ := e.do("GET", "/v1/config", tok.AccessToken, nil); s != 200 {
				t.Errorf("%s: the token does not work: %d", c.name, s)
			}
		}
	}
	failed := e.audit("operation=getToken&outcome=denied")
	if len(failed) != 2 || failed[0].Principal != adminID || failed[1].Principal != "who" {
		t.Errorf("failed logins audited: %+v", failed)
	}

	// Tampered and expired tokens are refused.
	parts := strings.Split(e.admin, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	parts[1] = base64.RawURLEncoding.EncodeToString(bytes.Replace(payload, []byte(`"sub":"root"`), []byte(`"sub":"rooot"`), 1))
	status, body := e.do("GET", "/v1/config", strings.Join(parts, "."), nil)
	if status != 401 || !strings.Contains(string(body), "signature") {
		t.Errorf("tampered token: %d %s", status, body)
	}
	e.offset.Add(int64(time.Hour + time.Minute))
	status, body = e.do("GET", "/v1/config", e.admin, nil)
	if status != 401 || errorOf(t, status, body).Message != "Token expired" {
		t.Errorf("expired token: %d %s", status, body)
	}
}

func TestAuthIcebergGoClient(t *testing.T) {
	t.Parallel()
	e := startAuth(t, servertest.SQLite, servertest.Config{})
	_, creds := e.principal("etl", "engineers")
	e.grant("engineers", "create", "warehouse", "default", nil, "")
	e.grant("engineers", "write", "warehouse", "default", nil, "")
	e.grant("engineers", "drop", "warehouse", "default", nil, "")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cat, err := rest.NewCatalog(ctx, "bingsan", e.srv.URL, rest.WithCredential(creds.ClientId+":"+creds.ClientSecret))
	if err != nil {
		t.Fatal(err)
	}
	ns := table.Identifier{"e2e_auth"}
	if err := cat.CreateNamespace(ctx, ns, iceberg.Properties{"owner": "etl"}); err != nil {
		t.Fatal(err)
	}
	id := table.Identifier{"e2e_auth", "orders"}
	tbl, err := cat.CreateTable(ctx, id, e2eSchema())
	if err != nil {
		t.Fatal(err)
	}
	tbl, err = e2eAppend(ctx, t, tbl, []e2eRow{{1, "a"}, {2, "b"}})
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := cat.LoadTable(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got := e2eScan(ctx, t, loaded); len(got) != 2 {
		t.Fatalf("rows: %v", got)
	}
	var listed []table.Identifier
	for ident, err := range cat.ListTables(ctx, ns) {
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, ident)
	}
	if len(listed) != 1 {
		t.Fatalf("tables: %v", listed)
	}

	// Without credentials the client is refused; with wrong ones it cannot
	// log in.
	anon, err := rest.NewCatalog(ctx, "bingsan", e.srv.URL)
	if err == nil {
		_, err = anon.LoadTable(ctx, id)
	}
	if err == nil {
		t.Fatal("an anonymous client loaded the table")
	}
	if _, err := rest.NewCatalog(ctx, "bingsan", e.srv.URL, rest.WithCredential(creds.ClientId+":wrong")); err == nil {
		t.Fatal("wrong credentials were accepted")
	}

	// An API key works as a static token; a reader cannot drop.
	var key managementapi.CreatedApiKey
	readerTok, _ := e.principal("reader", "readers")
	e.grant("readers", "read", "namespace", "default", []string{"e2e_auth"}, "")
	e.must(201, "POST", "/management/v1/api-keys", readerTok, `{"name":"laptop","expires-in":"1h"}`, &key)
	rc, err := rest.NewCatalog(ctx, "bingsan", e.srv.URL, rest.WithOAuthToken(key.Key))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.LoadTable(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := rc.DropTable(ctx, id); err == nil {
		t.Fatal("a reader dropped the table")
	}
	if err := cat.DropTable(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.LoadTable(ctx, id); !errors.Is(err, catalog.ErrNoSuchTable) {
		t.Fatalf("after drop: %v", err)
	}
}

func TestAuthManagementAPIAndAudit(t *testing.T) {
	t.Parallel()
	e := startAuth(t, servertest.SQLite, servertest.Config{})

	var me managementapi.WhoAmI
	e.must(200, "GET", "/management/v1/whoami", e.admin, nil, &me)
	if me.Name != adminID || !slices.Equal(me.Roles, []string{"admin"}) || me.Via != "token" {
		t.Fatalf("whoami: %+v", me)
	}

	// A steward manages grants below its namespace only.
	stewTok, _ := e.principal("stew", "stewards")
	e.grant("stewards", "manage-grants", "namespace", "default", []string{"sales"}, "")
	e.must(201, "POST", "/management/v1/roles", e.admin, `{"name":"readers","description":"read sales"}`, nil)
	e.must(201, "POST", "/management/v1/grants", stewTok,
		`{"role":"readers","privilege":"read","securable":{"type":"namespace","warehouse":"default","namespace":["sales","eu"]}}`, nil)
	e.must(403, "POST", "/management/v1/grants", stewTok,
		`{"role":"readers","privilege":"read","securable":{"type":"warehouse","warehouse":"default"}}`, nil)
	e.must(400, "POST", "/management/v1/grants", e.admin,
		`{"role":"readers","privilege":"read","securable":{"type":"table","warehouse":"default","namespace":["sales"]}}`, nil)
	e.must(400, "POST", "/management/v1/grants", e.admin,
		`{"role":"readers","privilege":"own","securable":{"type":"catalog"}}`, nil)
	e.must(404, "POST", "/management/v1/grants", e.admin,
		`{"role":"nobody","privilege":"read","securable":{"type":"catalog"}}`, nil)
	var visible managementapi.GrantList
	e.must(200, "GET", "/management/v1/grants", stewTok, nil, &visible)
	if len(visible.Grants) != 2 { // its own and the one it made
		t.Fatalf("the steward sees %+v", visible.Grants)
	}
	e.must(403, "GET", "/management/v1/principals", stewTok, nil, nil)
	e.must(403, "PUT", "/management/v1/principals/stew/roles/admin", stewTok, nil, nil)

	// Principals and roles.
	var ps managementapi.PrincipalList
	e.must(200, "GET", "/management/v1/principals", e.admin, nil, &ps)
	if len(ps.Principals) != 2 {
		t.Fatalf("principals: %+v", ps)
	}
	e.must(409, "POST", "/management/v1/principals", e.admin, `{"name":"stew"}`, nil)
	var ext managementapi.PrincipalWithCredentials
	e.must(201, "POST", "/management/v1/principals", e.admin, `{"name":"alice@idp","credentials":false}`, &ext)
	if ext.Credentials != nil || ext.Principal.ClientId != nil {
		t.Fatalf("a principal without credentials got some: %+v", ext)
	}
	e.must(204, "PUT", "/management/v1/principals/alice@idp/roles/readers", e.admin, nil, nil)
	e.must(204, "PUT", "/management/v1/principals/alice@idp/roles/readers", e.admin, nil, nil)
	e.must(404, "PUT", "/management/v1/principals/alice@idp/roles/none", e.admin, nil, nil)
	e.must(204, "DELETE", "/management/v1/principals/alice@idp/roles/readers", e.admin, nil, nil)
	e.must(404, "DELETE", "/management/v1/principals/alice@idp/roles/readers", e.admin, nil, nil)
	var creds managementapi.ClientCredentials
	e.must(200, "POST", "/management/v1/principals/stew/credentials", e.admin, nil, &creds)
	newTok := e.token(creds.ClientId, creds.ClientSecret)
	e.must(200, "GET", "/management/v1/principals/stew", newTok, nil, nil) // itself
	e.must(403, "GET", "/management/v1/principals/"+adminID, newTok, nil, nil)
	var upd managementapi.Principal
	e.must(200, "POST", "/management/v1/principals/stew", e.admin, `{"disabled":true}`, &upd)
	if !upd.Disabled {
		t.Fatal("not disabled")
	}
	e.must(401, "GET", "/management/v1/whoami", stewTok, nil, nil)
	e.must(200, "POST", "/management/v1/principals/stew", e.admin, `{"disabled":false}`, nil)
	e.must(200, "GET", "/management/v1/whoami", stewTok, nil, nil)

	// API keys: self-service, rotation with a grace period, revocation.
	var key managementapi.CreatedApiKey
	e.must(201, "POST", "/management/v1/api-keys", stewTok, `{"name":"ci"}`, &key)
	if !strings.HasPrefix(key.Key, key.ApiKey.Prefix+"_") || key.ApiKey.Principal != "stew" || key.ApiKey.ExpiresAt != nil {
		t.Fatalf("key: %+v", key)
	}
	e.must(200, "GET", "/management/v1/whoami", key.Key, nil, &me)
	if me.Name != "stew" || me.Via != "api-key" {
		t.Fatalf("whoami with the key: %+v", me)
	}
	e.must(403, "POST", "/management/v1/api-keys", stewTok, `{"principal":"root"}`, nil)
	e.must(400, "POST", "/management/v1/api-keys", stewTok, `{"expires-in":"soon"}`, nil)
	var rotated managementapi.CreatedApiKey
	e.must(201, "POST", "/management/v1/api-keys/"+key.ApiKey.Prefix+"/rotate", key.Key, `{"grace-period":"1m"}`, &rotated)
	e.must(200, "GET", "/management/v1/whoami", key.Key, nil, nil)
	e.must(200, "GET", "/management/v1/whoami", rotated.Key, nil, nil)
	e.offset.Add(int64(2 * time.Minute))
	e.must(401, "GET", "/management/v1/whoami", key.Key, nil, nil)
	e.must(200, "GET", "/management/v1/whoami", rotated.Key, nil, nil)
	var keys managementapi.ApiKeyList
	e.must(200, "GET", "/management/v1/api-keys", stewTok, nil, &keys)
	if len(keys.ApiKeys) != 2 {
		t.Fatalf("stew's keys: %+v", keys)
	}
	e.must(200, "GET", "/management/v1/api-keys", e.admin, nil, &keys)
	if len(keys.ApiKeys) != 2 {
		t.Fatalf("all keys: %+v", keys)
	}
	outsider, _ := e.principal("outsider")
	e.must(403, "DELETE", "/management/v1/api-keys/"+rotated.ApiKey.Prefix, outsider, nil, nil)
	e.must(403, "DELETE", "/management/v1/api-keys/bsk_aaaaaaaaaa", outsider, nil, nil)
	e.must(404, "DELETE", "/management/v1/api-keys/bsk_aaaaaaaaaa", e.admin, nil, nil)
	e.must(204, "DELETE", "/management/v1/api-keys/"+rotated.ApiKey.Prefix, stewTok, nil, nil)
	e.must(401, "GET", "/management/v1/whoami", rotated.Key, nil, nil)

	// Signing keys: rotation keeps old tokens; revoking them does not.
	var sk managementapi.SigningKey
	e.must(200, "POST", "/management/v1/signing-keys/rotate", e.admin, nil, &sk)
	e.must(200, "GET", "/management/v1/whoami", stewTok, nil, nil)
	var sks managementapi.SigningKeyList
	e.must(200, "GET", "/management/v1/signing-keys", e.admin, nil, &sks)
	if len(sks.SigningKeys) != 2 || sks.SigningKeys[1].Kid != sk.Kid || sks.SigningKeys[0].RetiredAt == nil {
		t.Fatalf("signing keys: %+v", sks)
	}
	e.must(200, "POST", "/management/v1/signing-keys/rotate", e.admin, `{"revoke-previous":true}`, nil)
	e.must(401, "GET", "/management/v1/whoami", stewTok, nil, nil)
	e.admin = e.token(adminID, adminSecret)

	// Deleting a principal revokes its tokens and keys.
	stewTok = e.token(creds.ClientId, creds.ClientSecret)
	e.must(204, "DELETE", "/management/v1/principals/stew", e.admin, nil, nil)
	e.must(401, "GET", "/management/v1/whoami", stewTok, nil, nil)
	e.must(404, "DELETE", "/management/v1/principals/stew", e.admin, nil, nil)
	e.must(204, "DELETE", "/management/v1/roles/stewards", e.admin, nil, nil)

	// The audit log has every mutation and every denial, with principal,
	// operation, target and outcome.
	e.must(200, "POST", "/v1/namespaces", e.admin, `{"namespace":["audited"]}`, nil)
	entries := e.audit("")
	find := func(principal, op, outcome, target string) bool {
		for _, a := range entries {
			if a.Principal == principal && a.Operation == op && string(a.Outcome) == outcome && strings.Contains(a.Target, target) {
				return true
			}
		}
		return false
	}
	for _, want := range [][4]string{
		{adminID, "createNamespace", "success", "warehouse default"},
		{adminID, "createRole", "success", "role readers"},
		{"stew", "createGrant", "success", "namespace default.sales.eu"},
		{"stew", "createGrant", "denied", "warehouse default"},
		{"stew", "listPrincipals", "denied", ""},
		{adminID, "createPrincipal", "failed", "principal stew"},
		{"stew", "rotateApiKey", "success", key.ApiKey.Prefix},
		{adminID, "deletePrincipal", "success", "principal stew"},
		{"", "whoAmI", "denied", ""},
	} {
		if !find(want[0], want[1], want[2], want[3]) {
			t.Errorf("no audit entry %v", want)
		}
	}
	for _, a := range entries {
		if a.Operation == "whoAmI" && a.Outcome == "success" || a.Operation == "listGrants" && a.Outcome == "success" {
			t.Errorf("a read was audited: %+v", a)
		}
	}
	var first, page managementapi.AuditPage
	e.must(200, "GET", "/management/v1/audit?limit=1", e.admin, nil, &first)
	if len(first.Entries) != 1 || !first.More || first.NextAfter != first.Entries[0].Id {
		t.Fatalf("audit page 1: %+v", first)
	}
	e.must(200, "GET", fmt.Sprintf("/management/v1/audit?limit=2&after=%d", first.NextAfter), e.admin, nil, &page)
	if len(page.Entries) != 2 || !page.More || page.Entries[0].Id <= first.NextAfter || page.NextAfter != page.Entries[1].Id {
		t.Fatalf("audit paging: %+v", page)
	}
	e.must(400, "GET", "/management/v1/audit?limit=0", e.admin, nil, nil)
	e.must(400, "GET", "/management/v1/audit?outcome=maybe", e.admin, nil, nil)
}

func TestAuthDisabledByDefault(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.SQLite, servertest.Config{})
	status, _, body := call(t, "GET", srv.URL+"/v1/config", "", nil)
	if status != 200 || strings.Contains(string(body), "oauth/tokens") {
		t.Fatalf("config without auth: %d %s", status, body)
	}
	status, _, body = call(t, "GET", srv.URL+"/management/v1/whoami", "", nil)
	if status != 404 || !strings.Contains(string(body), "auth.enabled") {
		t.Fatalf("management API without auth: %d %s", status, body)
	}
	status, _, _ = call(t, "POST", srv.URL+"/v1/oauth/tokens", "application/x-www-form-urlencoded", []byte("grant_type=client_credentials"))
	if status != http.StatusNotImplemented {
		t.Fatalf("token endpoint without auth: %d", status)
	}
}

func TestAuthEventStreamFollowsGrants(t *testing.T) {
	t.Parallel()
	e := startAuth(t, servertest.SQLite, servertest.Config{})
	tok, _ := e.principal("ana", "analysts")
	e.grant("analysts", "read", "namespace", "default", []string{"a"}, "")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wsURL := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/v1/events/stream"
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	if _, resp, err := d.DialContext(ctx, wsURL, nil); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("stream without credentials: %v %v", resp, err)
	}
	conn, _, err := d.DialContext(ctx, wsURL, http.Header{"Authorization": {"Bearer " + tok}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	e.must(200, "POST", "/v1/namespaces", e.admin, `{"namespace":["b"]}`, nil)
	e.must(200, "POST", "/v1/namespaces", e.admin, `{"namespace":["a"]}`, nil)
	e.must(200, "POST", "/v1/namespaces/b/tables", e.admin, epCreateTableBody("hidden"), nil)
	e.must(200, "POST", "/v1/namespaces/a/tables", e.admin, epCreateTableBody("seen"), nil)
	for _, want := range []string{"a", "a.seen"} {
		ev, _, err := eventstest.Read(conn, 10*time.Second)
		if err != nil {
			t.Fatalf("waiting for %s: %v", want, err)
		}
		if ev.Subject != want {
			t.Fatalf("got an event about %s, want %s", ev.Subject, want)
		}
	}
	if ev, _, err := eventstest.Read(conn, 500*time.Millisecond); err == nil {
		t.Fatalf("an event ana may not read: %+v", ev)
	}
}

// testIssuer is an OIDC provider on 127.0.0.1 whose signing key can be
// rotated.
type testIssuer struct {
	srv  *httptest.Server
	kid  atomic.Value // string
	key  atomic.Pointer[ecdsa.PrivateKey]
	jwks atomic.Int64
}

func newTestIssuer(t *testing.T) *testIssuer {
	t.Helper()
	is := &testIssuer{}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/jwks"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) {
		is.jwks.Add(1)
		set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &is.key.Load().PublicKey, KeyID: is.kid.Load().(string), Algorithm: "ES256", Use: "sig"}}}
		_ = json.NewEncoder(w).Encode(set)
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	is.rotate(t)
	return is
}

func (is *testIssuer) rotate(t *testing.T) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	is.key.Store(k)
	is.kid.Store(fmt.Sprintf("key-%d", time.Now().UnixNano()))
}

func (is *testIssuer) token(t *testing.T, sub string, groups ...string) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"iss": is.srv.URL, "sub": sub, "aud": "bingsan", "groups": groups,
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
	})
	tok.Header["kid"] = is.kid.Load().(string)
	s, err := tok.SignedString(is.key.Load())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAuthOIDCOverHTTP(t *testing.T) {
	t.Parallel()
	is := newTestIssuer(t)
	e := startAuth(t, servertest.SQLite, servertest.Config{Auth: &auth.Options{
		OIDC: []auth.OIDCIssuer{{Issuer: is.srv.URL, Audience: "bingsan", RolesClaim: "groups"}},
	}})
	e.must(200, "POST", "/v1/namespaces", e.admin, `{"namespace":["sales"]}`, nil)
	e.must(201, "POST", "/management/v1/roles", e.admin, `{"name":"analysts"}`, nil)
	e.grant("analysts", "read", "namespace", "default", []string{"sales"}, "")

	var me managementapi.WhoAmI
	e.must(200, "GET", "/management/v1/whoami", is.token(t, "alice", "analysts", "other"), nil, &me)
	if me.Name != "alice" || me.Via != "oidc:"+is.srv.URL || !slices.Equal(me.Roles, []string{"analysts", "other"}) {
		t.Fatalf("whoami: %+v", me)
	}
	e.must(200, "GET", "/v1/namespaces/sales", is.token(t, "alice", "analysts"), nil, nil)
	e.must(403, "GET", "/v1/namespaces/sales", is.token(t, "bob"), nil, nil)
	e.must(403, "POST", "/v1/namespaces", is.token(t, "alice", "analysts"), `{"namespace":["sales","x"]}`, nil)

	// The issuer rotates its key: the unknown kid makes the server fetch
	// the JWKS again.
	fetched := is.jwks.Load()
	e.offset.Add(int64(time.Minute)) // past the minimum interval between fetches
	is.rotate(t)
	e.must(200, "GET", "/v1/namespaces/sales", is.token(t, "alice", "analysts"), nil, nil)
	if is.jwks.Load() != fetched+1 {
		t.Fatalf("JWKS fetched %d times after the rotation, want once", is.jwks.Load()-fetched)
	}

	// Roles assigned in the catalog to the external name apply too.
	e.must(201, "POST", "/management/v1/principals", e.admin, `{"name":"bob","credentials":false,"roles":["analysts"]}`, nil)
	e.must(200, "GET", "/v1/namespaces/sales", is.token(t, "bob"), nil, nil)
}

package server_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/bingsan/bingsan/console"
	"github.com/bingsan/bingsan/internal/eventstest"
	"github.com/bingsan/bingsan/server"
	"github.com/bingsan/bingsan/server/servertest"
)

type consoleWarehouse struct {
	Name     string `json:"name"`
	Default  bool   `json:"default"`
	Listable bool   `json:"listable"`
	Entries  []struct {
		Type      string   `json:"type"`
		Namespace []string `json:"namespace"`
		Name      string   `json:"name"`
	} `json:"entries"`
}

func TestConsoleRoutes(t *testing.T) {
	t.Parallel()
	off := servertest.Start(t, servertest.SQLite, servertest.Config{})
	if status, _, _ := call(t, "GET", off.URL+"/ui/", "", nil); status != 404 {
		t.Fatalf("console off: /ui/ answered %d, want 404", status)
	}

	on := servertest.Start(t, servertest.SQLite, servertest.Config{Console: &console.Settings{}, ExtraWarehouses: []string{"lake"}})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(on.URL + "/ui")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 302 || !strings.HasSuffix(resp.Header.Get("Location"), "/ui/") {
		t.Fatalf("/ui: %d to %q, want a redirect to /ui/", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, tc := range []struct {
		path, contentType, holds string
		status                   int
	}{
		{"/ui/", "text/html", "Bingsan console", 200},
		{"/ui/w/default", "text/html", "Bingsan console", 200},
		{"/ui/app.js", "text/javascript", "bingsan.events", 200},
		{"/ui/missing.css", "text/plain", "not found", 404},
		{"/ui/settings.json", "application/json", `{"auth":false,"oidc":[]}`, 200},
		{"/ui/warehouses.json", "application/json", `[{"name":"default","default":true,"listable":true,"entries":[]},{"name":"lake","default":false,"listable":true,"entries":[]}]`, 200},
	} {
		status, h, body := call(t, "GET", on.URL+tc.path, "", nil)
		if status != tc.status || !strings.HasPrefix(h.Get("Content-Type"), tc.contentType) || !strings.Contains(string(body), tc.holds) {
			t.Errorf("GET %s: %d %s %.100q, want %d %s holding %q", tc.path, status, h.Get("Content-Type"), body, tc.status, tc.contentType, tc.holds)
		}
	}
	// Hostile paths: never a 5xx nor a file from outside the embedded
	// build (a name without an extension is an application route and gets
	// the page; a path too long for the request buffer is 400).
	for _, path := range []string{"/ui/%00", "/ui/%ff%fe.js", "/ui/" + strings.Repeat("a", 8000), "/ui/..%2F..%2Fgo.mod", "/ui//etc/passwd"} {
		status, _, body := call(t, "GET", on.URL+path, "", nil)
		if status >= 500 || strings.Contains(string(body), "module github.com") {
			t.Errorf("GET %.40s: %d %.80q", path, status, body)
		}
	}
	if status, _, body := call(t, "HEAD", on.URL+"/ui/app.js", "", nil); status != 200 || len(body) != 0 {
		t.Fatalf("HEAD /ui/app.js: %d, %d bytes", status, len(body))
	}
	if status, _, _ := call(t, "POST", on.URL+"/ui/", "", nil); status != 405 {
		t.Fatalf("POST /ui/: %d, want 405", status)
	}
}

func TestConsoleWarehousesFollowGrants(t *testing.T) {
	t.Parallel()
	e := startAuth(t, servertest.SQLite, servertest.Config{Console: &console.Settings{}, ExtraWarehouses: []string{"lake", "vault"}})
	if status, body := e.do("GET", "/ui/warehouses.json", "", nil); status != 401 {
		t.Fatalf("without credentials: %d %s", status, body)
	}
	if status, body := e.do("GET", "/ui/warehouses.json", "not-a-token", nil); status != 401 {
		t.Fatalf("with a bad token: %d %s", status, body)
	}
	// Settings are public: the sign-in page needs them.
	var settings console.Settings
	e.must(200, "GET", "/ui/settings.json", "", nil, &settings)
	if !settings.Auth {
		t.Fatalf("settings %+v: auth is on", settings)
	}

	var all []consoleWarehouse
	e.must(200, "GET", "/ui/warehouses.json", e.admin, nil, &all)
	if len(all) != 3 || !all[0].Listable || all[0].Name != "default" || !all[0].Default {
		t.Fatalf("admin: %+v", all)
	}

	tok, _ := e.principal("ana", "analysts")
	// Who is signed in, and whether the admin pages apply, without a
	// denial in the audit log.
	for _, tc := range []struct{ token, want string }{
		{e.admin, `{"name":"root","via":"token","roles":["admin"],"admin":true}`},
		{tok, `{"name":"ana","via":"token","roles":["analysts"],"admin":false}`},
	} {
		if status, body := e.do("GET", "/ui/session.json", tc.token, nil); status != 200 || strings.TrimSpace(string(body)) != tc.want {
			t.Errorf("session: %d %s, want %s", status, body, tc.want)
		}
	}
	if status, _ := e.do("GET", "/ui/session.json", "", nil); status != 401 {
		t.Errorf("session without credentials: %d", status)
	}
	if denied := e.audit("outcome=denied&principal=ana"); len(denied) != 0 {
		t.Errorf("asking who ana is was audited as a denial: %+v", denied)
	}
	var none []consoleWarehouse
	e.must(200, "GET", "/ui/warehouses.json", tok, nil, &none)
	if len(none) != 0 {
		t.Fatalf("a principal without grants sees %+v", none)
	}
	e.grant("analysts", "read", "namespace", "lake", []string{"sales", "eu"}, "")
	e.grant("analysts", "write", "table", "lake", []string{"ops"}, "jobs")
	e.grant("analysts", "read", "function", "lake", []string{"ops"}, "add_one")
	e.grant("analysts", "read", "warehouse", "vault", nil, "")
	e.must(201, "POST", "/management/v1/roles", e.admin, `{"name":"creators"}`, nil)
	e.must(204, "PUT", "/management/v1/principals/ana/roles/creators", e.admin, nil, nil)
	e.grant("creators", "create", "namespace", "default", []string{"x"}, "") // create does not imply read
	status, got := e.do("GET", "/ui/warehouses.json", tok, nil)
	if status != 200 {
		t.Fatalf("ana: %d %s", status, got)
	}
	want := `[{"name":"lake","default":false,"listable":false,"entries":[{"type":"namespace","namespace":["sales","eu"]},{"type":"table","namespace":["ops"],"name":"jobs"},{"type":"function","namespace":["ops"],"name":"add_one"}]},` +
		`{"name":"vault","default":false,"listable":true,"entries":[]}]`
	if strings.TrimSpace(string(got)) != want {
		t.Fatalf("ana sees\n%s\nwant\n%s", got, want)
	}
}

// A browser cannot set Authorization on a WebSocket: the credential comes
// as a subprotocol, and the server selects bingsan.events.
func TestEventStreamCredentialsInSubprotocol(t *testing.T) {
	t.Parallel()
	e := startAuth(t, servertest.SQLite, servertest.Config{})
	tok, _ := e.principal("ana", "analysts")
	e.grant("analysts", "read", "namespace", "default", []string{"a"}, "")
	wsURL := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/v1/events/stream"
	enc := func(s string) string {
		return server.StreamBearerPrefix + base64.RawURLEncoding.EncodeToString([]byte(s))
	}
	dial := func(protocols ...string) (*websocket.Conn, *http.Response, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, Subprotocols: protocols}
		return d.DialContext(ctx, wsURL, nil)
	}

	for _, tc := range []struct {
		name      string
		protocols []string
	}{
		{"no credential", []string{server.EventsSubprotocol}},
		{"bad token", []string{server.EventsSubprotocol, enc("nope")}},
		{"not base64url", []string{server.EventsSubprotocol, server.StreamBearerPrefix + "a+b"}},
		{"empty", []string{server.EventsSubprotocol, server.StreamBearerPrefix}},
		{"unknown API key", []string{server.EventsSubprotocol, enc("bsk_abcdefgh_0123456789")}},
	} {
		conn, resp, err := dial(tc.protocols...)
		if err == nil {
			conn.Close()
		}
		if err == nil || resp == nil || resp.StatusCode != 401 {
			t.Errorf("%s: %v %v, want 401", tc.name, resp, err)
		}
	}

	conn, resp, err := dial(server.EventsSubprotocol, enc(tok))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != server.EventsSubprotocol {
		t.Fatalf("selected subprotocol %q, want %q (never the credential)", got, server.EventsSubprotocol)
	}
	// The stream follows ana's grants as with a header.
	e.must(200, "POST", "/v1/namespaces", e.admin, `{"namespace":["b"]}`, nil)
	e.must(200, "POST", "/v1/namespaces", e.admin, `{"namespace":["a"]}`, nil)
	ev, _, err := eventstest.Read(conn, 10*time.Second)
	if err != nil || ev.Subject != "a" {
		t.Fatalf("first event %+v %v, want the one about a", ev, err)
	}

	// An API key works the same way; the header still wins when both come.
	var key struct {
		Key string `json:"key"`
	}
	e.must(201, "POST", "/management/v1/api-keys", tok, `{"name":"console"}`, &key)
	if key.Key == "" {
		t.Fatal("no API key returned")
	}
	c2, _, err := dial(server.EventsSubprotocol, enc(key.Key))
	if err != nil {
		t.Fatalf("API key in the subprotocol: %v", err)
	}
	c2.Close()
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, Subprotocols: []string{server.EventsSubprotocol, enc(tok)}}
	if c3, resp, err := d.Dial(wsURL, http.Header{"Authorization": {"Bearer wrong"}}); err == nil || resp == nil || resp.StatusCode != 401 {
		if err == nil {
			c3.Close()
		}
		t.Fatalf("a bad Authorization header with a good subprotocol: %v %v, want 401", resp, err)
	}
}

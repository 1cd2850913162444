package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/bingsan/bingsan/gen/iceberg"
	"github.com/bingsan/bingsan/server/servertest"
)

// call sends one request and returns status, headers and body.
func call(t *testing.T, method, url, contentType string, body []byte, headers ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// errorOf decodes an Iceberg error response and checks that its code matches
// the HTTP status.
func errorOf(t *testing.T, status int, body []byte) iceberg.ErrorModel {
	t.Helper()
	var e iceberg.IcebergErrorResponse
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("status %d: body is not an Iceberg error: %v: %s", status, err, body)
	}
	if e.Error.Code != status || e.Error.Type == "" || e.Error.Message == "" {
		t.Fatalf("status %d: malformed error model: %s", status, body)
	}
	return e.Error
}

func forEachBackend(t *testing.T, fn func(t *testing.T, b servertest.Backend)) {
	for _, b := range servertest.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			fn(t, b)
		})
	}
}

// fillPath substitutes every {param} of a route path with a value.
func fillPath(path string) string {
	r := strings.NewReplacer("{prefix}", "default", "{namespace}", "ns", "{table}", "t", "{view}", "v", "{function}", "f", "{plan-id}", "p")
	return r.Replace(path)
}

func TestEveryOperationIsRouted(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		srv := servertest.Start(t, b, servertest.Config{})
		routes := iceberg.Routes(nil, nil)
		if len(routes) != 35 {
			t.Fatalf("spec has %d operations, want 35", len(routes))
		}
		var cfg iceberg.CatalogConfig
		_, _, body := call(t, "GET", srv.URL+"/v1/config", "", nil)
		if err := json.Unmarshal(body, &cfg); err != nil {
			t.Fatal(err)
		}
		advertised := map[string]bool{}
		for _, e := range *cfg.Endpoints {
			advertised[e] = true
		}
		for _, rt := range routes {
			for _, path := range []string{rt.Path, strings.Replace(rt.Path, "/{prefix}/", "/", 1)} {
				implemented := advertised[rt.Method+" "+rt.Path]
				contentType, reqBody := "application/json", []byte("{}")
				if rt.OperationID == "getToken" {
					contentType, reqBody = "application/x-www-form-urlencoded", []byte("grant_type=client_credentials")
				}
				status, _, body := call(t, rt.Method, srv.URL+fillPath(path), contentType, reqBody)
				if rt.Method == "HEAD" {
					if implemented && status != 204 && status != 404 || !implemented && status != 501 {
						t.Errorf("%s %s: status %d", rt.Method, path, status)
					}
					if len(body) != 0 {
						t.Errorf("%s %s: HEAD answered with a body", rt.Method, path)
					}
					continue
				}
				if status >= 400 {
					if e := errorOf(t, status, body); strings.HasPrefix(e.Message, "No route") || status == 405 {
						t.Errorf("%s %s is not routed: %d %s", rt.Method, path, status, body)
					}
				}
				if rt.OperationID == "signRequest" && !implemented {
					// Built, but not advertised where the storage does not
					// sign (local files here): refused, never 501.
					if status == 501 || status < 400 {
						t.Errorf("%s %s: status %d in a warehouse that does not sign", rt.Method, path, status)
					}
					continue
				}
				if implemented == (status == 501) {
					t.Errorf("%s %s: status %d but advertised=%v", rt.Method, path, status, implemented)
				}
			}
		}
	})
}

func TestConfig(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.SQLite, servertest.Config{
		Defaults:        map[string]string{"clients": "4"},
		Overrides:       map[string]string{"write.format.default": "parquet"},
		ExtraWarehouses: []string{"analytics"},
	})
	cases := []struct {
		name       string
		query      string
		status     int
		wantPrefix string
		errType    string
	}{
		{name: "no warehouse", query: "", status: 200},
		{name: "by name", query: "?warehouse=analytics", status: 200, wantPrefix: "analytics"},
		{name: "by location", query: "?warehouse=" + srv.Warehouse, status: 200, wantPrefix: "default"},
		{name: "unknown", query: "?warehouse=nope", status: 404, errType: "NoSuchWarehouseException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := call(t, "GET", srv.URL+"/v1/config"+tc.query, "", nil)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if tc.errType != "" {
				if e := errorOf(t, status, body); e.Type != tc.errType {
					t.Fatalf("type %s, want %s", e.Type, tc.errType)
				}
				return
			}
			var cfg iceberg.CatalogConfig
			if err := json.Unmarshal(body, &cfg); err != nil {
				t.Fatal(err)
			}
			if cfg.Defaults["clients"] != "4" || cfg.Overrides["write.format.default"] != "parquet" {
				t.Fatalf("defaults/overrides not returned: %s", body)
			}
			if cfg.Overrides["prefix"] != tc.wantPrefix {
				t.Fatalf("prefix %q, want %q", cfg.Overrides["prefix"], tc.wantPrefix)
			}
			if cfg.IdempotencyKeyLifetime == nil || cfg.Endpoints == nil || len(*cfg.Endpoints) == 0 {
				t.Fatalf("lifetime or endpoints missing: %s", body)
			}
			planning := 0
			for _, e := range *cfg.Endpoints {
				if strings.Contains(e, "oauth") {
					t.Errorf("unimplemented endpoint advertised: %s", e)
				}
				if strings.Contains(e, "/plan") || strings.HasSuffix(e, "/tasks") {
					planning++
				}
			}
			if planning != 4 {
				t.Errorf("%d of the 4 scan planning endpoints advertised: %v", planning, *cfg.Endpoints)
			}
		})
	}
}

func TestHealth(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		srv := servertest.Start(t, b, servertest.Config{})
		for _, path := range []string{"/health/live", "/health/ready"} {
			if status, _, body := call(t, "GET", srv.URL+path, "", nil); status != 200 {
				t.Fatalf("%s: %d %s", path, status, body)
			}
		}
		srv.Store.Close()
		status, _, body := call(t, "GET", srv.URL+"/health/ready", "", nil)
		if status != 503 || errorOf(t, status, body).Type != "ServiceUnavailableException" {
			t.Fatalf("ready with a closed store: %d %s", status, body)
		}
		if status, _, _ := call(t, "GET", srv.URL+"/health/live", "", nil); status != 200 {
			t.Fatalf("live must not depend on the store: %d", status)
		}
	})
}

func TestErrorResponses(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.SQLite, servertest.Config{MaxBodyBytes: 1024})
	big := []byte(`{"namespace":["` + strings.Repeat("x", 4096) + `"]}`)
	cases := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        []byte
		status      int
		errType     string
	}{
		{"unknown route", "GET", "/v2/nothing", "", nil, 404, "NotFoundException"},
		{"wrong method", "PATCH", "/v1/namespaces", "", nil, 405, "MethodNotAllowedException"},
		{"malformed json", "POST", "/v1/namespaces", "application/json", []byte(`{"namespace":`), 400, "BadRequestException"},
		{"trailing data", "POST", "/v1/namespaces", "application/json", []byte(`{"namespace":["a"]} {}`), 400, "BadRequestException"},
		{"wrong type", "POST", "/v1/namespaces", "application/json", []byte(`{"namespace":"a"}`), 400, "BadRequestException"},
		{"wrong content type", "POST", "/v1/namespaces", "text/plain", []byte(`{"namespace":["a"]}`), 415, "UnsupportedMediaTypeException"},
		{"oversize body", "POST", "/v1/namespaces", "application/json", big, 413, "PayloadTooLargeException"},
		{"bad page size", "GET", "/v1/namespaces?pageSize=abc", "", nil, 400, "BadRequestException"},
		{"bad idempotency key", "POST", "/v1/namespaces", "application/json", []byte(`{"namespace":["a"]}`), 400, "BadRequestException"},
		{"unknown prefix", "GET", "/v1/nope/namespaces", "", nil, 404, "NoSuchWarehouseException"},
		{"not implemented", "POST", "/v1/oauth/tokens", "application/x-www-form-urlencoded", []byte(`grant_type=client_credentials`), 501, "NotImplementedException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var headers []string
			if tc.name == "bad idempotency key" {
				headers = []string{"Idempotency-Key", "not-a-uuid"}
			}
			status, _, body := call(t, tc.method, srv.URL+tc.path, tc.contentType, tc.body, headers...)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if e := errorOf(t, status, body); e.Type != tc.errType {
				t.Fatalf("type %s, want %s: %s", e.Type, tc.errType, body)
			}
		})
	}
	// None of the rejected requests may have created anything.
	_, _, body := call(t, "GET", srv.URL+"/v1/namespaces", "", nil)
	var list iceberg.ListNamespacesResponse
	if err := json.Unmarshal(body, &list); err != nil || list.Namespaces == nil || len(*list.Namespaces) != 0 {
		t.Fatalf("rejected requests changed state: %s", body)
	}
}

func TestPathDecoding(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		srv := servertest.Start(t, b, servertest.Config{})
		levels := [][]string{{"a"}, {"a", "b.c"}, {"a", "b.c", "d e/f%"}, {"ünï"}}
		for _, ns := range levels {
			body, _ := json.Marshal(map[string]any{"namespace": ns})
			if status, _, resp := call(t, "POST", srv.URL+"/v1/default/namespaces", "application/json", body); status != 200 {
				t.Fatalf("create %q: %d %s", ns, status, resp)
			}
		}
		cases := []struct {
			path string
			want []string
		}{
			{"/v1/namespaces/a%1Fb.c", []string{"a", "b.c"}},
			{"/v1/default/namespaces/a%1fb.c", []string{"a", "b.c"}},
			{"/v1/namespaces/a%1Fb.c%1Fd%20e%2Ff%25", []string{"a", "b.c", "d e/f%"}},
			{"/v1/namespaces/%C3%BCn%C3%AF", []string{"ünï"}},
		}
		for _, tc := range cases {
			status, _, body := call(t, "GET", srv.URL+tc.path, "", nil)
			if status != 200 {
				t.Fatalf("GET %s: %d %s", tc.path, status, body)
			}
			var got iceberg.GetNamespaceResponse
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if strings.Join(got.Namespace, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("GET %s: namespace %q, want %q", tc.path, got.Namespace, tc.want)
			}
			if status, _, body := call(t, "HEAD", srv.URL+tc.path, "", nil); status != 204 || len(body) != 0 {
				t.Fatalf("HEAD %s: %d %q", tc.path, status, body)
			}
		}
		for _, parent := range []string{"a%1Fb.c", "a%251Fb.c"} {
			status, _, body := call(t, "GET", srv.URL+"/v1/namespaces?parent="+parent, "", nil)
			var list iceberg.ListNamespacesResponse
			if status != 200 || json.Unmarshal(body, &list) != nil || len(*list.Namespaces) != 1 || len((*list.Namespaces)[0]) != 3 {
				t.Fatalf("list parent=%s: %d %s", parent, status, body)
			}
		}
	})
}

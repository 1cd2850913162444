package server_test

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"

	"github.com/bingsan/bingsan/server/servertest"
)

// One line per request, with the route template and operation, the
// request id echoed back, and nothing the request carried in its body,
// query or headers besides that id.
func TestAccessLog(t *testing.T) {
	t.Parallel()
	out := &syncBuffer{}
	srv := servertest.Start(t, servertest.SQLite, servertest.Config{AccessLog: true, LogOutput: out})
	epMust(t, 200, "POST", srv.URL+"/v1/namespaces", `{"namespace":["ns"],"properties":{"secret-note":"body-only"}}`, "X-Request-ID", "client-id-1")
	_, h, _ := call(t, "GET", srv.URL+"/v1/namespaces/missing?pageToken=query-only", "", nil, "Authorization", "Bearer header-only")
	generated := h.Get("X-Request-ID")
	if len(generated) != 32 {
		t.Fatalf("generated request id %q", generated)
	}
	_, h, _ = call(t, "GET", srv.URL+"/v1/namespaces", "", nil, "X-Request-ID", "bad id\twith tab")
	if h.Get("X-Request-ID") == "bad id\twith tab" {
		t.Fatal("an unprintable request id was echoed")
	}

	lines := map[string]map[string]any{} // request id: fields
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) != nil || rec["msg"] != "request" {
			continue
		}
		lines[rec["request_id"].(string)] = rec
	}
	first, ok := lines["client-id-1"]
	if !ok {
		t.Fatalf("no line for the client's request id:\n%s", out.String())
	}
	want := map[string]any{"method": "POST", "route": "/v1/{prefix}/namespaces", "operation": "createNamespace", "status": float64(200), "remote": "127.0.0.1"}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("%s = %v, want %v", k, first[k], v)
		}
	}
	if first["duration"] == nil {
		t.Error("no duration") // its JSON form is cmd/bingsan's logger's (TestJSONLogDurations)
	}
	if b, _ := first["bytes"].(float64); b == 0 {
		t.Error("no byte count")
	}
	second, ok := lines[generated]
	if !ok || second["status"] != float64(404) || second["route"] != "/v1/{prefix}/namespaces/{namespace}" || second["operation"] != "loadNamespaceMetadata" {
		t.Errorf("404 line %v", second)
	}
	for _, leak := range []string{"body-only", "query-only", "header-only"} {
		if strings.Contains(out.String(), leak) {
			t.Errorf("the log shows %q", leak)
		}
	}
}

// Sampling keeps every error and one in N of the rest.
func TestAccessLogSample(t *testing.T) {
	t.Parallel()
	out := &syncBuffer{}
	srv := servertest.Start(t, servertest.SQLite, servertest.Config{AccessLog: true, AccessLogSample: 10, LogOutput: out})
	for range 20 {
		call(t, "GET", srv.URL+"/v1/config", "", nil)
	}
	for range 3 {
		call(t, "GET", srv.URL+"/v1/namespaces/missing", "", nil)
	}
	ok, errors := 0, 0
	for _, line := range strings.Split(out.String(), "\n") {
		switch {
		case strings.Contains(line, `"msg":"request"`) && strings.Contains(line, `"status":200`):
			ok++
		case strings.Contains(line, `"msg":"request"`) && strings.Contains(line, `"status":404`):
			errors++
		}
	}
	if ok != 2 || errors != 3 {
		t.Fatalf("logged %d of 20 answers and %d of 3 errors, want 2 and 3", ok, errors)
	}
}

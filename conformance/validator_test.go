package conformance

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestValidatorCatchesViolations guards the suite against a validator that
// silently accepts everything: each exchange here breaks the spec in one
// known way, and the violation must name the operation, status and path.
func TestValidatorCatchesViolations(t *testing.T) {
	v, err := LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		method, path, reqBody string
		status                int
		respBody              string
		want                  string // substring of the single violation; "" for none
	}{
		{"GET", "/v1/namespaces", "", 200, `{"namespaces":[["a"]],"next-page-token":null}`, ""},
		{"GET", "/v1/wh/namespaces", "", 200, `{"namespaces":[["a"]]}`, ""},
		{"GET", "/v1/namespaces", "", 200, `{"namespaces":"a"}`, "listNamespaces (GET /v1/namespaces) 200, response at $.namespaces"},
		{"GET", "/v1/namespaces", "", 418, `{}`, "listNamespaces (GET /v1/namespaces) 418, response at status"},
		{"GET", "/v1/namespaces/a", "", 404, `{"error":{"message":"m","type":"NoSuchNamespaceException"}}`, "loadNamespaceMetadata (GET /v1/namespaces/a) 404, response at $.error"},
		// View errors: the spec's schema says ErrorModel, its examples and
		// every client the wrapped form (see normalizeSpec).
		{"GET", "/v1/namespaces/a/views/v", "", 404, `{"error":{"message":"m","type":"NoSuchViewException","code":404}}`, ""},
		{"POST", "/v1/namespaces", `{"namespace":"a"}`, 400, `{"error":{"message":"m","type":"BadRequestException","code":400}}`, "createNamespace (POST /v1/namespaces) request, request at $.namespace"},
		{"GET", "/v1/config", "", 200, `{"defaults":{},"overrides":{},"endpoints":["GET /v1/config"]}`, ""},
		{"GET", "/v1/config", "", 200, `{"defaults":{}}`, "getConfig (GET /v1/config) 200, response at $"},
	}
	for _, tc := range cases {
		var body io.Reader
		if tc.reqBody != "" {
			body = strings.NewReader(tc.reqBody)
		}
		req, _ := http.NewRequest(tc.method, "http://catalog"+tc.path, body)
		if tc.reqBody != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp := &http.Response{StatusCode: tc.status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(bytes.NewReader([]byte(tc.respBody)))}
		got := v.Check(req, []byte(tc.reqBody), resp, []byte(tc.respBody), true)
		switch {
		case tc.want == "" && len(got) > 0:
			t.Errorf("%s %s %d: unexpected violations %v", tc.method, tc.path, tc.status, got)
		case tc.want != "" && (len(got) == 0 || !strings.Contains(got[0].String(), tc.want)):
			t.Errorf("%s %s %d: violations %v, want one containing %q", tc.method, tc.path, tc.status, got, tc.want)
		}
	}
}

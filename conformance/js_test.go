package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bingsan/bingsan/server/servertest"
)

// TestIcebergJS runs the iceberg-js client's test script (js/) against
// Bingsan on SQLite, or against -url. Its traffic goes through a proxy that
// validates every response against the spec. Node and npm are required:
// without them the test fails, it never skips.
func TestIcebergJS(t *testing.T) {
	if testing.Short() {
		t.Skip("installs and runs iceberg-js")
	}
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required for the iceberg-js conformance test (Node.js 20 or later with npm): %v", tool, err)
		}
	}
	dir, err := filepath.Abs("js")
	if err != nil {
		t.Fatal(err)
	}
	npmCI(t, dir)

	target, _ := targetURL()
	if target == "" {
		srv := servertest.Start(t, servertest.SQLite, servertest.Config{Defaults: bingsanDefaults, Overrides: bingsanOverrides})
		target = srv.URL
	}
	v, err := LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	up, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	violations := &violationLog{}
	proxy := httputil.NewSingleHostReverseProxy(up)
	tr := &Transport{Validator: v, Fallback: violations}
	proxy.Transport = tr
	front := httptest.NewServer(proxy)
	defer front.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "--test", "--test-reporter=spec", "catalog.test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BINGSAN_TEST_CATALOG_URL="+front.URL, "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	t.Logf("node --test (iceberg-js against %s, %d requests):\n%s", target, tr.Requests.Load(), out)
	if err != nil {
		t.Errorf("iceberg-js tests failed: %v", err)
	}
	pass, fail := nodeCount(out, "pass"), nodeCount(out, "fail")
	summariesMu.Lock()
	jsSummary = fmt.Sprintf("iceberg-js %s (node --test, %d requests): %d passed, %d failed", icebergJSVersion(dir), tr.Requests.Load(), pass, fail)
	summariesMu.Unlock()
	if tr.Requests.Load() == 0 {
		t.Errorf("iceberg-js sent no request to the catalog")
	}
	for _, v := range violations.take() {
		t.Errorf("%s", v)
	}
}

// npmCI installs js/'s locked dependencies unless node_modules already
// holds the locked version of every one of them.
func npmCI(t *testing.T, dir string) {
	t.Helper()
	if lockSatisfied(dir) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
	}
	if !lockSatisfied(dir) {
		t.Fatalf("npm ci in %s did not install what package-lock.json names", dir)
	}
}

// lockSatisfied reports whether every package of package-lock.json is in
// node_modules at its locked version.
func lockSatisfied(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return false
	}
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	if json.Unmarshal(b, &lock) != nil {
		return false
	}
	for path, p := range lock.Packages {
		if !strings.HasPrefix(path, "node_modules/") {
			continue
		}
		mb, err := os.ReadFile(filepath.Join(dir, path, "package.json"))
		if err != nil {
			return false
		}
		var m struct {
			Version string `json:"version"`
		}
		if json.Unmarshal(mb, &m) != nil || m.Version != p.Version {
			return false
		}
	}
	return true
}

var _ http.RoundTripper = (*Transport)(nil)

// nodeCount reads "ℹ <what> N" from node's test summary.
func nodeCount(out []byte, what string) int {
	m := regexp.MustCompile(`(?m)^\S*\s*` + what + ` (\d+)$`).FindSubmatch(out)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

func icebergJSVersion(dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "node_modules", "iceberg-js", "package.json"))
	var m struct {
		Version string `json:"version"`
	}
	_ = json.Unmarshal(b, &m)
	return m.Version
}

package server_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bingsan/bingsan/server/servertest"
)

// The README's walk-through is pasted into a shell by new users: it runs,
// as written, against a fresh catalog.
func TestReadmeWalkthrough(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "## A table from create to commit")
	if !ok {
		t.Fatal("the README has no walk-through")
	}
	_, after, _ = strings.Cut(after, "```sh\n")
	script, _, ok := strings.Cut(after, "```")
	if !ok || !strings.Contains(script, "curl") {
		t.Fatalf("walk-through block: %q", script)
	}
	srv := servertest.Start(t, servertest.SQLite, servertest.Config{})
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Env = append(os.Environ(), "CATALOG="+srv.URL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the walk-through failed: %v\n%s", err, out)
	}
	for _, want := range []string{`"metadata-location"`, "io.bingsan.table.committed", `"type":"decimal(12, 2)"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	if status, _, _ := call(t, "HEAD", srv.URL+"/v1/namespaces/sales", "", nil); status != 404 {
		t.Errorf("the walk-through's namespace is still there: %d", status)
	}
}

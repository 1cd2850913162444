// Package gen_test checks that the committed generated code is exactly what
// the pinned generators produce from the pinned inputs, so nobody edits
// generated files by hand and a spec upgrade is always a regeneration.
package gen_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func run(t *testing.T, dir string, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}

func TestIcebergBindingIsUpToDate(t *testing.T) {
	root := repoRoot(t)
	run(t, root, "make", "-s", "spec", "bin/oapi-codegen")
	// The config names the output file; a copy names a temporary one instead.
	cfg, err := os.ReadFile(filepath.Join(root, "openapi/oapi-codegen.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	out := filepath.Join(tmp, "iceberg.gen.go")
	cfg = bytes.Replace(cfg, []byte("output: gen/iceberg/iceberg.gen.go"), []byte("output: "+out), 1)
	cfgPath := filepath.Join(tmp, "oapi-codegen.yaml")
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, root, "bin/oapi-codegen", "-templates", "openapi/templates", "-config", cfgPath, "openapi/spec/rest-catalog.yaml")
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "gen/iceberg/iceberg.gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("gen/iceberg/iceberg.gen.go differs from a fresh generation: run make generate")
	}
}

func TestSQLCOutputIsUpToDate(t *testing.T) {
	root := repoRoot(t)
	run(t, root, "make", "-s", "bin/sqlc")
	// sqlc diff exits non-zero and prints the diff when generated code differs.
	run(t, root, "bin/sqlc", "diff")
}

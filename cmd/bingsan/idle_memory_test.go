package main

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bingsan/bingsan/internal/pgtest"
)

// buildBinary builds ./cmd/bingsan as a release would (without the test's
// dependencies, which a test binary serving in-process would carry).
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bingsan")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// The cloud SDKs that vend's own REST clients replace: linking any of them
// again costs tens of megabytes of memory at start-up (gRPC, xDS,
// OpenTelemetry, MSAL) in every node, whatever its storage.
var unwantedModules = []string{
	"cloud.google.com/go/storage",
	"cloud.google.com/go/auth",
	"github.com/Azure/azure-sdk-for-go",
	"github.com/AzureAD/microsoft-authentication-library-for-go",
	"gocloud.dev",
	"go.opentelemetry.io/otel/sdk",
}

// TestIdleMemory builds bingsan, checks that it links none of the cloud
// SDKs, starts `bingsan serve` on the embedded SQLite store and on
// PostgreSQL, and logs each one's resident memory once start-up has
// settled (the figures docs/performance.md reports; run with -v). Memory
// depends on the machine and the kernel, so no figure is asserted.
func TestIdleMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	t.Parallel()
	bin := buildBinary(t)
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range info.Deps {
		for _, m := range unwantedModules {
			if dep.Path == m || strings.HasPrefix(dep.Path, m+"/") {
				t.Errorf("the binary links %s %s", dep.Path, dep.Version)
			}
		}
	}
	if st, err := os.Stat(bin); err == nil {
		t.Logf("binary: %.1f MB (%d modules)", float64(st.Size())/1e6, len(info.Deps))
	}

	stores := []struct {
		name string
		args func(t *testing.T) []string
	}{
		{"sqlite", func(*testing.T) []string { return nil }},
		{"postgres", func(t *testing.T) []string {
			return []string{"--store.driver", "postgres", "--store.postgres.dsn", pgtest.NewDatabase(t)}
		}},
	}
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			args := append([]string{"serve", "--listen", freeAddr(t), "--data-dir", t.TempDir(), "--log.level", "warn"}, s.args(t)...)
			status := idleStatus(t, bin, args)
			t.Logf("idle after start-up on %s: VmRSS %s, RssAnon %s, RssFile %s", s.name, status["VmRSS"], status["RssAnon"], status["RssFile"])
		})
	}
}

// idleStatus starts bin with args, waits until it is ready and has been
// idle a few seconds, and returns the memory lines of its
// /proc/<pid>/status.
func idleStatus(t *testing.T, bin string, args []string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = cmd.Wait()
	}()
	url := "http://" + args[2] + "/health/ready"
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "status"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && (strings.HasPrefix(k, "Vm") || strings.HasPrefix(k, "Rss")) {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
}

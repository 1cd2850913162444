package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bingsan/bingsan/config"
	"github.com/bingsan/bingsan/internal/pgtest"
)

func runCLI(ctx context.Context, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestCommands(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"version", []string{"version"}, 0, "bingsan "},
		{"no command", nil, 2, "usage: bingsan"},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"unknown flag", []string{"serve", "--no-such-flag"}, 1, "no-such-flag"},
		{"bad value", []string{"serve", "--store.driver=oracle"}, 1, "store.driver"},
		{"postgres without dsn", []string{"serve", "--store.driver=postgres"}, 1, "store.postgres.dsn"},
		{"migrate without direction", []string{"migrate", "--data-dir", "/nonexistent/x"}, 1, "usage: bingsan migrate"},
		{"help", []string{"serve", "--help"}, 0, "--store.driver"},
		{"health of nothing", []string{"health", "--listen", "127.0.0.1:1"}, 1, "health: "},
		{"health with a bad flag", []string{"health", "--no-such-flag"}, 1, "no-such-flag"},
		{"help names allowed values", []string{"serve", "--help"}, 0, "--store.driver (sqlite|postgres"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runCLI(context.Background(), tc.args...)
			if code != tc.code || !strings.Contains(out+errOut, tc.contains) {
				t.Fatalf("exit %d (want %d), output %q does not contain %q", code, tc.code, out+errOut, tc.contains)
			}
		})
	}
}

// TestServeStartsAndStopsCleanly runs `bingsan serve` with only a data
// directory and a port, uses it, then stops it as SIGTERM would.
func TestServeStartsAndStopsCleanly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var logs bytes.Buffer
	go func() {
		done <- run(ctx, []string{"serve", "--listen", addr, "--data-dir", dir}, &bytes.Buffer{}, &logs)
	}()

	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("server not ready: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, out, errOut := runCLI(context.Background(), "health", "--listen", addr, "--data-dir", dir); code != 0 || !strings.Contains(out, "200 OK") {
		cancel()
		t.Fatalf("health of a ready server: exit %d, %q %q", code, out, errOut)
	}
	resp, err := http.Post(base+"/v1/namespaces", "application/json", strings.NewReader(`{"namespace":["cli"]}`))
	if err != nil || resp.StatusCode != 200 {
		cancel()
		t.Fatalf("create namespace: %v %v", err, resp)
	}
	resp.Body.Close()

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d\n%s", code, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop after its context was cancelled")
	}
	for _, p := range []string{"catalog.db", "warehouse"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("%s not created under the data directory: %v", p, err)
		}
	}
	if !strings.Contains(logs.String(), "stopped") {
		t.Errorf("no shutdown log line:\n%s", logs.String())
	}
}

func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	backends := map[string]func(t *testing.T) []string{
		"sqlite": func(t *testing.T) []string { return []string{"--data-dir", t.TempDir()} },
		"postgres": func(t *testing.T) []string {
			return []string{"--store.driver=postgres", "--store.postgres.dsn=" + pgtest.NewDatabase(t)}
		},
	}
	for name, flags := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := flags(t)
			ctx := context.Background()
			step := func(want string, args ...string) {
				t.Helper()
				code, out, errOut := runCLI(ctx, append(append([]string{"migrate"}, args...), f...)...)
				if code != 0 || !strings.Contains(out, want) {
					t.Fatalf("migrate %v: exit %d, out %q, err %q; want %q", args, code, out, errOut, want)
				}
			}
			step("pending", "status")
			step("applied 00001", "up")
			step("applied", "status")
			step("nothing to do", "up")
			step("rolled back", "down")
			step("pending", "status")
			step("applied", "up")
			code, out, _ := runCLI(ctx, append([]string{"migrate", "status"}, f...)...)
			if code != 0 || strings.Contains(out, "pending") {
				t.Fatalf("after up again: %d %s", code, out)
			}
			if code, _, errOut := runCLI(ctx, append([]string{"migrate", "sideways"}, f...)...); code != 1 || !strings.Contains(errOut, "sideways") {
				t.Fatalf("unknown direction: %d %s", code, errOut)
			}
		})
	}
}

// JSON logs write durations as text ("1.5ms"), not integer nanoseconds.
func TestJSONLogDurations(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	newLogger(config.LogConfig{Level: "info", Format: "json"}, &b).Info("x", "took", 1500*time.Microsecond)
	if !strings.Contains(b.String(), `"took":"1.5ms"`) {
		t.Fatalf("log line %s", b.String())
	}
}

// A PostgreSQL that accepts connections and never answers fails serve
// within the connect timeout, naming the server.
func TestServeFailsFastOnASilentDatabase(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accepted, never answered
		}
	}()
	start := time.Now()
	code, _, errOut := runCLI(context.Background(), "serve", "--data-dir", t.TempDir(), "--listen", freeAddr(t),
		"--store.driver=postgres", "--store.postgres.dsn=postgres://u@"+ln.Addr().String()+"/db?sslmode=disable",
		"--store.postgres.connect-timeout=1s")
	if code == 0 || !strings.Contains(errOut, ln.Addr().String()) || !strings.Contains(errOut, "did not answer within 1s") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("failing took %s", d)
	}
}

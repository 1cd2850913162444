// Package servertest starts a real Bingsan server for tests: a real store
// (SQLite file or a fresh PostgreSQL database), a local warehouse in a
// temporary directory, and the HTTP server on a loopback port.
package servertest

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bingsan/bingsan/catalog"
	"github.com/bingsan/bingsan/internal/pgtest"
	"github.com/bingsan/bingsan/server"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/migrate"
	"github.com/bingsan/bingsan/store/postgres"
	"github.com/bingsan/bingsan/store/sqlite"
	"github.com/bingsan/bingsan/vend"
)

// Backend names a store implementation.
type Backend string

const (
	SQLite   Backend = "sqlite"
	Postgres Backend = "postgres"
)

// Backends is every store the server must behave the same on.
var Backends = []Backend{SQLite, Postgres}

// Config adjusts the server under test; the zero value is the defaults.
type Config struct {
	MaxBodyBytes int
	Defaults     map[string]string
	Overrides    map[string]string
	// ExtraWarehouses are served besides "default", by name.
	ExtraWarehouses []string
}

// Instance is a running server.
type Instance struct {
	URL       string // http://127.0.0.1:port
	Store     store.Store
	Catalog   *catalog.Service
	Warehouse string // base location of the default warehouse (file://...)
	Server    *server.Server
}

// OpenStore opens and migrates a fresh store of backend b for t.
func OpenStore(t testing.TB, b Backend) store.Store {
	t.Helper()
	ctx := context.Background()
	var (
		st interface {
			store.Store
			Migrate(context.Context, migrate.Direction) error
		}
		err error
	)
	switch b {
	case Postgres:
		st, err = postgres.Open(ctx, pgtest.NewDatabase(t), postgres.Options{})
	default:
		st, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"), sqlite.Options{})
	}
	if err != nil {
		t.Fatalf("open %s store: %v", b, err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx, migrate.Up); err != nil {
		t.Fatalf("migrate %s store: %v", b, err)
	}
	return st
}

// Start runs a server on backend b until the test ends.
func Start(t testing.TB, b Backend, cfg Config) *Instance {
	t.Helper()
	st := OpenStore(t, b)
	dir := t.TempDir()
	warehouses := map[string]string{"default": "file://" + filepath.Join(dir, "default")}
	for _, name := range cfg.ExtraWarehouses {
		warehouses[name] = "file://" + filepath.Join(dir, name)
	}
	for _, loc := range warehouses {
		if err := os.MkdirAll(loc[len("file://"):], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cat := catalog.New(st, vend.NewLocal(), catalog.Options{
		Warehouses:     warehouses,
		CommitTimeout:  30 * time.Second,
		MaxRetries:     10,
		RetryBaseDelay: 5 * time.Millisecond,
		RetryMaxDelay:  200 * time.Millisecond,
		Defaults:       cfg.Defaults,
		Overrides:      cfg.Overrides,
		Logger:         log,
	})
	maxBody := cfg.MaxBodyBytes
	if maxBody == 0 {
		maxBody = 16 << 20
	}
	srv := server.New(server.Options{
		Store:               st,
		Catalog:             cat,
		Logger:              log,
		DefaultWarehouse:    "default",
		Warehouses:          warehouses,
		Defaults:            cfg.Defaults,
		Overrides:           cfg.Overrides,
		MaxBodyBytes:        maxBody,
		ReadTimeout:         30 * time.Second,
		WriteTimeout:        30 * time.Second,
		IdleTimeout:         30 * time.Second,
		IdempotencyLifetime: 30 * time.Minute,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln) //nolint:errcheck // returns when Shutdown runs at cleanup
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return &Instance{URL: "http://" + ln.Addr().String(), Store: st, Catalog: cat, Warehouse: warehouses["default"], Server: srv}
}

// testWriter sends server logs to the test log, so they show only on failure.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

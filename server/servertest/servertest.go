// Package servertest starts a real Bingsan server for tests: a real store
// (SQLite file or a fresh PostgreSQL database), a local warehouse in a
// temporary directory, and the HTTP server on a loopback port.
package servertest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bingsan/bingsan/auth"
	"github.com/bingsan/bingsan/catalog"
	"github.com/bingsan/bingsan/config"
	"github.com/bingsan/bingsan/console"
	"github.com/bingsan/bingsan/events"
	"github.com/bingsan/bingsan/internal/pgtest"
	"github.com/bingsan/bingsan/metrics"
	"github.com/bingsan/bingsan/planning"
	"github.com/bingsan/bingsan/server"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/migrate"
	"github.com/bingsan/bingsan/store/postgres"
	"github.com/bingsan/bingsan/store/sqlite"
	"github.com/bingsan/bingsan/vend"
	"github.com/bingsan/bingsan/warehouse"
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
	// Storage lists further warehouses with their storage profiles (S3
	// and others), served by name.
	Storage []vend.Warehouse
	// ExternalLocations names the warehouses whose tables and views may
	// live outside them.
	ExternalLocations map[string]bool
	// AccessMode decides the delegated access of requests (nil:
	// read-write).
	AccessMode func(context.Context, store.Ident) vend.Mode
	// LogOutput receives the server's log (warnings and errors) besides
	// the test log.
	LogOutput io.Writer
	// AccessLog turns the access log on (with AccessLogSample); its lines
	// go to LogOutput, as JSON.
	AccessLog       bool
	AccessLogSample int
	// EventBuffer is the per-subscriber queue of event streams (0: the
	// default).
	EventBuffer int
	// EventWriteTimeout is server.Options.EventWriteTimeout.
	EventWriteTimeout time.Duration
	// Metrics, when set, collects the server's metrics (and serves them
	// on /metrics).
	Metrics *metrics.Metrics
	// Auth, when set, turns authentication on with these options (the
	// bootstrap client among them); ProtectMetrics protects /metrics too.
	Auth           *auth.Options
	ProtectMetrics bool
	// Planning adjusts the scan planner (Store, Tables, Node, Metrics and
	// Logger are filled in); nil: the defaults. NoPlanning leaves it out.
	Planning   *planning.Options
	NoPlanning bool
	// Console, when set, serves the web console with these settings
	// (Auth is set from Config.Auth).
	Console *console.Settings
	// ManagedWarehouses serves the warehouses from a warehouse registry
	// (runtime management; "default" and ExtraWarehouses are its
	// configuration file's) instead of fixed maps; Storage is then not
	// served. KeyEncryptionSecret seals its secrets.
	ManagedWarehouses   bool
	KeyEncryptionSecret string
	// Database, for Postgres, is the database to use (another instance's
	// Instance.Database: two nodes on one database); "": a new one.
	Database string
}

// Instance is a running server.
type Instance struct {
	URL       string // http://127.0.0.1:port
	Store     store.Store
	Catalog   *catalog.Service
	Warehouse string // base location of the default warehouse (file://...)
	Server    *server.Server
	Events    *events.Broker
	Auth      *auth.Service     // nil without Config.Auth
	Planner   *planning.Service // nil with Config.NoPlanning
	// Registry serves the warehouses with Config.ManagedWarehouses.
	Registry *warehouse.Registry
	// Database is the PostgreSQL database (DSN) of a Postgres instance.
	Database string
}

// OpenStore opens and migrates a fresh store of backend b for t.
func OpenStore(t testing.TB, b Backend) store.Store {
	t.Helper()
	return openStore(t, b, nil)
}

func openStore(t testing.TB, b Backend, m *metrics.Metrics) store.Store {
	t.Helper()
	st, _ := openStoreOn(t, b, m, "")
	return st
}

// openStoreOn opens the store of backend b, on database dsn for Postgres
// ("": a new one), and returns it with its database.
func openStoreOn(t testing.TB, b Backend, m *metrics.Metrics, dsn string) (store.Store, string) {
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
		if dsn == "" {
			dsn = pgtest.NewDatabase(t)
		}
		st, err = postgres.Open(ctx, dsn, postgres.Options{Metrics: m})
	default:
		st, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"), sqlite.Options{Metrics: m})
	}
	if err != nil {
		t.Fatalf("open %s store: %v", b, err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx, migrate.Up); err != nil {
		t.Fatalf("migrate %s store: %v", b, err)
	}
	return st, dsn
}

// Start runs a server on backend b until the test ends.
func Start(t testing.TB, b Backend, cfg Config) *Instance {
	t.Helper()
	st, dsn := openStoreOn(t, b, cfg.Metrics, cfg.Database)
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
	whs := make([]vend.Warehouse, 0, len(warehouses)+len(cfg.Storage))
	for name, loc := range warehouses {
		whs = append(whs, vend.Warehouse{Name: name, Location: loc})
	}
	for _, w := range cfg.Storage {
		whs = append(whs, w)
		warehouses[w.Name] = w.Location
	}
	storage, err := vend.Open(context.Background(), whs, vend.Options{Metrics: cfg.Metrics})
	if err != nil {
		t.Fatal(err)
	}
	var logOut io.Writer = testWriter{t}
	if cfg.LogOutput != nil {
		logOut = io.MultiWriter(logOut, cfg.LogOutput)
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if cfg.AccessLog { // its lines as a production node writes them
		log = slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	var (
		registry  *warehouse.Registry
		fileIO    vend.FileIO                             = storage
		vendors   interface{ Vendor(string) vend.Vendor } = storage
		directory catalog.Directory
	)
	if cfg.ManagedWarehouses {
		var fromFile []config.WarehouseConfig
		for name, loc := range warehouses {
			if slices.ContainsFunc(cfg.Storage, func(w vend.Warehouse) bool { return w.Name == name }) {
				continue
			}
			fromFile = append(fromFile, config.NewWarehouse(name, loc))
		}
		registry, err = warehouse.New(st.(warehouse.Store), warehouse.Options{
			KeyEncryptionSecret: cfg.KeyEncryptionSecret, Config: fromFile, Metrics: cfg.Metrics, Logger: log,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := registry.Bootstrap(context.Background()); err != nil {
			t.Fatal(err)
		}
		regCtx, stopRegistry := context.WithCancel(context.Background())
		regDone := make(chan struct{})
		go func() { defer close(regDone); registry.Watch(regCtx, 200*time.Millisecond) }()
		t.Cleanup(func() { stopRegistry(); <-regDone })
		fileIO, vendors, directory = registry, registry, registry.Directory()
	}
	cat := catalog.New(st, fileIO, catalog.Options{
		Warehouses:     warehouses,
		Directory:      directory,
		CommitTimeout:  30 * time.Second,
		MaxRetries:     10,
		RetryBaseDelay: 5 * time.Millisecond,
		RetryMaxDelay:  200 * time.Millisecond,
		Defaults:       cfg.Defaults,
		Overrides:      cfg.Overrides,
		Logger:         log,
		// A table whose metadata file is gone is 404 NotFound on load, as in
		// Java catalogs (the conformance suite checks it).
		VerifyMetadataOnLoad: true,

		ExternalLocations: cfg.ExternalLocations,
		Vendors:           vendors,
		Metrics:           cfg.Metrics,
	})
	maxBody := cfg.MaxBodyBytes
	if maxBody == 0 {
		maxBody = 16 << 20
	}
	broker := events.NewBroker(st, events.Options{Buffer: cfg.EventBuffer, PollInterval: 200 * time.Millisecond, Logger: log, Metrics: cfg.Metrics.Events()})
	var authSvc *auth.Service
	if cfg.Auth != nil {
		opts := *cfg.Auth
		if opts.Logger == nil {
			opts.Logger = log
		}
		if authSvc, err = auth.New(context.Background(), st.(store.AuthStore), opts); err != nil {
			t.Fatalf("starting authentication: %v", err)
		}
		authCtx, stopAuth := context.WithCancel(context.Background())
		authDone := make(chan struct{})
		go func() { defer close(authDone); authSvc.Run(authCtx) }()
		t.Cleanup(func() { stopAuth(); <-authDone })
	}
	var planner *planning.Service
	if !cfg.NoPlanning {
		var opts planning.Options
		if cfg.Planning != nil {
			opts = *cfg.Planning
		}
		opts.Store, opts.Tables, opts.Node = st.(store.PlanStore), cat, uuid.NewString()
		opts.Metrics, opts.Logger = cfg.Metrics.Planning(), log
		planner = planning.New(opts)
		planCtx, stopPlanner := context.WithCancel(context.Background())
		planDone := make(chan struct{})
		go func() { defer close(planDone); planner.Run(planCtx) }()
		t.Cleanup(func() { stopPlanner(); <-planDone })
	}
	var consoleSettings *console.Settings
	if cfg.Console != nil {
		c := *cfg.Console
		c.Auth = cfg.Auth != nil
		consoleSettings = &c
	}
	srv := server.New(server.Options{
		Store:               st,
		Catalog:             cat,
		Logger:              log,
		DefaultWarehouse:    "default",
		Warehouses:          warehouses,
		Registry:            registry,
		Defaults:            cfg.Defaults,
		Overrides:           cfg.Overrides,
		AccessMode:          cfg.AccessMode,
		Events:              broker,
		EventWriteTimeout:   cfg.EventWriteTimeout,
		Planner:             planner,
		Metrics:             cfg.Metrics,
		Auth:                authSvc,
		ProtectMetrics:      cfg.ProtectMetrics,
		Console:             consoleSettings,
		MaxBodyBytes:        maxBody,
		ReadTimeout:         30 * time.Second,
		WriteTimeout:        30 * time.Second,
		IdleTimeout:         30 * time.Second,
		IdempotencyLifetime: 30 * time.Minute,
		AccessLog:           cfg.AccessLog,
		AccessLogSample:     cfg.AccessLogSample,
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
	// Stopped before the server (cleanups run last first), so that open
	// event streams are closed rather than waited for.
	brokerCtx, stopBroker := context.WithCancel(context.Background())
	brokerDone := make(chan struct{})
	go func() { defer close(brokerDone); broker.Run(brokerCtx) }()
	t.Cleanup(func() { stopBroker(); <-brokerDone })
	return &Instance{URL: "http://" + ln.Addr().String(), Store: st, Catalog: cat, Warehouse: warehouses["default"], Server: srv, Events: broker, Auth: authSvc, Planner: planner, Registry: registry, Database: dsn}
}

// testWriter sends server logs to the test log, so they show only on failure.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

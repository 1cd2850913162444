package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/bingsan/bingsan/catalog"
	"github.com/bingsan/bingsan/config"
	"github.com/bingsan/bingsan/events"
	"github.com/bingsan/bingsan/metrics"
	"github.com/bingsan/bingsan/planning"
	"github.com/bingsan/bingsan/server"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/migrate"
)

// migratableStore is what the CLI opens: a store of the catalog's,
// authentication's and scan planning's rows that it can migrate. The store
// of every driver (store/core) is all of it.
type migratableStore interface {
	store.Store
	store.Warehouses
	store.AuthStore
	store.PlanStore
	Migrate(ctx context.Context, dir migrate.Direction) error
	MigrationStatus(ctx context.Context) ([]migrate.Status, error)
}

// openStore opens the configured backend. The SQLite file's directory is
// created so that a bare `bingsan serve` works in an empty folder.
func openStore(ctx context.Context, cfg config.Config, m *metrics.Metrics) (migratableStore, error) {
	switch cfg.Store.Driver {
	case "postgres":
		return openPostgres(ctx, cfg, m)
	default:
		if err := os.MkdirAll(filepath.Dir(cfg.Store.SQLite.Path), 0o755); err != nil {
			return nil, fmt.Errorf("creating data directory: %w", err)
		}
		return openSQLite(ctx, cfg, m)
	}
}

func serve(ctx context.Context, cfg config.Config, logOut io.Writer) error {
	log := newLogger(cfg.Log, logOut)
	var m *metrics.Metrics
	if cfg.Server.Metrics {
		m = metrics.New(metrics.Options{Version: buildVersion()})
	}
	st, err := openStore(ctx, cfg, m)
	if err != nil {
		return err
	}
	defer st.Close()
	if cfg.Store.MigrateOnStart {
		if err := st.Migrate(ctx, migrate.Up); err != nil {
			return err
		}
	}
	registry, err := openWarehouses(ctx, cfg, st, m, log)
	if err != nil {
		return err
	}
	cat := catalog.New(st, registry, catalog.Options{
		Directory:      registry.Directory(),
		CommitTimeout:  cfg.Commit.Timeout,
		MaxRetries:     cfg.Commit.MaxRetries,
		MaxCommitGroup: cfg.Commit.MaxGroupSize,
		RetryBaseDelay: cfg.Commit.RetryBaseDelay,
		RetryMaxDelay:  cfg.Commit.RetryMaxDelay,
		Defaults:       cfg.Catalog.Defaults,
		Overrides:      cfg.Catalog.Overrides,
		Logger:         log,
		// A table whose metadata file is gone is 404 NotFound on load, as in
		// Java catalogs (the conformance suite checks it).
		VerifyMetadataOnLoad: cfg.Catalog.VerifyMetadataOnLoad,
		VerifiedFor:          cfg.Catalog.VerifiedFor,

		Vendors: registry,
		Metrics: m,
	})
	// Before serving: the ownership rules need every owner's locations.
	if err := cat.BackfillLocations(ctx); err != nil {
		return fmt.Errorf("recording storage locations: %w", err)
	}
	broker := events.NewBroker(st, events.Options{Buffer: cfg.Events.Buffer, Logger: log, Metrics: m.Events()})
	authSvc, err := openAuth(ctx, cfg, st, log)
	if err != nil {
		return err
	}
	var planner *planning.Service
	if cfg.Planning.Enabled {
		planner = newPlanner(cfg, st, cat, m, log)
	}
	srv := server.New(server.Options{
		Store:               st,
		Catalog:             cat,
		Logger:              log,
		DefaultWarehouse:    cfg.Warehouse.Name,
		Registry:            registry,
		Defaults:            cfg.Catalog.Defaults,
		Overrides:           cfg.Catalog.Overrides,
		Events:              broker,
		Planner:             planner,
		Metrics:             m,
		Auth:                authSvc,
		ProtectMetrics:      cfg.Auth.MetricsProtected,
		Console:             consoleSettings(cfg),
		MaxBodyBytes:        int(cfg.Server.MaxBodyBytes),
		ReadTimeout:         cfg.Server.ReadTimeout,
		WriteTimeout:        cfg.Server.WriteTimeout,
		IdleTimeout:         cfg.Server.IdleTimeout,
		IdempotencyLifetime: cfg.Idempotency.Lifetime,
		AccessLog:           cfg.Log.Access,
		AccessLogSample:     cfg.Log.AccessSample,
	})

	// Memory first: the collections it runs read type and stack tables
	// from the executable, whose pages are released after them.
	releaseStartupMemory()
	releaseStartupPages()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	log.Info("bingsan listening", "addr", ln.Addr().String(), "version", buildVersion(),
		"store", cfg.Store.Driver, "warehouse", cfg.Warehouse.Location, "auth", cfg.Auth.Enabled)

	bg, stopBackground := context.WithCancel(context.Background())
	defer stopBackground()
	go cat.RunPurger(bg, catalog.PurgerOptions{
		Interval: cfg.Purge.Interval, MaxAttempts: cfg.Purge.MaxAttempts,
		TemporaryFileAge: cfg.Purge.TemporaryFileAge, SweepInterval: cfg.Purge.SweepInterval,
	})
	go pruneIdempotencyKeys(bg, st, log)
	go registry.Watch(bg, time.Second)
	brokerDone := make(chan struct{})
	go func() { defer close(brokerDone); broker.Run(bg) }()
	go events.RunPruner(bg, st, cfg.Events.Retention, cfg.Events.PruneInterval, log)
	if authSvc != nil {
		go authSvc.Run(bg)
	}
	plannerDone := make(chan struct{})
	if planner != nil {
		go func() { defer close(plannerDone); planner.Run(bg) }()
	} else {
		close(plannerDone)
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.Server.ShutdownTimeout)
	stopBackground()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
	defer cancel()
	// Event streams are told the node is going away (with where to resume)
	// before the process ends.
	<-brokerDone
	if err := broker.Drain(shutdownCtx); err != nil {
		log.Warn("event streams did not close in time", "error", err)
	}
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.Canceled) {
		log.Warn("shutdown did not drain in time", "error", err)
	}
	// Plans this node was planning are handed back to the queue, for the
	// other nodes (or this one after a restart) to resume.
	<-plannerDone
	log.Info("stopped")
	return nil
}

// ensureLocalWarehouse creates a file:// warehouse directory up front, so a
// misconfigured path fails at start-up rather than on the first create.
func ensureLocalWarehouse(location string) error {
	path, ok := strings.CutPrefix(location, "file://")
	if !ok {
		return nil
	}
	return os.MkdirAll(path, 0o755)
}

func pruneIdempotencyKeys(ctx context.Context, st store.Store, log interface {
	Warn(string, ...any)
}) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := st.PruneIdempotent(ctx, time.Now()); err != nil && ctx.Err() == nil {
				log.Warn("pruning idempotency keys", "error", err)
			}
		}
	}
}

// newPlanner is the scan planner of this node, named uniquely in the leases
// it takes on plans.
func newPlanner(cfg config.Config, st store.PlanStore, cat *catalog.Service, m *metrics.Metrics, log *slog.Logger) *planning.Service {
	p := cfg.Planning
	workers := p.Workers
	if workers == 0 {
		workers = -1 // plans are only stored here
	}
	return planning.New(planning.Options{
		Store:               st,
		Tables:              cat,
		Node:                uuid.NewString(),
		Workers:             workers,
		AsyncManifests:      cmp.Or(p.AsyncManifests, -1), // 0: every plan in the background
		SyncTimeout:         p.SyncTimeout,
		TasksPerChunk:       p.TasksPerResponse,
		WindowFiles:         p.WindowFiles,
		ManifestConcurrency: p.ManifestConcurrency,
		Lifetime:            p.PlanLifetime,
		Lease:               p.Lease,
		MaxAttempts:         p.MaxAttempts,
		PollInterval:        p.PollInterval,
		Metrics:             m.Planning(),
		Logger:              log,
	})
}

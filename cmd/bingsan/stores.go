package main

import (
	"context"

	"github.com/bingsan/bingsan/config"
	"github.com/bingsan/bingsan/metrics"
	"github.com/bingsan/bingsan/store/postgres"
	"github.com/bingsan/bingsan/store/sqlite"
)

func openPostgres(ctx context.Context, cfg config.Config, m *metrics.Metrics) (migratableStore, error) {
	return postgres.Open(ctx, cfg.Store.Postgres.DSN, postgres.Options{
		MaxConns:       int32(cfg.Store.Postgres.MaxConns),
		ConnectTimeout: cfg.Store.Postgres.ConnectTimeout,
		LockTimeout:    cfg.Commit.LockTimeout,
		MaxRetries:     cfg.Commit.MaxRetries,
		BaseDelay:      cfg.Commit.RetryBaseDelay,
		MaxDelay:       cfg.Commit.RetryMaxDelay,
		Metrics:        m,
	})
}

func openSQLite(ctx context.Context, cfg config.Config, m *metrics.Metrics) (migratableStore, error) {
	return sqlite.Open(ctx, cfg.Store.SQLite.Path, sqlite.Options{
		LockTimeout: cfg.Commit.LockTimeout,
		MaxRetries:  cfg.Commit.MaxRetries,
		BaseDelay:   cfg.Commit.RetryBaseDelay,
		MaxDelay:    cfg.Commit.RetryMaxDelay,
		Metrics:     m,
	})
}

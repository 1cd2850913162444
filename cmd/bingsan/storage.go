package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/bingsan/bingsan/config"
	"github.com/bingsan/bingsan/metrics"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/warehouse"
)

// openWarehouses returns the registry of the warehouses this node serves,
// with the configuration file's written into the database (the file wins
// for those it names). Local warehouse directories are created as
// warehouses appear, so a misconfigured path of the file fails at start-up
// rather than on the first create; object stores are not contacted (one
// that is down answers 503 per request).
func openWarehouses(ctx context.Context, cfg config.Config, st store.Store, m *metrics.Metrics, log *slog.Logger) (*warehouse.Registry, error) {
	for _, w := range cfg.AllWarehouses() {
		if err := ensureLocalWarehouse(w.Location); err != nil {
			return nil, err
		}
	}
	ws, ok := st.(warehouse.Store)
	if !ok {
		return nil, fmt.Errorf("the %s store does not keep warehouses", cfg.Store.Driver)
	}
	reg, err := warehouse.New(ws, warehouse.Options{
		KeyEncryptionSecret: cfg.Auth.KeyEncryptionSecret,
		Config:              cfg.AllWarehouses(),
		PrepareLocal:        ensureLocalWarehouse,
		Metrics:             m,
		Logger:              log,
	})
	if err != nil {
		return nil, err
	}
	if err := reg.Bootstrap(ctx); err != nil {
		return nil, fmt.Errorf("warehouses: %w", err)
	}
	return reg, nil
}

// Package warehouse is the registry of the warehouses a node serves: those
// stored in the catalog's database (created through the management API,
// and those of the configuration file, bootstrapped on start), with the
// storage that serves each. Every node keeps a copy and reloads it when the
// database's warehouse revision moves: at once after its own changes, on
// the events wake-up for other nodes' (PostgreSQL LISTEN/NOTIFY), and by
// polling in case a wake-up was lost.
package warehouse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bingsan/bingsan/config"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/metrics"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/vend"
)

// Store is what the registry needs of the catalog's database.
type Store interface {
	store.Warehouses
	EventWakeups(ctx context.Context) <-chan struct{}
}

// Options configures New.
type Options struct {
	// KeyEncryptionSecret seals the storage profiles' secrets in the
	// database (auth.key-encryption-secret); empty: warehouses with
	// secrets cannot be created through the API.
	KeyEncryptionSecret string
	// Config are the warehouses of the configuration file: Bootstrap
	// stores them, and they win over the stored version.
	Config []config.WarehouseConfig
	// PrepareLocal creates a local (file://) warehouse's directory; nil:
	// nothing is prepared.
	PrepareLocal func(location string) error
	Metrics      *metrics.Metrics
	Logger       *slog.Logger
}

// Entry is one warehouse as the registry serves it.
type Entry struct {
	Config    config.WarehouseConfig // secrets included: never show them
	Active    bool
	Source    store.WarehouseSource
	CreatedAt time.Time
	UpdatedAt time.Time
	// Secrets names the profile's secrets that are set
	// ("s3.secret-access-key", ...), which is all that is ever shown.
	Secrets []string
}

// Registry serves the warehouses. It implements vend.FileIO and the
// catalog's and server's view of the warehouses.
type Registry struct {
	st     Store
	seal   sealer
	opts   Options
	log    *slog.Logger
	config map[string]config.WarehouseConfig

	reload sync.Mutex // one reload at a time
	cur    atomic.Pointer[snapshot]
}

type snapshot struct {
	revision int64
	entries  map[string]*Entry
	names    []string // sorted
	storage  *vend.Storage
}

// New returns a registry over st holding nothing until Bootstrap.
func New(st Store, opts Options) (*Registry, error) {
	sl, err := newSealer(opts.KeyEncryptionSecret)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	r := &Registry{st: st, seal: sl, opts: opts, log: log, config: map[string]config.WarehouseConfig{}}
	for _, w := range opts.Config {
		r.config[w.Name] = w
	}
	empty, err := vend.Open(context.Background(), nil, vend.Options{Metrics: opts.Metrics})
	if err != nil {
		return nil, err
	}
	r.cur.Store(&snapshot{revision: -1, entries: map[string]*Entry{}, storage: empty})
	return r, nil
}

// Bootstrap writes the configuration file's warehouses into the database
// (the file wins over what is stored under their names) and loads
// everything.
func (r *Registry) Bootstrap(ctx context.Context) error {
	// Nodes starting together bootstrap the same file: the one that loses
	// the insert reads again and finds the winner's row (the same file, or
	// the file it wins against by updating).
	var err error
	for range 3 {
		if err = r.bootstrapOnce(ctx); !errs.Is(err, errs.AlreadyExists) {
			break
		}
	}
	if err != nil {
		return err
	}
	return r.Reload(ctx)
}

func (r *Registry) bootstrapOnce(ctx context.Context) error {
	stored, err := r.st.ListWarehouses(ctx)
	if err != nil {
		return err
	}
	byName := map[string]store.Warehouse{}
	for _, w := range stored {
		byName[w.Name] = w
	}
	for _, name := range slices.Sorted(maps.Keys(r.config)) {
		w := r.config[name]
		row, err := r.row(w, true, store.WarehouseFromConfig)
		if errors.Is(err, errNoKey) {
			// The file holds the secrets on every node; without a key
			// they are not stored.
			row, err = r.rowWithout(w)
		}
		if err != nil {
			return fmt.Errorf("warehouse %s: %w", name, err)
		}
		old, ok := byName[name]
		switch {
		case !ok:
			err = r.st.CreateWarehouse(ctx, row, store.EventWarehouseCreated)
		case !r.sameAsStored(w, old):
			err = r.st.UpdateWarehouse(ctx, row, store.EventWarehouseUpdated)
		}
		if err != nil {
			return fmt.Errorf("warehouse %s of the configuration file: %w", name, err)
		}
	}
	return nil
}

// sameAsStored reports whether the stored row already says what the file
// does (secrets compared open: sealing is randomized).
func (r *Registry) sameAsStored(w config.WarehouseConfig, old store.Warehouse) bool {
	if old.Location != w.Location || !old.Active || old.Source != store.WarehouseFromConfig {
		return false
	}
	st, err := decodeSettings(old.Name, old.Settings)
	if err != nil {
		return false
	}
	want, wantSec := split(w)
	if st != want {
		return false
	}
	if r.seal.aead == nil {
		return len(old.Secrets) == 0
	}
	sec, err := r.seal.open(old.Secrets)
	return err == nil && sec == wantSec
}

// row is w as stored.
func (r *Registry) row(w config.WarehouseConfig, active bool, source store.WarehouseSource) (store.Warehouse, error) {
	key, err := vend.LocationKey(w.Location)
	if err != nil {
		return store.Warehouse{}, errs.New(errs.BadRequest, "Invalid warehouse location %q: %v", w.Location, err)
	}
	st, sec := split(w)
	b, err := jsonMarshal(st)
	if err != nil {
		return store.Warehouse{}, err
	}
	sealed, err := r.seal.seal(sec)
	if err != nil {
		return store.Warehouse{}, err
	}
	return store.Warehouse{Name: w.Name, Location: w.Location, Key: key, Settings: b, Secrets: sealed, Active: active, Source: source}, nil
}

// rowWithout is the row of a configuration file's warehouse whose secrets
// cannot be sealed: stored without them.
func (r *Registry) rowWithout(w config.WarehouseConfig) (store.Warehouse, error) {
	w.S3.SecretAccessKey, w.GCS.CredentialsJSON, w.Azure.AccountKey, w.Azure.ClientSecret = "", "", "", ""
	return r.row(w, true, store.WarehouseFromConfig)
}

// Reload reads the warehouses again when their revision moved.
func (r *Registry) Reload(ctx context.Context) error {
	r.reload.Lock()
	defer r.reload.Unlock()
	rev, err := r.st.WarehouseRevision(ctx)
	if err != nil {
		return err
	}
	if rev == r.cur.Load().revision {
		return nil
	}
	rows, err := r.st.ListWarehouses(ctx)
	if err != nil {
		return err
	}
	next := &snapshot{revision: rev, entries: make(map[string]*Entry, len(rows))}
	whs := make([]vend.Warehouse, 0, len(rows))
	for _, row := range rows {
		e, err := r.entry(row)
		if err != nil {
			// One unreadable warehouse must not take the others down.
			r.log.Error("warehouse cannot be served", "warehouse", row.Name, "error", err)
			continue
		}
		if r.opts.PrepareLocal != nil {
			if err := r.opts.PrepareLocal(e.Config.Location); err != nil {
				r.log.Error("warehouse cannot be served", "warehouse", row.Name, "error", err)
				continue
			}
		}
		next.entries[row.Name] = e
		next.names = append(next.names, row.Name)
		whs = append(whs, VendWarehouse(e.Config))
	}
	// Opening contacts no server: clients are built, and credential
	// caches start empty (a change is rare; a miss only costs a call).
	if next.storage, err = vend.Open(ctx, whs, vend.Options{Metrics: r.opts.Metrics}); err != nil {
		return err
	}
	r.cur.Store(next)
	return nil
}

func (r *Registry) entry(row store.Warehouse) (*Entry, error) {
	st, err := decodeSettings(row.Name, row.Settings)
	if err != nil {
		return nil, err
	}
	sec, err := r.seal.open(row.Secrets)
	if err != nil {
		return nil, err
	}
	w := join(row.Name, row.Location, st, sec)
	if fw, ok := r.config[row.Name]; ok && row.Source == store.WarehouseFromConfig {
		w = fw // the file wins, secrets included
	}
	_, fullSec := split(w)
	return &Entry{Config: w, Active: row.Active, Source: row.Source, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt, Secrets: fullSec.names()}, nil
}

// wakeSpacing is the least time between two reloads woken by events.
const wakeSpacing = 100 * time.Millisecond

// Watch keeps the registry current until ctx ends: it reloads on every
// events wake-up and every poll interval (0: one second).
func (r *Registry) Watch(ctx context.Context, poll time.Duration) {
	if poll <= 0 {
		poll = time.Second
	}
	wake := r.st.EventWakeups(ctx)
	t := time.NewTicker(poll)
	defer t.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-wake:
			if !ok {
				wake = nil
				continue
			}
			// Every event wakes this loop, commits included: reading the
			// revision at most every wakeSpacing keeps a busy catalog from
			// paying one extra query per commit, and wake-ups arriving
			// meanwhile merge into the next read.
			if d := time.Until(last.Add(wakeSpacing)); d > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(d):
				}
			}
		case <-t.C:
		}
		last = time.Now()
		if err := r.Reload(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("reloading warehouses", "error", err)
		}
	}
}

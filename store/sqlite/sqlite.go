// Package sqlite is the embedded SQLite driver of the store (store/driver),
// on the pure-Go driver modernc.org/sqlite and the sqlc queries in
// gen/sqlitedb; Open builds the store core (store/core) over it.
//
// SQLite allows one writer at a time. Rather than letting concurrent writers
// collide and fail with SQLITE_BUSY, all writes go through a single
// connection and start with BEGIN IMMEDIATE, so they queue in Go; reads use
// a separate pool and, thanks to WAL, never wait for the writer. The write
// transaction is therefore the lock of every Lock* query, and the driver has
// none of the optional capabilities: the core commits in a transaction and
// wakes only this process's readers of events.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/gen/sqlitedb"
	"github.com/bingsan/bingsan/metrics"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/core"
	"github.com/bingsan/bingsan/store/driver"
	"github.com/bingsan/bingsan/store/migrate"
)

// Options tune the store; zero values take the defaults.
type Options struct {
	// LockTimeout is SQLite's busy_timeout: how long a statement waits for
	// a lock held by another process before failing. Default 5s.
	LockTimeout time.Duration
	// MaxRetries is how often a write that still found the database busy is
	// retried. Default 5; negative disables retries.
	MaxRetries int
	// BaseDelay and MaxDelay bound the exponential backoff (full jitter)
	// between retries. Defaults 10ms and 1s.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// ReadConns caps the read pool. Default max(4, GOMAXPROCS).
	ReadConns int
	// Metrics counts writes that found the database busy; nil: none.
	Metrics *metrics.Metrics
}

func (o Options) withDefaults() Options {
	if o.LockTimeout <= 0 {
		o.LockTimeout = 5 * time.Second
	}
	// The retry settings are the core's (core.Options).
	if o.ReadConns <= 0 {
		o.ReadConns = max(4, runtime.GOMAXPROCS(0))
	}
	return o
}

// Store is the store on an SQLite file: the store core (package core) over
// this package's Driver.
type Store struct {
	*core.Store
	drv *Driver
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path. It does not
// migrate; call Migrate. ":memory:" gives a private in-memory database,
// served by the single connection.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	if path == "" || strings.ContainsRune(path, '?') {
		return nil, errs.New(errs.Internal, "invalid SQLite path %q", path)
	}
	pragmas := func(extra ...string) string {
		v := url.Values{}
		v.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opts.LockTimeout.Milliseconds()))
		v.Add("_pragma", "foreign_keys(1)")
		for _, e := range extra {
			k, val, _ := strings.Cut(e, "=")
			v.Add(k, val)
		}
		return path + "?" + v.Encode()
	}
	writer, err := sql.Open("sqlite", pragmas("_pragma=journal_mode(WAL)", "_txlock=immediate"))
	if err != nil {
		return nil, interpret(err)
	}
	writer.SetMaxOpenConns(1)
	// Keep the connection: with SQLite, closing the last one of an
	// in-memory database discards it.
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	// Opening the writer first switches the file to WAL (a persistent
	// setting) before any reader looks at it.
	if err := writer.PingContext(ctx); err != nil {
		writer.Close()
		return nil, interpret(err)
	}
	reader := writer
	if path != ":memory:" {
		if reader, err = sql.Open("sqlite", pragmas("_pragma=query_only(1)")); err != nil {
			writer.Close()
			return nil, interpret(err)
		}
		reader.SetMaxOpenConns(opts.ReadConns)
		reader.SetMaxIdleConns(opts.ReadConns)
	}
	drv := &Driver{writer: writer, reader: reader, q: sqlitedb.New()}
	s := &Store{
		Store: core.New(drv, core.Options{
			MaxRetries: opts.MaxRetries, BaseDelay: opts.BaseDelay, MaxDelay: opts.MaxDelay,
			OnBusy: func(error) { opts.Metrics.LockWait(metrics.Busy) },
		}),
		drv: drv,
	}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Migrate moves the schema one way (Up: all pending; Down: the latest one).
func (s *Store) Migrate(ctx context.Context, dir migrate.Direction) error {
	return migrate.Run(ctx, s.drv.writer, migrate.SQLite, dir)
}

// MigrationStatus lists the migrations and which are applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]migrate.Status, error) {
	return migrate.List(ctx, s.drv.writer, migrate.SQLite)
}

// interpret is the one place that reads modernc.org/sqlite errors. It maps
// them onto the driver-neutral classes of package driver or onto errs kinds;
// errors it has already seen, and domain errors, pass through unchanged.
func interpret(err error) error {
	if err == nil {
		return nil
	}
	var domain *errs.Error
	switch {
	case errors.As(err, &domain),
		errors.Is(err, driver.ErrNoRows), errors.Is(err, driver.ErrUnique), errors.Is(err, driver.ErrUUIDTaken),
		errors.Is(err, driver.ErrForeignKey), errors.Is(err, driver.ErrBusy),
		errors.Is(err, driver.ErrOutcomeUnknown):
		return err
	case errors.Is(err, sql.ErrNoRows):
		return driver.ErrNoRows
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, context.DeadlineExceeded):
		return errs.Wrap(errs.ServiceUnavailable, err, "The catalog database did not answer in time")
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			if strings.Contains(se.Error(), "entities.uuid") {
				return fmt.Errorf("%w: %w", driver.ErrUUIDTaken, err)
			}
			return fmt.Errorf("%w: %w", driver.ErrUnique, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: %w", driver.ErrForeignKey, err)
		}
		switch se.Code() & 0xff { // primary result code
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("%w: %w", driver.ErrBusy, err)
		case sqlite3.SQLITE_FULL:
			return errs.Wrap(errs.InsufficientStorage, err, "The catalog database's disk is full")
		case sqlite3.SQLITE_TOOBIG:
			return errs.Wrap(errs.BadRequest, err, "A value is too large for the catalog database")
		case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY:
			return errs.Wrap(errs.ServiceUnavailable, err, "The catalog database is unavailable")
		}
	}
	return errs.Wrap(errs.Internal, err, "database error")
}

// Driver returns the driver the store runs on (for the driver suite).
func (s *Store) Driver() *Driver { return s.drv }

// Package sqlite is the embedded SQLite backend of store.Store, on the
// pure-Go driver modernc.org/sqlite and the sqlc queries in gen/sqlitedb.
//
// SQLite allows one writer at a time. Rather than letting concurrent writers
// collide and fail with SQLITE_BUSY, all writes go through a single
// connection and start with BEGIN IMMEDIATE, so they queue in Go; reads use
// a separate pool and, thanks to WAL, never wait for the writer.
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
	"github.com/bingsan/bingsan/store/internal/backend"
	"github.com/bingsan/bingsan/store/migrate"
)

// Options tune the backend; zero values take the defaults.
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
	if o.MaxRetries == 0 {
		o.MaxRetries = 5
	} else if o.MaxRetries < 0 {
		o.MaxRetries = 0
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = 10 * time.Millisecond
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = time.Second
	}
	if o.ReadConns <= 0 {
		o.ReadConns = max(4, runtime.GOMAXPROCS(0))
	}
	return o
}

// Store implements store.Store on an SQLite file.
type Store struct {
	writer *sql.DB // exactly one connection; every transaction BEGIN IMMEDIATE
	reader *sql.DB // query_only connections
	q      *sqlitedb.Queries
	retry  backend.Retry
	// wakeups signals this process's readers of events after commits
	// that wrote some.
	wakeups *backend.Wakeups
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
	s := &Store{
		writer: writer,
		reader: reader,
		q:      sqlitedb.New(),
		retry: backend.Retry{MaxRetries: opts.MaxRetries, BaseDelay: opts.BaseDelay, MaxDelay: opts.MaxDelay,
			OnBusy: func(error) { opts.Metrics.LockWait(metrics.Busy) }},

		wakeups: backend.NewWakeups(),
	}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Migrate moves the schema one way (Up: all pending; Down: the latest one).
func (s *Store) Migrate(ctx context.Context, dir migrate.Direction) error {
	return migrate.Run(ctx, s.writer, migrate.SQLite, dir)
}

// MigrationStatus lists the migrations and which are applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]migrate.Status, error) {
	return migrate.List(ctx, s.writer, migrate.SQLite)
}

func (s *Store) Ping(ctx context.Context) error { return interpret(s.reader.PingContext(ctx)) }

func (s *Store) Close() error {
	err := s.writer.Close()
	if s.reader != s.writer {
		err = errors.Join(err, s.reader.Close())
	}
	return err
}

// write runs fn in a write transaction, retrying it while the database is
// busy (another process holding the write lock past busy_timeout).
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.retry.Do(ctx, func() error { return s.writeOnce(ctx, fn) })
}

func (s *Store) writeOnce(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return interpret(err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil {
		return interpret(err)
	}
	if err := tx.Commit(); err != nil {
		// An error from SQLite itself means the commit did not happen;
		// anything else (context ended mid-commit) leaves it open.
		var se *sqlite.Error
		if errors.As(err, &se) {
			return interpret(err)
		}
		return fmt.Errorf("%w: %w", backend.ErrOutcomeUnknown, interpret(err))
	}
	return nil
}

// interpret is the one place that reads modernc.org/sqlite errors. It maps
// them onto the driver-neutral classes in backend or onto errs kinds;
// errors it has already seen, and domain errors, pass through unchanged.
func interpret(err error) error {
	if err == nil {
		return nil
	}
	var domain *errs.Error
	switch {
	case errors.As(err, &domain),
		errors.Is(err, backend.ErrNoRows), errors.Is(err, backend.ErrUnique), errors.Is(err, backend.ErrUUIDTaken),
		errors.Is(err, backend.ErrForeignKey), errors.Is(err, backend.ErrBusy),
		errors.Is(err, backend.ErrOutcomeUnknown):
		return err
	case errors.Is(err, sql.ErrNoRows):
		return backend.ErrNoRows
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
				return fmt.Errorf("%w: %w", backend.ErrUUIDTaken, err)
			}
			return fmt.Errorf("%w: %w", backend.ErrUnique, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: %w", backend.ErrForeignKey, err)
		}
		switch se.Code() & 0xff { // primary result code
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("%w: %w", backend.ErrBusy, err)
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

func isNoRows(err error) bool { return errors.Is(interpret(err), backend.ErrNoRows) }

// Package postgres is the PostgreSQL driver of the store (store/driver),
// on a pgx/v5 pool and the sqlc queries in gen/pgdb; Open builds the store
// core (store/core) over it.
//
// Writes run in READ COMMITTED transactions with a bounded lock_timeout (a
// setting of every pool connection); Lock* queries take row locks (SELECT
// ... FOR UPDATE). Besides the queries, the driver offers the core its
// PostgreSQL-only capabilities: coalesced batched entity reads
// (GetEntities), the one-statement compare-and-swap of one entity with its
// event (CommitEntity), event numbering after commit (SequenceEvents),
// LISTEN/NOTIFY wake-ups across nodes (AnnounceEvents, ListenEvents) and a
// session lock so that one node at a time prunes events (TryLockPrune).
// Stored metadata is lz4-compressed by the column's TOAST setting
// (migration 00004), which needs no code.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/gen/pgdb"
	"github.com/bingsan/bingsan/metrics"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/core"
	"github.com/bingsan/bingsan/store/driver"
	"github.com/bingsan/bingsan/store/migrate"
)

// Options tune the store; zero values take the defaults.
type Options struct {
	// LockTimeout bounds each wait for a lock (the lock_timeout of every
	// pool connection). Default 5s.
	LockTimeout time.Duration
	// MaxRetries is how often a write that timed out on a lock or hit a
	// serialization failure or deadlock is retried. Default 5; negative
	// disables retries.
	MaxRetries int
	// BaseDelay and MaxDelay bound the exponential backoff (full jitter)
	// between retries. Defaults 10ms and 1s.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// MaxConns caps the pool; 0 keeps pgxpool's default.
	MaxConns int32
	// ConnectTimeout bounds opening one connection (dial, TLS, start-up
	// exchange), unless the DSN sets connect_timeout. Default 5s: without
	// one, a server that accepts the connection and never answers holds
	// start-up for minutes.
	ConnectTimeout time.Duration
	// Metrics gets the pool statistics and the lock waits; nil: none.
	Metrics *metrics.Metrics
}

func (o Options) withDefaults() Options {
	if o.LockTimeout <= 0 {
		o.LockTimeout = 5 * time.Second
	}
	// The retry settings are the core's (core.Options).
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 5 * time.Second
	}
	return o
}

// Store is the store on PostgreSQL: the store core (package core) over
// this package's Driver.
type Store struct {
	*core.Store
	drv *Driver
}

// lockTimeoutParam is the session setting that bounds lock waits; it is
// sent with the start-up of every pool connection, so no statement has to
// set it.
const lockTimeoutParam = "lock_timeout"

var _ store.Store = (*Store)(nil)

// Open connects to the database at dsn and checks that it answers. It does
// not migrate; call Migrate.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "invalid PostgreSQL connection string")
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if cfg.ConnConfig.ConnectTimeout == 0 { // connect_timeout in the DSN wins
		cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
	}
	cfg.ConnConfig.RuntimeParams[lockTimeoutParam] = fmt.Sprintf("%dms", max(1, opts.LockTimeout.Milliseconds()))
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, interpret(err)
	}
	q := pgdb.New()
	drv := &Driver{pool: pool, q: q, announce: startAnnouncer(pool, q)}
	s := &Store{
		Store: core.New(drv, core.Options{
			MaxRetries: opts.MaxRetries, BaseDelay: opts.BaseDelay, MaxDelay: opts.MaxDelay,
			OnBusy:    func(err error) { opts.Metrics.LockWait(busyReason(err)) },
			ReadBatch: opts.Metrics.ReadBatch,
		}),
		drv: drv,
	}
	pingCtx, cancel := context.WithTimeout(ctx, cfg.ConnConfig.ConnectTimeout+time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		_ = drv.Close()
		where := fmt.Sprintf("PostgreSQL at %s:%d", cfg.ConnConfig.Host, cfg.ConnConfig.Port)
		if pingCtx.Err() != nil || pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded) {
			return nil, errs.Wrap(errs.ServiceUnavailable, err, "%s did not answer within %s (store.postgres.connect-timeout)", where, cfg.ConnConfig.ConnectTimeout)
		}
		return nil, errs.Wrap(errs.ServiceUnavailable, err, "%s: %s", where, interpret(err).Error())
	}
	opts.Metrics.DBPool(s.poolStats)
	return s, nil
}

// poolStats is the pool's state for the metrics.
func (s *Store) poolStats() metrics.DBPoolStats {
	st := s.drv.pool.Stat()
	return metrics.DBPoolStats{
		Max: st.MaxConns(), Idle: st.IdleConns(), Acquired: st.AcquiredConns(), Constructing: st.ConstructingConns(),
		Acquires: st.AcquireCount(), EmptyAcquires: st.EmptyAcquireCount(), CanceledAcquires: st.CanceledAcquireCount(),
		AcquireWait: st.AcquireDuration(), NewConns: st.NewConnsCount(),
	}
}

// busyReason names the lock wait behind an ErrBusy.
func busyReason(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "40001":
			return metrics.SerializationFailure
		case "40P01":
			return metrics.Deadlock
		}
	}
	return metrics.LockTimeout
}

// sessionConfig is the connection configuration for sessions outside the
// pool (migrations): without the pool's lock_timeout, so that a migration
// waits for the locks it needs as long as it takes.
func (s *Store) sessionConfig() pgx.ConnConfig {
	cfg := *s.drv.pool.Config().ConnConfig.Copy()
	delete(cfg.RuntimeParams, lockTimeoutParam)
	return cfg
}

// Migrate moves the schema one way (Up: all pending; Down: the latest one).
// Nodes starting together are serialized by an advisory lock.
func (s *Store) Migrate(ctx context.Context, dir migrate.Direction) error {
	// goose needs database/sql. A separate handle on the same configuration
	// keeps its session lock connection out of the pool's accounting.
	db := stdlib.OpenDB(s.sessionConfig())
	defer db.Close()
	return migrate.Run(ctx, db, migrate.Postgres, dir)
}

// MigrationStatus lists the migrations and which are applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]migrate.Status, error) {
	db := stdlib.OpenDB(s.sessionConfig())
	defer db.Close()
	return migrate.List(ctx, db, migrate.Postgres)
}

// interpret is the one place that reads pgx errors. It maps them onto the
// driver-neutral classes of package driver or onto errs kinds; errors it has
// already seen, and domain errors, pass through unchanged.
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
	case errors.Is(err, pgx.ErrNoRows):
		return driver.ErrNoRows
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, context.DeadlineExceeded):
		return errs.Wrap(errs.ServiceUnavailable, err, "The catalog database did not answer in time")
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch code := pgErr.Code; {
		case code == "23505" && pgErr.ConstraintName == "entities_uuid_key":
			return fmt.Errorf("%w: %w", driver.ErrUUIDTaken, err)
		case code == "23505": // unique_violation
			return fmt.Errorf("%w: %w", driver.ErrUnique, err)
		case code == "23503": // foreign_key_violation
			return fmt.Errorf("%w: %w", driver.ErrForeignKey, err)
		case code == "55P03", // lock_not_available (lock_timeout)
			code == "40001", // serialization_failure
			code == "40P01": // deadlock_detected
			return fmt.Errorf("%w: %w", driver.ErrBusy, err)
		case strings.HasPrefix(code, "22"), // data exception: bytes or values PostgreSQL refuses
			code == "54000": // program_limit_exceeded: e.g. an index row too large
			// Identifiers are validated before they get here; anything
			// else a client's input can still trigger is its fault.
			return errs.Wrap(errs.BadRequest, err, "The catalog database refused a value of the request: %s", pgErr.Message)
		case code == "53100": // disk_full
			return errs.Wrap(errs.InsufficientStorage, err, "The catalog database's disk is full")
		case strings.HasPrefix(code, "08"), // connection exception
			code == "53300",                                   // too_many_connections
			code == "57P01", code == "57P02", code == "57P03": // shutdown, crash, starting up
			return errs.Wrap(errs.ServiceUnavailable, err, "The catalog database is unavailable")
		}
		return errs.Wrap(errs.Internal, err, "database error")
	}
	var (
		connErr *pgconn.ConnectError
		netErr  net.Error
	)
	if errors.As(err, &connErr) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || pgconn.Timeout(err) {
		return errs.Wrap(errs.ServiceUnavailable, err, "The catalog database is unavailable")
	}
	return errs.Wrap(errs.Internal, err, "database error")
}

// Driver returns the driver the store runs on (for the driver suite).
func (s *Store) Driver() *Driver { return s.drv }

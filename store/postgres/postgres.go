// Package postgres is the PostgreSQL backend of store.Store, on a pgx/v5
// pool and the sqlc queries in gen/pgdb.
//
// Writes run in READ COMMITTED transactions with a bounded lock_timeout (a
// setting of every pool connection). Commits lock the rows they change
// (SELECT ... FOR UPDATE, in a fixed order) and compare versions under the
// lock; a transaction that loses a lock race is retried with backoff inside
// the store. The commit of one existing entity, the common case, is a single
// statement that does all of that in one round trip (CommitEntity).
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
	"github.com/bingsan/bingsan/store/internal/backend"
	"github.com/bingsan/bingsan/store/internal/coalesce"
	"github.com/bingsan/bingsan/store/migrate"
)

// Options tune the backend; zero values take the defaults.
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
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 5 * time.Second
	}
	return o
}

// Store implements store.Store on PostgreSQL.
type Store struct {
	pool  *pgxpool.Pool
	q     *pgdb.Queries
	retry backend.Retry
	// entities coalesces concurrent GetEntity calls (loads, and the read
	// before each commit) into one query per batch.
	entities *coalesce.Reader[entityKey, pgdb.Entity]
}

// readBatchTimeout bounds one coalesced read: far above any healthy point
// read, it only frees the reads queued behind a query on a dead connection.
const readBatchTimeout = 30 * time.Second

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
	s := &Store{
		pool: pool,
		q:    pgdb.New(),
		retry: backend.Retry{MaxRetries: opts.MaxRetries, BaseDelay: opts.BaseDelay, MaxDelay: opts.MaxDelay,
			OnBusy: func(err error) { opts.Metrics.LockWait(busyReason(err)) }},
	}
	s.entities = coalesce.New(s.fetchEntities, coalesce.Options{Timeout: readBatchTimeout, Observe: opts.Metrics.ReadBatch})
	pingCtx, cancel := context.WithTimeout(ctx, cfg.ConnConfig.ConnectTimeout+time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
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
	st := s.pool.Stat()
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
	cfg := *s.pool.Config().ConnConfig.Copy()
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

func (s *Store) Ping(ctx context.Context) error { return interpret(s.pool.Ping(ctx)) }

func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// write runs fn in a transaction, retrying the whole transaction when it
// lost a lock race.
func (s *Store) write(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return s.retry.Do(ctx, func() error { return s.writeOnce(ctx, fn) })
}

func (s *Store) writeOnce(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return interpret(err)
	}
	// After a successful Commit this is a no-op.
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := fn(tx); err != nil {
		return interpret(err)
	}
	if err := tx.Commit(ctx); err != nil {
		// An answer from the server means it rolled back; anything else
		// (connection lost, context ended) leaves the outcome open.
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			return interpret(err)
		}
		return fmt.Errorf("%w: %w", backend.ErrOutcomeUnknown, interpret(err))
	}
	return nil
}

// interpret is the one place that reads pgx errors. It maps them onto the
// driver-neutral classes in backend or onto errs kinds; errors it has
// already seen, and domain errors, pass through unchanged.
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
	case errors.Is(err, pgx.ErrNoRows):
		return backend.ErrNoRows
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, context.DeadlineExceeded):
		return errs.Wrap(errs.ServiceUnavailable, err, "The catalog database did not answer in time")
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch code := pgErr.Code; {
		case code == "23505" && pgErr.ConstraintName == "entities_uuid_key":
			return fmt.Errorf("%w: %w", backend.ErrUUIDTaken, err)
		case code == "23505": // unique_violation
			return fmt.Errorf("%w: %w", backend.ErrUnique, err)
		case code == "23503": // foreign_key_violation
			return fmt.Errorf("%w: %w", backend.ErrForeignKey, err)
		case code == "55P03", // lock_not_available (lock_timeout)
			code == "40001", // serialization_failure
			code == "40P01": // deadlock_detected
			return fmt.Errorf("%w: %w", backend.ErrBusy, err)
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

func isNoRows(err error) bool { return errors.Is(interpret(err), backend.ErrNoRows) }

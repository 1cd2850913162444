package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bingsan/bingsan/gen/pgdb"
	"github.com/bingsan/bingsan/store/driver"
)

// Driver is the PostgreSQL driver.Driver, on a pgx/v5 pool.
type Driver struct {
	pool *pgxpool.Pool
	q    *pgdb.Queries
}

var _ driver.Driver = (*Driver)(nil)

func (d *Driver) exec(db pgdb.DBTX) executor { return executor{db: db, q: d.q} }

func (d *Driver) Reader() driver.Executor { return d.exec(d.pool) }

func (d *Driver) Writer() driver.Executor { return d.exec(d.pool) }

// Begin starts a READ COMMITTED transaction; rows are locked with SELECT
// ... FOR UPDATE and waits bounded by the connection's lock_timeout.
func (d *Driver) Begin(ctx context.Context) (driver.Tx, error) {
	t, err := d.pool.Begin(ctx)
	if err != nil {
		return nil, interpret(err)
	}
	return &tx{executor: d.exec(t), tx: t}, nil
}

// BeginRead starts a REPEATABLE READ, READ ONLY transaction: one snapshot.
func (d *Driver) BeginRead(ctx context.Context) (driver.Tx, error) {
	t, err := d.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, interpret(err)
	}
	return &tx{executor: d.exec(t), tx: t}, nil
}

func (d *Driver) Ping(ctx context.Context) error { return interpret(d.pool.Ping(ctx)) }

func (d *Driver) Close() error {
	d.pool.Close()
	return nil
}

type tx struct {
	executor
	tx pgx.Tx
}

func (t *tx) Commit(ctx context.Context) error {
	if err := t.tx.Commit(ctx); err != nil {
		// An answer from the server means it rolled back; anything else
		// (connection lost, context ended) leaves the outcome open.
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			return interpret(err)
		}
		return fmt.Errorf("%w: %w", driver.ErrOutcomeUnknown, interpret(err))
	}
	return nil
}

func (t *tx) Rollback(ctx context.Context) error {
	if err := t.tx.Rollback(ctx); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
		return interpret(err)
	}
	return nil
}

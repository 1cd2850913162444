package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bingsan/bingsan/gen/pgdb"
	"github.com/bingsan/bingsan/store/driver"
)

// Driver is the PostgreSQL driver.Driver, on a pgx/v5 pool.
type Driver struct {
	pool     *pgxpool.Pool
	q        *pgdb.Queries
	announce *announcer
}

var _ driver.Driver = (*Driver)(nil)

func (d *Driver) exec(db pgdb.DBTX) executor { return executor{db: db, q: d.q} }

func (d *Driver) Reader() driver.Executor { return d.exec(d.pool) }

func (d *Driver) Writer() driver.Executor { return d.exec(d.pool) }

// Begin starts a READ COMMITTED transaction; rows are locked with SELECT
// ... FOR UPDATE and waits bounded by the connection's lock_timeout. Its
// statements are pipelined (pipelineTx).
func (d *Driver) Begin(ctx context.Context) (driver.Tx, error) {
	return d.begin(ctx, "begin")
}

// BeginRead starts a REPEATABLE READ, READ ONLY transaction: one snapshot.
func (d *Driver) BeginRead(ctx context.Context) (driver.Tx, error) {
	return d.begin(ctx, "begin isolation level repeatable read read only")
}

func (d *Driver) begin(ctx context.Context, begin string) (driver.Tx, error) {
	p, err := beginPipeline(ctx, d.pool, begin)
	if err != nil {
		return nil, err
	}
	return &tx{executor: d.exec(p), tx: p}, nil
}

func (d *Driver) Ping(ctx context.Context) error { return interpret(d.pool.Ping(ctx)) }

func (d *Driver) Close() error {
	d.announce.close()
	d.pool.Close()
	return nil
}

type tx struct {
	executor
	tx *pipelineTx
}

func (t *tx) Commit(ctx context.Context) error { return t.tx.Commit(ctx) }

func (t *tx) Rollback(ctx context.Context) error { return t.tx.Rollback(ctx) }

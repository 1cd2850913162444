package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"modernc.org/sqlite"

	"github.com/bingsan/bingsan/gen/sqlitedb"
	"github.com/bingsan/bingsan/store/driver"
)

// Driver is the SQLite driver.Driver: one writer connection whose
// transactions all start with BEGIN IMMEDIATE (so writers queue in Go
// rather than collide), and a pool of query_only readers that, with WAL,
// never wait for the writer.
type Driver struct {
	writer *sql.DB // exactly one connection; every transaction BEGIN IMMEDIATE
	reader *sql.DB // query_only connections
	q      *sqlitedb.Queries
}

var _ driver.Driver = (*Driver)(nil)

func (d *Driver) exec(db sqlitedb.DBTX) executor { return executor{db: db, q: d.q} }

func (d *Driver) Reader() driver.Executor { return d.exec(d.reader) }

func (d *Driver) Writer() driver.Executor { return d.exec(d.writer) }

// Begin starts a write transaction: it holds the database's write lock, so
// every row it reads stays as it is until it ends.
func (d *Driver) Begin(ctx context.Context) (driver.Tx, error) {
	t, err := d.writer.BeginTx(ctx, nil)
	if err != nil {
		return nil, interpret(err)
	}
	return &tx{executor: d.exec(t), tx: t}, nil
}

// BeginRead starts a read transaction on a reader: one WAL snapshot.
func (d *Driver) BeginRead(ctx context.Context) (driver.Tx, error) {
	t, err := d.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, interpret(err)
	}
	return &tx{executor: d.exec(t), tx: t}, nil
}

func (d *Driver) Ping(ctx context.Context) error { return interpret(d.reader.PingContext(ctx)) }

func (d *Driver) Close() error {
	err := d.writer.Close()
	if d.reader != d.writer {
		err = errors.Join(err, d.reader.Close())
	}
	return err
}

type tx struct {
	executor
	tx *sql.Tx
}

func (t *tx) Commit(context.Context) error {
	if err := t.tx.Commit(); err != nil {
		// An error from SQLite itself means the commit did not happen;
		// anything else (context ended mid-commit) leaves it open.
		var se *sqlite.Error
		if errors.As(err, &se) {
			return interpret(err)
		}
		return fmt.Errorf("%w: %w", driver.ErrOutcomeUnknown, interpret(err))
	}
	return nil
}

func (t *tx) Rollback(context.Context) error {
	if err := t.tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return interpret(err)
	}
	return nil
}

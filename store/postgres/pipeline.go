package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bingsan/bingsan/gen/pgdb"
	"github.com/bingsan/bingsan/store/driver"
)

// pipelineTx is a transaction whose statements travel together. BEGIN, and
// every statement the core never inspects the outcome of before its next
// statement (driver.Deferrable), wait in a queue and go to the server in one
// round trip (a pgx batch) with the next statement whose answer is needed,
// or with COMMIT. A create, for example, costs three round trips (BEGIN with
// the insert, the claim locks with the overlap query, the claims, event and
// idempotency mark with COMMIT) instead of nine, and round trips, not
// PostgreSQL's work, were most of what a create cost over its floor.
//
// Order and snapshots are those of sending one statement at a time: the
// server runs a batch's statements in order, and in READ COMMITTED each
// takes its snapshot when it starts, so a query sent after a lock statement
// sees what was committed before the lock was granted.
type pipelineTx struct {
	conn  *pgxpool.Conn
	queue []queued
	// sent: BEGIN has gone to the server, so ending the transaction needs
	// a statement.
	sent bool
	done bool
}

type queued struct {
	sql  string
	args []any
}

var _ pgdb.DBTX = (*pipelineTx)(nil)

func beginPipeline(ctx context.Context, pool *pgxpool.Pool, begin string) (*pipelineTx, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, interpret(err)
	}
	return &pipelineTx{conn: conn, queue: []queued{{sql: begin}}}, nil
}

// queryName is the name sqlc gives a query in the comment that starts its
// text ("-- name: InsertClaims :exec").
func queryName(sql string) string {
	rest, ok := strings.CutPrefix(sql, "-- name: ")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, " ")
	return name
}

func (t *pipelineTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if driver.Deferrable[queryName(sql)] {
		t.queue = append(t.queue, queued{sql: sql, args: args})
		return pgconn.CommandTag{}, nil
	}
	if len(t.queue) == 0 {
		return t.conn.Exec(ctx, sql, args...)
	}
	br, err := t.flush(ctx, sql, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

func (t *pipelineTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if len(t.queue) == 0 {
		return t.conn.Query(ctx, sql, args...)
	}
	br, err := t.flush(ctx, sql, args)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

func (t *pipelineTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if len(t.queue) == 0 {
		return t.conn.QueryRow(ctx, sql, args...)
	}
	br, err := t.flush(ctx, sql, args)
	if err != nil {
		return errRow{err}
	}
	return batchRow{row: br.QueryRow(), br: br}
}

// flush sends the queue and then sql, and reads the answers of the queue:
// the first statement that failed is the error (the server skipped the
// rest of the batch). On success the caller reads sql's answer from the
// batch and closes it.
func (t *pipelineTx) flush(ctx context.Context, sql string, args []any) (pgx.BatchResults, error) {
	b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(t.queue)+1)}
	for _, q := range t.queue {
		b.Queue(q.sql, q.args...)
	}
	n := len(t.queue)
	b.Queue(sql, args...)
	t.queue = t.queue[:0]
	t.sent = true
	br := t.conn.SendBatch(ctx, b)
	for range n {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return nil, err
		}
	}
	return br, nil
}

func (t *pipelineTx) Commit(ctx context.Context) error {
	if t.done {
		return errors.New("transaction already ended")
	}
	if !t.sent && len(t.queue) == 1 {
		// The transaction ran no statement: only BEGIN waits.
		t.end()
		return nil
	}
	br, err := t.flush(ctx, "commit", nil)
	if err != nil {
		return t.failedCommit(ctx, err)
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return t.failedCommit(ctx, err)
	}
	t.end()
	if tag.String() == "ROLLBACK" {
		// The server had already aborted the transaction: a statement
		// failed and the core committed anyway.
		return errors.New("the transaction was rolled back by the database")
	}
	return nil
}

// failedCommit ends a transaction whose commit batch failed. An answer
// from the server means a statement failed and it skipped the rest, the
// COMMIT included: the transaction did not happen (and is rolled back
// here). Anything else (connection lost, context ended) leaves the outcome
// open.
func (t *pipelineTx) failedCommit(ctx context.Context, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		_ = t.Rollback(ctx)
		return interpret(err)
	}
	t.end()
	return fmt.Errorf("%w: %w", driver.ErrOutcomeUnknown, interpret(err))
}

func (t *pipelineTx) Rollback(ctx context.Context) error {
	if t.done {
		return nil
	}
	defer t.end()
	if !t.sent {
		return nil
	}
	t.queue = t.queue[:0]
	if _, err := t.conn.Exec(ctx, "rollback"); err != nil {
		// The connection is not idle any more: releasing it destroys it,
		// and with it the transaction.
		return interpret(err)
	}
	return nil
}

func (t *pipelineTx) end() {
	t.done = true
	t.queue = nil
	t.conn.Release()
}

// batchRows are the rows of a batch's last statement; closing them closes
// the batch.
type batchRows struct {
	pgx.Rows
	br     pgx.BatchResults
	closed bool
	err    error
}

func (r *batchRows) Close() {
	if r.closed {
		return
	}
	r.closed = true
	r.Rows.Close()
	r.err = r.br.Close()
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// batchRow is the row of a batch's last statement; scanning it closes the
// batch.
type batchRow struct {
	row pgx.Row
	br  pgx.BatchResults
}

func (r batchRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

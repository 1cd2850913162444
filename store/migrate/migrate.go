// Package migrate applies the embedded goose migrations (sql/migrations) to a
// catalog database. Both backends call it; the server runs Up at start-up.
package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/bingsan/bingsan/sql/migrations"
)

// Dialect selects the migration set and goose's SQL dialect.
type Dialect int

const (
	Postgres Dialect = iota
	SQLite
)

// Direction is the way Run moves the schema.
type Direction int

const (
	// Up applies every pending migration.
	Up Direction = iota
	// Down rolls back the most recent migration only.
	Down
)

// Status is one migration and whether it is applied.
type Status struct {
	Version   int64
	Source    string
	Applied   bool
	AppliedAt time.Time // zero when pending
}

// Run moves the schema of db in direction dir.
func Run(ctx context.Context, db *sql.DB, d Dialect, dir Direction) error {
	p, err := provider(db, d)
	if err != nil {
		return err
	}
	switch dir {
	case Up:
		_, err = p.Up(ctx)
	case Down:
		_, err = p.Down(ctx)
	default:
		return fmt.Errorf("migrate: unknown direction %d", dir)
	}
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// List reports every known migration with its state, oldest first.
func List(ctx context.Context, db *sql.DB, d Dialect) ([]Status, error) {
	p, err := provider(db, d)
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: status: %w", err)
	}
	out := make([]Status, len(st))
	for i, s := range st {
		out[i] = Status{
			Version:   s.Source.Version,
			Source:    s.Source.Path,
			Applied:   s.State == goose.StateApplied,
			AppliedAt: s.AppliedAt,
		}
	}
	return out, nil
}

func provider(db *sql.DB, d Dialect) (*goose.Provider, error) {
	var (
		dialect goose.Dialect
		fsys    fs.FS
		opts    []goose.ProviderOption
	)
	switch d {
	case Postgres:
		dialect, fsys = goose.DialectPostgres, migrations.Postgres
		// Several nodes starting at once would otherwise race to apply the
		// same migration. The session advisory lock serializes them; the
		// losers then find nothing pending. Probing every second (goose's
		// minimum) for up to five minutes covers a slow migration.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	case SQLite:
		// One process owns an SQLite file; its single writer connection
		// already serializes migrations.
		dialect, fsys = goose.DialectSQLite3, migrations.SQLite
	default:
		return nil, fmt.Errorf("migrate: unknown dialect %d", d)
	}
	// The global registry holds Go migrations registered by init functions;
	// this catalog has none, and must not pick up anyone else's.
	opts = append(opts, goose.WithDisableGlobalRegistry(true))
	p, err := goose.NewProvider(dialect, db, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return p, nil
}

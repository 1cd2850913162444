// Package pgtest gives tests a PostgreSQL database of their own.
//
// The server to use comes from BINGSAN_TEST_POSTGRES_DSN (default: local
// trust-auth postgres on 127.0.0.1:5432, which scripts/ensure-postgres.sh
// provides). When it cannot be reached, tests are skipped, unless CI is set or
// BINGSAN_TEST_REQUIRE_POSTGRES=1, in which case they fail: a CI run must never
// pass by skipping the PostgreSQL backend.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN names the variable holding the admin connection string.
const EnvDSN = "BINGSAN_TEST_POSTGRES_DSN"

// DefaultDSN is used when EnvDSN is unset.
const DefaultDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// AdminDSN is the connection string tests use to create databases.
func AdminDSN() string {
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		return dsn
	}
	return DefaultDSN
}

// Required reports whether an unreachable server fails tests instead of
// skipping them.
func Required() bool {
	return os.Getenv("CI") != "" || os.Getenv("BINGSAN_TEST_REQUIRE_POSTGRES") == "1"
}

// NewDatabase creates a new, empty database for t and drops it when t ends.
// It returns the database's connection string.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin := AdminDSN()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		msg := fmt.Sprintf("PostgreSQL is not reachable at %s (%v); start it with scripts/ensure-postgres.sh or point %s at a server", redact(admin), err, EnvDSN)
		if Required() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	name := "bingsan_test_" + randomSuffix(t)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() { drop(t, admin, name) })

	dsn, err := withDatabase(admin, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// drop removes the database; WITH (FORCE) ends connections a failed test
// may have left open, so one broken test cannot leak databases.
func drop(t testing.TB, admin, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Errorf("pgtest: drop database %s: %v", name, err)
		return
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Errorf("pgtest: drop database %s: %v", name, err)
	}
}

// withDatabase points a connection string (URL or key=value form) at db.
func withDatabase(dsn, db string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse %s: %w", EnvDSN, err)
		}
		u.Path = "/" + db
		return u.String(), nil
	}
	// In key=value form a later key wins.
	return dsn + " dbname=" + db, nil
}

func randomSuffix(t testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return hex.EncodeToString(b)
}

func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return "the configured server"
}

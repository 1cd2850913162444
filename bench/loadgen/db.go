package main

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
)

// dbURL is the URL of database db on the server base. TLS is off: on
// loopback it would only add encryption to both Bingsan's and pgbench's
// numbers.
func dbURL(base, db string) string {
	return strings.TrimRight(base, "/") + "/" + db + "?sslmode=disable"
}

func adminExec(ctx context.Context, base, sql string) error {
	conn, err := pgx.Connect(ctx, dbURL(base, "postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

func createDatabase(ctx context.Context, base, db string) error {
	return adminExec(ctx, base, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize())
}

func dropDatabase(ctx context.Context, base, db string) error {
	return adminExec(ctx, base, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)")
}

// serverVersion is the version of the PostgreSQL server at base.
func serverVersion(ctx context.Context, base string) (string, error) {
	conn, err := pgx.Connect(ctx, dbURL(base, "postgres"))
	if err != nil {
		return "", err
	}
	defer conn.Close(context.Background())
	var v string
	err = conn.QueryRow(ctx, "SHOW server_version").Scan(&v)
	return v, err
}

// Package migrations embeds the goose migrations of both backends. The same
// folders are sqlc's schema source, so the generated queries and the schema
// the server creates at start-up cannot drift apart.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Postgres holds the PostgreSQL migrations at its root.
var Postgres = mustSub("postgres")

// SQLite holds the SQLite migrations at its root.
var SQLite = mustSub("sqlite")

func mustSub(dir string) fs.FS {
	sub, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // dir is a literal embedded above
	}
	return sub
}

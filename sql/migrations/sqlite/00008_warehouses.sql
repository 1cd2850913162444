-- +goose Up

-- Warehouses managed at runtime; see the PostgreSQL migration of the same
-- name. SQLite runs one writer at a time, so the revision row needs no
-- lock to serialize mutations.
CREATE TABLE warehouses (
    name        TEXT PRIMARY KEY,
    location    TEXT NOT NULL,
    key         TEXT NOT NULL UNIQUE,
    settings    TEXT NOT NULL,
    secrets     BLOB,
    active      INTEGER NOT NULL DEFAULT 1,
    source      TEXT NOT NULL CHECK (source IN ('api', 'configuration')),
    -- microseconds since the epoch, as elsewhere in this schema
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE warehouse_revision (
    singleton  INTEGER PRIMARY KEY CHECK (singleton = 1),
    revision   INTEGER NOT NULL
);

INSERT INTO warehouse_revision (singleton, revision) VALUES (1, 0);

-- +goose Down

DROP TABLE warehouse_revision;
DROP TABLE warehouses;

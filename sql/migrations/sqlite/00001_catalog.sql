-- +goose Up

-- Timestamps are INTEGER microseconds since the Unix epoch: they compare
-- correctly as numbers and carry the same precision as PostgreSQL.

CREATE TABLE namespaces (
    id          INTEGER PRIMARY KEY,
    warehouse   TEXT NOT NULL,
    -- levels joined with 0x1F; a level may contain dots
    name        TEXT NOT NULL,
    -- joined name of the parent, '' for a top-level namespace
    parent      TEXT NOT NULL,
    -- JSON object of string properties
    properties  TEXT NOT NULL DEFAULT '{}',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (warehouse, name)
);

CREATE INDEX namespaces_listing_idx ON namespaces (warehouse, parent, name);

-- Tables and views share one name space per namespace: the unique key spans
-- both kinds, so the database (not a check-then-insert) rejects a view named
-- like an existing table.
CREATE TABLE entities (
    id                 INTEGER PRIMARY KEY,
    warehouse          TEXT NOT NULL,
    namespace          TEXT NOT NULL,
    name               TEXT NOT NULL,
    kind               TEXT NOT NULL CHECK (kind IN ('table', 'view')),
    metadata_location  TEXT NOT NULL,
    -- the metadata file's bytes exactly as written; never reinterpreted
    metadata           BLOB NOT NULL,
    version            INTEGER NOT NULL DEFAULT 1,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    UNIQUE (warehouse, namespace, name),
    FOREIGN KEY (warehouse, namespace) REFERENCES namespaces (warehouse, name) ON DELETE RESTRICT
);

CREATE INDEX entities_listing_idx ON entities (warehouse, namespace, kind, name);

CREATE TABLE idempotency_keys (
    key           TEXT PRIMARY KEY,
    operation     TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        INTEGER NOT NULL DEFAULT 0,
    body          BLOB,
    done          BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);

CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);

-- AUTOINCREMENT so that the id of a completed job is never handed to a new
-- one: a node whose lease ran out must not complete someone else's job.
CREATE TABLE purge_jobs (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    location           TEXT NOT NULL,
    metadata_location  TEXT NOT NULL,
    metadata           BLOB NOT NULL,
    attempts           INTEGER NOT NULL DEFAULT 0,
    due_at             INTEGER NOT NULL,
    leased_until       INTEGER,
    last_error         TEXT NOT NULL DEFAULT '',
    created_at         INTEGER NOT NULL
);

CREATE INDEX purge_jobs_due_at_idx ON purge_jobs (due_at);

-- +goose Down

DROP TABLE purge_jobs;
DROP TABLE idempotency_keys;
DROP TABLE entities;
DROP TABLE namespaces;

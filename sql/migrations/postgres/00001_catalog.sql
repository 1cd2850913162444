-- +goose Up

-- Keys are compared with COLLATE "C" so that ordering (and therefore keyset
-- pagination) is bytewise and identical to SQLite, whatever the database's
-- default collation is.

CREATE TABLE namespaces (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    warehouse   TEXT COLLATE "C" NOT NULL,
    -- levels joined with 0x1F; a level may contain dots
    name        TEXT COLLATE "C" NOT NULL,
    -- joined name of the parent, '' for a top-level namespace
    parent      TEXT COLLATE "C" NOT NULL,
    properties  JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT namespaces_warehouse_name_key UNIQUE (warehouse, name)
);

CREATE INDEX namespaces_listing_idx ON namespaces (warehouse, parent, name);

-- Tables and views share one name space per namespace: the unique key spans
-- both kinds, so the database (not a check-then-insert) rejects a view named
-- like an existing table.
CREATE TABLE entities (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    warehouse          TEXT COLLATE "C" NOT NULL,
    namespace          TEXT COLLATE "C" NOT NULL,
    name               TEXT COLLATE "C" NOT NULL,
    kind               TEXT NOT NULL CHECK (kind IN ('table', 'view')),
    metadata_location  TEXT NOT NULL,
    -- the metadata file's bytes exactly as written; never reinterpreted
    metadata           BYTEA NOT NULL,
    version            BIGINT NOT NULL DEFAULT 1,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT entities_warehouse_namespace_name_key UNIQUE (warehouse, namespace, name),
    -- An entity cannot outlive or precede its namespace; the key check also
    -- locks the namespace row, so a concurrent drop cannot slip in between.
    CONSTRAINT entities_namespace_fkey FOREIGN KEY (warehouse, namespace)
        REFERENCES namespaces (warehouse, name) ON DELETE RESTRICT
);

CREATE INDEX entities_listing_idx ON entities (warehouse, namespace, kind, name);

CREATE TABLE idempotency_keys (
    key           TEXT PRIMARY KEY,
    operation     TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        INTEGER NOT NULL DEFAULT 0,
    body          BYTEA,
    done          BOOLEAN NOT NULL DEFAULT false,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at    TIMESTAMPTZ NOT NULL
);

CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);

CREATE TABLE purge_jobs (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    location           TEXT NOT NULL,
    metadata_location  TEXT NOT NULL,
    metadata           BYTEA NOT NULL,
    attempts           INTEGER NOT NULL DEFAULT 0,
    due_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    leased_until       TIMESTAMPTZ,
    last_error         TEXT NOT NULL DEFAULT '',
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX purge_jobs_due_at_idx ON purge_jobs (due_at);

-- +goose Down

DROP TABLE purge_jobs;
DROP TABLE idempotency_keys;
DROP TABLE entities;
DROP TABLE namespaces;

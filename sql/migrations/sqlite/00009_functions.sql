-- +goose Up

-- Functions (SQL UDFs) are a third kind of entity; see the PostgreSQL
-- migration of the same name. SQLite cannot alter a CHECK constraint, so
-- both tables are rebuilt: created anew with the wider check, filled from
-- the old one (ids kept, so claims still name their owners), the old one
-- dropped and the new one renamed, then the indexes made again. Nothing
-- references either table by foreign key, and entities' own reference to
-- namespaces is declared again as it was.
CREATE TABLE entities_new (
    id                 INTEGER PRIMARY KEY,
    warehouse          TEXT NOT NULL,
    namespace          TEXT NOT NULL,
    name               TEXT NOT NULL,
    kind               TEXT NOT NULL CHECK (kind IN ('table', 'view', 'function')),
    metadata_location  TEXT NOT NULL,
    -- the metadata file's bytes exactly as written; never reinterpreted
    metadata           BLOB NOT NULL,
    version            INTEGER NOT NULL DEFAULT 1,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    uuid               TEXT,
    UNIQUE (warehouse, namespace, name),
    FOREIGN KEY (warehouse, namespace) REFERENCES namespaces (warehouse, name) ON DELETE RESTRICT
);

INSERT INTO entities_new (id, warehouse, namespace, name, kind, metadata_location, metadata, version, created_at, updated_at, uuid)
SELECT id, warehouse, namespace, name, kind, metadata_location, metadata, version, created_at, updated_at, uuid FROM entities;

DROP TABLE entities;
ALTER TABLE entities_new RENAME TO entities;

CREATE INDEX entities_listing_idx ON entities (warehouse, namespace, kind, name);
CREATE UNIQUE INDEX entities_uuid_key ON entities (uuid);

CREATE TABLE location_claims_new (
    key         TEXT NOT NULL,
    owner_kind  TEXT NOT NULL CHECK (owner_kind IN ('namespace', 'table', 'view', 'function', 'purge')),
    owner_id    INTEGER NOT NULL
);

INSERT INTO location_claims_new (key, owner_kind, owner_id)
SELECT key, owner_kind, owner_id FROM location_claims;

DROP TABLE location_claims;
ALTER TABLE location_claims_new RENAME TO location_claims;

CREATE INDEX location_claims_key_idx ON location_claims (key);
CREATE INDEX location_claims_owner_idx ON location_claims (owner_kind, owner_id);

-- +goose Down

-- Fails while functions exist (their rows violate the narrower checks):
-- drop them first rather than have a migration delete catalog objects.
CREATE TABLE entities_old (
    id                 INTEGER PRIMARY KEY,
    warehouse          TEXT NOT NULL,
    namespace          TEXT NOT NULL,
    name               TEXT NOT NULL,
    kind               TEXT NOT NULL CHECK (kind IN ('table', 'view')),
    metadata_location  TEXT NOT NULL,
    metadata           BLOB NOT NULL,
    version            INTEGER NOT NULL DEFAULT 1,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    uuid               TEXT,
    UNIQUE (warehouse, namespace, name),
    FOREIGN KEY (warehouse, namespace) REFERENCES namespaces (warehouse, name) ON DELETE RESTRICT
);

INSERT INTO entities_old (id, warehouse, namespace, name, kind, metadata_location, metadata, version, created_at, updated_at, uuid)
SELECT id, warehouse, namespace, name, kind, metadata_location, metadata, version, created_at, updated_at, uuid FROM entities;

DROP TABLE entities;
ALTER TABLE entities_old RENAME TO entities;

CREATE INDEX entities_listing_idx ON entities (warehouse, namespace, kind, name);
CREATE UNIQUE INDEX entities_uuid_key ON entities (uuid);

CREATE TABLE location_claims_old (
    key         TEXT NOT NULL,
    owner_kind  TEXT NOT NULL CHECK (owner_kind IN ('namespace', 'table', 'view', 'purge')),
    owner_id    INTEGER NOT NULL
);

INSERT INTO location_claims_old (key, owner_kind, owner_id)
SELECT key, owner_kind, owner_id FROM location_claims;

DROP TABLE location_claims;
ALTER TABLE location_claims_old RENAME TO location_claims;

CREATE INDEX location_claims_key_idx ON location_claims (key);
CREATE INDEX location_claims_owner_idx ON location_claims (owner_kind, owner_id);

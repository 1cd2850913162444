-- +goose Up

-- Storage locations belong to one namespace, table or view; see the
-- PostgreSQL migration of the same name for the rule. Keys compare
-- bytewise (SQLite's default BINARY collation), as in PostgreSQL.
CREATE TABLE location_claims (
    key         TEXT NOT NULL,
    owner_kind  TEXT NOT NULL CHECK (owner_kind IN ('namespace', 'table', 'view', 'purge')),
    owner_id    INTEGER NOT NULL
);

CREATE INDEX location_claims_key_idx ON location_claims (key);
CREATE INDEX location_claims_owner_idx ON location_claims (owner_kind, owner_id);

ALTER TABLE namespaces ADD COLUMN location TEXT;

ALTER TABLE entities ADD COLUMN uuid TEXT;
CREATE UNIQUE INDEX entities_uuid_key ON entities (uuid);

-- +goose Down

DROP INDEX entities_uuid_key;
ALTER TABLE entities DROP COLUMN uuid;
ALTER TABLE namespaces DROP COLUMN location;
DROP TABLE location_claims;

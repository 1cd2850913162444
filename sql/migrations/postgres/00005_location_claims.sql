-- +goose Up

-- Storage locations belong to one namespace, table or view (issue 13). Each
-- owner claims the canonical keys of its locations ("s3://bucket/a/b/",
-- always one trailing slash; see vend.LocationKey); a new claim is refused
-- when it lies inside, equals or contains another owner's key, except for
-- the namespaces that hold the new owner. One index on the key answers
-- both directions: the ancestors of a key are a short list of exact keys,
-- and its descendants one range of the index.
CREATE TABLE location_claims (
    key         TEXT COLLATE "C" NOT NULL,
    -- 'namespace', 'table', 'view', or 'purge' (the files of a table
    -- dropped with purge, until the purge job ends)
    owner_kind  TEXT NOT NULL CHECK (owner_kind IN ('namespace', 'table', 'view', 'purge')),
    owner_id    BIGINT NOT NULL
);

CREATE INDEX location_claims_key_idx ON location_claims (key);
CREATE INDEX location_claims_owner_idx ON location_claims (owner_kind, owner_id);

-- A namespace's location, chosen when it is created (its `location`
-- property, or its parent's location and its name); NULL until the
-- start-up backfill sets it for namespaces created before this migration.
ALTER TABLE namespaces ADD COLUMN location TEXT;

-- The table-uuid or view-uuid of the current metadata; unique, so that a
-- register cannot make a second entry for a live table. NULL for entities
-- created before this migration until the start-up backfill sets it.
ALTER TABLE entities ADD COLUMN uuid TEXT;
CREATE UNIQUE INDEX entities_uuid_key ON entities (uuid);

-- +goose Down

DROP INDEX entities_uuid_key;
ALTER TABLE entities DROP COLUMN uuid;
ALTER TABLE namespaces DROP COLUMN location;
DROP TABLE location_claims;

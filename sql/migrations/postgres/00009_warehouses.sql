-- +goose Up

-- Warehouses managed at runtime (the management API) and those the
-- configuration file names, bootstrapped at start-up. Every node serves
-- what this table holds; warehouse_revision grows with every change, so a
-- node learns that it must reload from one single-row read (after the
-- events wake-up, or on its polling fallback).
CREATE TABLE warehouses (
    name        TEXT COLLATE "C" PRIMARY KEY,
    location    TEXT NOT NULL,
    -- the claim key of location (vend.LocationKey): no two warehouses'
    -- keys may contain each other (checked under warehouse_revision's lock)
    key         TEXT COLLATE "C" NOT NULL UNIQUE,
    -- the settings and storage profile without secrets (JSON, the
    -- registry's format)
    settings    JSONB NOT NULL,
    -- the profile's secrets, sealed with the key-encryption secret; NULL:
    -- none
    secrets     BYTEA,
    active      BOOLEAN NOT NULL DEFAULT true,
    -- 'api' or 'configuration' (the file wins for those it names)
    source      TEXT NOT NULL CHECK (source IN ('api', 'configuration')),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Every warehouse mutation increments the one row first: its row lock
-- serializes the mutations, so the overlap check cannot race.
CREATE TABLE warehouse_revision (
    singleton  BOOLEAN PRIMARY KEY DEFAULT true CHECK (singleton),
    revision   BIGINT NOT NULL
);

INSERT INTO warehouse_revision (singleton, revision) VALUES (true, 0);

-- +goose Down

DROP TABLE warehouse_revision;
DROP TABLE warehouses;

-- +goose Up

-- Server-side scan planning (package planning). A plan is bound to one
-- table (warehouse, namespace, table_name) and, with authentication, to the
-- principal that submitted it; it is read only through both. While it is
-- submitted, the node named by owner plans it until lease_until (renewing
-- the lease as it goes); a submitted plan without an owner or with a lapsed
-- lease is claimed by any node, so a plan whose planner died is resumed.
CREATE TABLE scan_plans (
    id                 TEXT PRIMARY KEY,
    warehouse          TEXT COLLATE "C" NOT NULL,
    -- levels joined with 0x1F, as in namespaces.name
    namespace          TEXT COLLATE "C" NOT NULL,
    table_name         TEXT COLLATE "C" NOT NULL,
    principal          TEXT NOT NULL DEFAULT '',
    status             TEXT NOT NULL CHECK (status IN ('submitted', 'completed', 'failed', 'cancelled')),
    -- the request as package planning encodes it
    request            BYTEA NOT NULL,
    -- the table metadata the plan reads
    metadata_location  TEXT NOT NULL,
    owner              TEXT NOT NULL DEFAULT '',
    lease_until        TIMESTAMPTZ,
    attempts           INTEGER NOT NULL DEFAULT 0,
    task_count         BIGINT NOT NULL DEFAULT 0,
    chunk_count        INTEGER NOT NULL DEFAULT 0,
    error_kind         TEXT NOT NULL DEFAULT '',
    error_message      TEXT NOT NULL DEFAULT '',
    created_at         TIMESTAMPTZ NOT NULL,
    expires_at         TIMESTAMPTZ NOT NULL
);

CREATE INDEX scan_plans_expires_at_idx ON scan_plans (expires_at);
CREATE INDEX scan_plans_claimable_idx ON scan_plans (created_at) WHERE status = 'submitted';

-- A plan's result, in chunks of file scan tasks: each one JSON document
-- {"file-scan-tasks": [...], "delete-files": [...]} that a fetchScanTasks
-- answer (or the inline part of a completed plan) carries as it is.
CREATE TABLE scan_plan_tasks (
    plan_id     TEXT NOT NULL REFERENCES scan_plans (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    task_count  INTEGER NOT NULL,
    payload     BYTEA NOT NULL,
    PRIMARY KEY (plan_id, seq)
);

-- +goose Down

DROP TABLE scan_plan_tasks;
DROP TABLE scan_plans;

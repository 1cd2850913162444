-- +goose Up

-- Server-side scan planning (package planning); see the PostgreSQL
-- migration 00007_scan_plans.sql. Times are INTEGER microseconds since the
-- epoch.
CREATE TABLE scan_plans (
    id                 TEXT PRIMARY KEY,
    warehouse          TEXT NOT NULL,
    namespace          TEXT NOT NULL,
    table_name         TEXT NOT NULL,
    principal          TEXT NOT NULL DEFAULT '',
    status             TEXT NOT NULL CHECK (status IN ('submitted', 'completed', 'failed', 'cancelled')),
    request            BLOB NOT NULL,
    metadata_location  TEXT NOT NULL,
    owner              TEXT NOT NULL DEFAULT '',
    lease_until        INTEGER,
    attempts           INTEGER NOT NULL DEFAULT 0,
    task_count         INTEGER NOT NULL DEFAULT 0,
    chunk_count        INTEGER NOT NULL DEFAULT 0,
    error_kind         TEXT NOT NULL DEFAULT '',
    error_message      TEXT NOT NULL DEFAULT '',
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL
);

CREATE INDEX scan_plans_expires_at_idx ON scan_plans (expires_at);
CREATE INDEX scan_plans_claimable_idx ON scan_plans (created_at) WHERE status = 'submitted';

CREATE TABLE scan_plan_tasks (
    plan_id     TEXT NOT NULL REFERENCES scan_plans (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    task_count  INTEGER NOT NULL,
    payload     BLOB NOT NULL,
    PRIMARY KEY (plan_id, seq)
);

-- +goose Down

DROP TABLE scan_plan_tasks;
DROP TABLE scan_plans;

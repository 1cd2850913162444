-- +goose Up

-- The event outbox. Every mutation writes its events in its own transaction
-- (see store.Store), so an acknowledged mutation always has its events and a
-- rolled-back one never does. Ids come from event_counter, updated in the
-- writing transaction: SQLite's single writer hands them out in commit order,
-- and a rollback returns them, so ids are gapless.
CREATE TABLE event_counter (
    singleton  INTEGER PRIMARY KEY CHECK (singleton = 1),
    last_id    INTEGER NOT NULL
);

INSERT INTO event_counter (singleton, last_id) VALUES (1, 0);

CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    type        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    warehouse   TEXT NOT NULL,
    -- levels joined with 0x1F, as in namespaces.name
    namespace   TEXT NOT NULL,
    -- the table or view; '' for namespace events
    name        TEXT NOT NULL,
    -- store.EventDetails as JSON
    details     TEXT NOT NULL
);

CREATE INDEX events_created_at_idx ON events (created_at);

-- +goose Down

DROP TABLE events;
DROP TABLE event_counter;

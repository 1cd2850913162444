-- +goose Up

-- The event outbox. Every mutation writes its events in its own transaction
-- (see store.Store), so an acknowledged mutation always has its events and a
-- rolled-back one never does.
--
-- Writers insert their events without an id, so commits of different
-- tables never wait on each other. Ids are given afterwards by a sequencer:
-- one transaction at a time (a transaction-level advisory lock) numbers the
-- events that are already committed, in insertion order, continuing
-- event_counter. Readers only read numbered events, so ids are gapless and
-- a reader that has seen id N has seen every event up to N, on every node;
-- a rolled-back mutation leaves nothing to number.
CREATE TABLE event_counter (
    singleton  BOOLEAN PRIMARY KEY DEFAULT true CHECK (singleton),
    last_id    BIGINT NOT NULL
);

INSERT INTO event_counter (singleton, last_id) VALUES (true, 0);

CREATE TABLE events (
    -- insertion order; has gaps and is never shown to readers
    seq         BIGSERIAL PRIMARY KEY,
    -- the delivery id, NULL until the sequencer numbers the event
    id          BIGINT UNIQUE,
    type        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    warehouse   TEXT COLLATE "C" NOT NULL,
    -- levels joined with 0x1F, as in namespaces.name
    namespace   TEXT COLLATE "C" NOT NULL,
    -- the table or view; '' for namespace events
    name        TEXT COLLATE "C" NOT NULL,
    -- store.EventDetails
    details     JSONB NOT NULL
);

CREATE INDEX events_created_at_idx ON events (created_at);
CREATE INDEX events_unnumbered_idx ON events (seq) WHERE id IS NULL;

-- Wakes the nodes' LISTEN connections. A notification is delivered only when
-- the transaction commits, so nobody is woken for a rollback; the outbox,
-- not the notification, is what readers read.
-- +goose StatementBegin
CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('bingsan_events', '');
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_notify();

-- +goose Down

DROP TABLE events;
DROP FUNCTION events_notify();
DROP TABLE event_counter;

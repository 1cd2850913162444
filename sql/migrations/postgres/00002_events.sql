-- +goose Up

-- The event outbox. Every mutation writes its events in its own transaction
-- (see store.Store), so an acknowledged mutation always has its events and a
-- rolled-back one never does.
--
-- Ids come from event_counter, one row that a writer updates as the last
-- statement before it commits. The row lock makes writers take ids one after
-- the other in commit order (the next writer gets the lock only once the
-- previous one is committed and visible), and a rolled-back transaction rolls
-- its ids back too: ids are gapless and a reader that has seen id N has seen
-- every event up to N, on every node. The price is that writers of events
-- serialize on that row from their last statement to their commit.
CREATE TABLE event_counter (
    singleton  BOOLEAN PRIMARY KEY DEFAULT true CHECK (singleton),
    last_id    BIGINT NOT NULL
);

INSERT INTO event_counter (singleton, last_id) VALUES (true, 0);

CREATE TABLE events (
    id          BIGINT PRIMARY KEY,
    type        TEXT NOT NULL,
    -- taken under the counter lock, so it grows with the id
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

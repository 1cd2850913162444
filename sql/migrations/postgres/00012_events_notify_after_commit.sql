-- +goose Up

-- The nodes are now told about new events after the writing transaction has
-- committed, by a NOTIFY of their own (store/postgres: the announcer), not
-- by a trigger inside it. A NOTIFY in a transaction takes a database-wide
-- lock at commit and keeps it until the commit record is flushed, so every
-- mutation committed one at a time, each waiting for its own WAL flush,
-- instead of sharing flushes with the mutations committing beside it. The
-- announcer's NOTIFY commits without waiting for a flush: it carries no
-- data, the outbox does.
DROP TRIGGER events_notify ON events;
DROP FUNCTION events_notify();

-- +goose Down

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

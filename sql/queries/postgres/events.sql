-- Writes events without ids; the sequencer numbers them once committed.
-- name: InsertEvents :execrows
INSERT INTO events (type, warehouse, namespace, name, details)
SELECT t.type, (@warehouses::text[])[t.ord], (@namespaces::text[])[t.ord],
       (@names::text[])[t.ord], ((@details::text[])[t.ord])::jsonb
FROM unnest(@types::text[]) WITH ORDINALITY AS t(type, ord);

-- The sequencer's lock: one numbering transaction at a time, cluster-wide.
-- Readers wait for it rather than skip, so that a reader always sees every
-- event committed before it asked (numbering transactions are short).
-- name: AdvisoryXactLock :exec
SELECT pg_advisory_xact_lock(@key::bigint);

-- Numbers committed, unnumbered events in insertion order, continuing the
-- counter. Run only under the sequencer lock: rows of transactions still in
-- flight are not visible yet and are numbered by a later run.
-- name: NumberEvents :execrows
WITH pending AS (
    SELECT seq, row_number() OVER (ORDER BY seq) AS n
    FROM events WHERE id IS NULL ORDER BY seq LIMIT @lim
), counter AS (
    -- With nothing pending the counter is left alone: a numbering that
    -- writes nothing commits without a WAL flush.
    UPDATE event_counter SET last_id = last_id + (SELECT count(*) FROM pending)
    WHERE EXISTS (SELECT FROM pending)
    RETURNING last_id - (SELECT count(*) FROM pending) AS first_id
)
UPDATE events e SET id = counter.first_id + pending.n
FROM pending, counter
WHERE e.seq = pending.seq;

-- Wakes the nodes' LISTEN connections, in a transaction of its own that
-- commits without waiting for its WAL flush: it carries no data (the
-- outbox does), and a wake-up lost in a crash is made up by the readers'
-- polling.
-- name: NotifyEvents :exec
SELECT pg_notify(@channel::text, ''), set_config('synchronous_commit', 'off', true);

-- name: ListEvents :many
SELECT id::bigint AS id, type, created_at, warehouse, namespace, name, details FROM events
WHERE id > @after::bigint
ORDER BY id
LIMIT @lim;

-- name: LastEventID :one
SELECT last_id FROM event_counter;

-- The newest event written before the cutoff: pruning deletes up to it, so
-- the events kept are always every event after some id.
-- name: EventPruneThrough :one
SELECT COALESCE(max(id), 0)::bigint FROM events WHERE created_at < @before;

-- name: DeleteEventsThrough :execrows
DELETE FROM events
WHERE id IN (SELECT e.id FROM events e WHERE e.id <= @through::bigint ORDER BY e.id LIMIT @lim);

-- Session advisory locks, taken on a dedicated connection, so that one node
-- prunes at a time.
-- name: TryAdvisoryLock :one
SELECT pg_try_advisory_lock(@key::bigint);

-- name: AdvisoryUnlock :one
SELECT pg_advisory_unlock(@key::bigint);

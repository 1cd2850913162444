-- Takes the next ids and writes the events in one statement. The counter row
-- stays locked until the transaction ends, so this must be the last statement
-- of a mutation (see the migration).
-- name: InsertEvents :one
WITH ids AS (
    UPDATE event_counter SET last_id = last_id + cardinality(@types::text[])
    RETURNING last_id - cardinality(@types::text[]) AS first_id
), inserted AS (
    INSERT INTO events (id, type, warehouse, namespace, name, details)
    SELECT ids.first_id + t.ord, t.type, (@warehouses::text[])[t.ord], (@namespaces::text[])[t.ord],
           (@names::text[])[t.ord], ((@details::text[])[t.ord])::jsonb
    FROM ids, unnest(@types::text[]) WITH ORDINALITY AS t(type, ord)
    RETURNING id
)
SELECT count(*) FROM inserted;

-- name: ListEvents :many
SELECT * FROM events
WHERE id > @after
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
WHERE id IN (SELECT e.id FROM events e WHERE e.id <= @through ORDER BY e.id LIMIT @lim);

-- Session advisory locks, taken on a dedicated connection, so that one node
-- prunes at a time.
-- name: TryAdvisoryLock :one
SELECT pg_try_advisory_lock(@key::bigint);

-- name: AdvisoryUnlock :one
SELECT pg_advisory_unlock(@key::bigint);

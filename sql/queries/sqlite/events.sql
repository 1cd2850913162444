-- Reserves n ids; the write transaction keeps them until it commits.
-- name: NextEventIDs :one
UPDATE event_counter SET last_id = last_id + @n RETURNING last_id;

-- name: InsertEvent :exec
INSERT INTO events (id, type, created_at, warehouse, namespace, name, details)
VALUES (@id, @type, @created_at, @warehouse, @namespace, @name, @details);

-- name: ListEvents :many
SELECT * FROM events
WHERE id > @after
ORDER BY id
LIMIT @lim;

-- name: LastEventID :one
SELECT last_id FROM event_counter;

-- name: EventPruneThrough :one
SELECT CAST(COALESCE(max(id), 0) AS INTEGER) FROM events WHERE created_at < @before;

-- name: DeleteEventsThrough :execrows
DELETE FROM events
WHERE id IN (SELECT e.id FROM events e WHERE e.id <= @through ORDER BY e.id LIMIT @lim);

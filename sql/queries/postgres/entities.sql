-- name: InsertEntity :one
INSERT INTO entities (warehouse, namespace, name, kind, metadata_location, metadata, version, uuid)
VALUES (@warehouse, @namespace, @name, @kind, @metadata_location, @metadata, 1, sqlc.narg('uuid'))
RETURNING id;

-- The row of a new entity and the claims of its locations, in one
-- statement: nothing waits for the new id.
-- name: InsertClaimedEntity :exec
WITH e AS (
    INSERT INTO entities (warehouse, namespace, name, kind, metadata_location, metadata, version, uuid)
    VALUES (@warehouse, @namespace, @name, @kind, @metadata_location, @metadata, 1, sqlc.narg('uuid'))
    RETURNING id, kind
)
INSERT INTO location_claims (key, owner_kind, owner_id)
SELECT k.key, e.kind, e.id FROM e, unnest(@keys::text[]) AS k(key);

-- name: GetEntity :one
SELECT * FROM entities
WHERE warehouse = @warehouse AND namespace = @namespace AND name = @name AND kind = @kind;

-- name: GetEntities :many
-- The rows of several (warehouse, namespace, name, kind) keys at once, for
-- coalesced point reads; the keys are parallel arrays.
SELECT * FROM entities
WHERE (warehouse, namespace, name, kind) IN (
    SELECT unnest(@warehouses::text[]) COLLATE "C", unnest(@namespaces::text[]) COLLATE "C",
           unnest(@names::text[]) COLLATE "C", unnest(@kinds::text[])
);

-- name: EntityKind :one
SELECT kind FROM entities
WHERE warehouse = @warehouse AND namespace = @namespace AND name = @name;

-- name: EntityExists :one
SELECT EXISTS (
    SELECT 1 FROM entities
    WHERE warehouse = @warehouse AND namespace = @namespace AND name = @name AND kind = @kind
);

-- name: ListEntities :many
SELECT name FROM entities
WHERE warehouse = @warehouse AND namespace = @namespace AND kind = @kind AND name > @after
ORDER BY name
LIMIT @lim;

-- name: RenameEntity :one
UPDATE entities SET namespace = @to_namespace, name = @to_name, updated_at = now()
WHERE warehouse = @warehouse AND namespace = @namespace AND name = @name AND kind = @kind
RETURNING metadata_location;

-- name: DeleteEntity :one
DELETE FROM entities
WHERE warehouse = @warehouse AND namespace = @namespace AND name = @name AND kind = @kind
RETURNING *;

-- name: LockEntity :one
SELECT id, kind, version, metadata_location FROM entities
WHERE warehouse = @warehouse AND namespace = @namespace AND name = @name
FOR UPDATE;

-- The version condition repeats the check made under the row lock, so a
-- mistake in the caller can never overwrite a newer version.
-- name: UpdateEntityMetadata :execrows
UPDATE entities
SET metadata_location = @metadata_location, metadata = @metadata, version = version + 1, updated_at = now()
WHERE id = @id AND version = @base_version;

-- The whole commit of one existing entity in one statement (and so, run
-- outside a transaction block, in one round trip): lock the row, swap the
-- metadata if the version (and the metadata location, when one is given)
-- is still the base, and only then write
-- the (unnumbered) event, with the replaced location added to its details.
-- A row changed meanwhile is re-read under the lock (READ COMMITTED), so a
-- stale base never overwrites a newer version.
-- current_kind and current_version tell a caller whose swap did not happen
-- why: no such entity (an empty kind), another kind, or another version.
-- name: CommitEntity :one
WITH cur AS (
    SELECT c.id, c.kind, c.version, c.metadata_location FROM entities c
    WHERE c.warehouse = @warehouse AND c.namespace = @namespace AND c.name = @name
    FOR UPDATE
), upd AS (
    UPDATE entities e
    SET metadata_location = @metadata_location::text, metadata = @metadata::bytea, version = e.version + 1, updated_at = now()
    FROM cur
    WHERE e.id = cur.id AND cur.kind = @kind::text AND e.version = @base_version::bigint
      AND (@base_location::text = '' OR cur.metadata_location = @base_location::text)
    RETURNING cur.metadata_location AS previous
), ev AS (
    INSERT INTO events (type, warehouse, namespace, name, details)
    SELECT @event_type::text, @warehouse::text, @namespace::text, @name::text,
           jsonb_set(@details::jsonb, '{previous-metadata-location}', to_jsonb(upd.previous))
    FROM upd
    RETURNING seq
), idem AS (
    UPDATE idempotency_keys
    SET committed = true, outcome = @idempotency_outcome::bytea, expires_at = @idempotency_expires_at::timestamptz
    WHERE key = ANY(@idempotency_keys::text[]) AND NOT done AND EXISTS (SELECT 1 FROM upd)
)
SELECT EXISTS (SELECT 1 FROM upd) AS committed,
       COALESCE((SELECT kind FROM cur), '')::text AS current_kind,
       COALESCE((SELECT version FROM cur), 0)::bigint AS current_version;

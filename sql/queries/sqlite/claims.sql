-- Location claims (see store/core/claims.go). SQLite runs one
-- writer at a time, so claims need no locks.

-- name: OverlappingClaims :many
SELECT c.key, c.owner_kind, c.owner_id,
       CAST(COALESCE(n.warehouse, '') AS TEXT) AS ns_warehouse, CAST(COALESCE(n.name, '') AS TEXT) AS ns_name
FROM location_claims c
LEFT JOIN namespaces n ON c.owner_kind = 'namespace' AND n.id = c.owner_id
-- The slice comes last: sqlc numbers the parameters before it.
WHERE (c.key >= @key AND c.key < @key_end) OR c.key IN (sqlc.slice('ancestors'));

-- name: InsertClaim :exec
INSERT INTO location_claims (key, owner_kind, owner_id) VALUES (@key, @owner_kind, @owner_id);

-- name: DeleteClaims :exec
DELETE FROM location_claims WHERE owner_kind = @owner_kind AND owner_id = @owner_id;

-- name: MoveClaims :exec
UPDATE location_claims SET owner_kind = @to_kind, owner_id = @to_id
WHERE owner_kind = @owner_kind AND owner_id = @owner_id;

-- name: OwnedClaims :many
SELECT key FROM location_claims WHERE owner_kind = @owner_kind AND owner_id = @owner_id ORDER BY key;

-- name: SharedClaims :many
SELECT DISTINCT c.key FROM location_claims c
JOIN entities e ON e.id = c.owner_id AND e.kind = c.owner_kind
WHERE e.created_at < @before
  AND ((c.key >= @key AND c.key < @key_end) OR c.key IN (sqlc.slice('ancestors')));

-- name: NamespacesWithoutLocation :many
SELECT n.id, n.warehouse, n.name, n.properties,
       CAST(COALESCE((SELECT p.location FROM namespaces p WHERE p.warehouse = n.warehouse AND p.name = n.parent), '') AS TEXT) AS parent_location
FROM namespaces n
WHERE n.location IS NULL
ORDER BY length(n.name) - length(replace(n.name, char(31), '')), n.id
LIMIT @lim;

-- name: SetNamespaceLocation :exec
UPDATE namespaces SET location = @location WHERE id = @id;

-- name: EntitiesWithoutClaims :many
SELECT e.id, e.warehouse, e.namespace, e.name, e.kind, e.metadata FROM entities e
WHERE e.id > @after AND NOT EXISTS (
    SELECT 1 FROM location_claims c WHERE c.owner_kind = e.kind AND c.owner_id = e.id
)
ORDER BY e.id
LIMIT @lim;

-- name: SetEntityUUID :exec
UPDATE entities SET uuid = @uuid WHERE id = @id;

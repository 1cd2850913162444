-- Location claims (see store/core/claims.go).

-- The locks are taken in the order given (sorted by the caller), so that
-- concurrent claimers cannot deadlock.
--
-- The statement also turns sequential scans off for the rest of the
-- transaction, whose next statements are the claim queries below. Their
-- plans are cached (prepared statements), and a plan made while
-- location_claims was small (a new catalog) scans the whole table, which
-- the cache keeps using long after the table has grown: every create
-- then read every claim. Planned without sequential scans, the claim
-- queries use location_claims' indexes whatever its size.
-- name: LockClaimKeys :exec
SELECT count(*), set_config('enable_seqscan', 'off', true) FROM (
    SELECT CASE WHEN (@exclusive::boolean[])[i]
                THEN pg_advisory_xact_lock((@hashes::bigint[])[i])
                ELSE pg_advisory_xact_lock_shared((@hashes::bigint[])[i]) END
    FROM generate_subscripts(@hashes::bigint[], 1) AS i
    ORDER BY i
) AS locked;

-- name: OverlappingClaims :many
SELECT c.key, c.owner_kind, c.owner_id,
       COALESCE(n.warehouse, '')::text AS ns_warehouse, COALESCE(n.name, '')::text AS ns_name
FROM location_claims c
-- One primary-key lookup per claim found (a plain join may hash every
-- namespace); the LIMIT keeps the planner from turning it into one.
LEFT JOIN LATERAL (
    SELECT ns.warehouse, ns.name FROM namespaces ns WHERE ns.id = c.owner_id LIMIT 1
) n ON c.owner_kind = 'namespace'
WHERE c.key = ANY(@ancestors::text[]) OR (c.key >= @key::text AND c.key < @key_end::text);

-- name: InsertClaims :exec
INSERT INTO location_claims (key, owner_kind, owner_id)
SELECT unnest(@keys::text[]), @owner_kind::text, @owner_id::bigint;

-- name: DeleteClaims :exec
DELETE FROM location_claims WHERE owner_kind = @owner_kind AND owner_id = @owner_id;

-- name: MoveClaims :exec
UPDATE location_claims SET owner_kind = @to_kind, owner_id = @to_id
WHERE owner_kind = @owner_kind AND owner_id = @owner_id;

-- name: OwnedClaims :many
SELECT key FROM location_claims WHERE owner_kind = @owner_kind AND owner_id = @owner_id ORDER BY key;

-- Live tables and views created before @before whose claims overlap @key
-- (the key, an ancestor or a descendant of it).
-- name: SharedClaims :many
SELECT DISTINCT c.key FROM location_claims c
JOIN entities e ON e.id = c.owner_id AND e.kind = c.owner_kind
WHERE e.created_at < @before
  AND (c.key = ANY(@ancestors::text[]) OR (c.key >= @key::text AND c.key < @key_end::text));

-- Namespaces stored before locations were recorded, parents first, with
-- the location of their parent ('' while that one has none).
-- name: NamespacesWithoutLocation :many
SELECT n.id, n.warehouse, n.name, n.properties,
       COALESCE((SELECT p.location FROM namespaces p WHERE p.warehouse = n.warehouse AND p.name = n.parent), '')::text AS parent_location
FROM namespaces n
WHERE n.location IS NULL
ORDER BY array_length(string_to_array(n.name, chr(31)), 1), n.id
LIMIT @lim;

-- name: SetNamespaceLocation :exec
UPDATE namespaces SET location = @location WHERE id = @id;

-- Entities stored before their claims were recorded.
-- name: EntitiesWithoutClaims :many
SELECT e.id, e.warehouse, e.namespace, e.name, e.kind, e.metadata FROM entities e
WHERE e.id > @after AND NOT EXISTS (
    SELECT 1 FROM location_claims c WHERE c.owner_kind = e.kind AND c.owner_id = e.id
)
ORDER BY e.id
LIMIT @lim;

-- name: SetEntityUUID :exec
UPDATE entities SET uuid = @uuid WHERE id = @id;

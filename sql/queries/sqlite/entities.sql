-- name: InsertEntity :one
INSERT INTO entities (warehouse, namespace, name, kind, metadata_location, metadata, version, created_at, updated_at, uuid)
VALUES (@warehouse, @namespace, @name, @kind, @metadata_location, @metadata, 1, @now, @now, sqlc.narg('uuid'))
RETURNING id;

-- name: GetEntity :one
SELECT * FROM entities
WHERE warehouse = @warehouse AND namespace = @namespace AND name = @name AND kind = @kind;

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
UPDATE entities SET namespace = @to_namespace, name = @to_name, updated_at = @now
WHERE warehouse = @warehouse AND namespace = @namespace AND name = @name AND kind = @kind
RETURNING metadata_location;

-- name: DeleteEntity :one
DELETE FROM entities
WHERE warehouse = @warehouse AND namespace = @namespace AND name = @name AND kind = @kind
RETURNING *;

-- SQLite has no row locks: the write transaction (BEGIN IMMEDIATE on the
-- single writer connection) already excludes every other writer.
-- name: LockEntity :one
SELECT id, kind, version, metadata_location FROM entities
WHERE warehouse = @warehouse AND namespace = @namespace AND name = @name;

-- name: UpdateEntityMetadata :execrows
UPDATE entities
SET metadata_location = @metadata_location, metadata = @metadata, version = version + 1, updated_at = @now
WHERE id = @id AND version = @base_version;

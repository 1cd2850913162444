-- name: InsertEntity :exec
INSERT INTO entities (warehouse, namespace, name, kind, metadata_location, metadata, version)
VALUES (@warehouse, @namespace, @name, @kind, @metadata_location, @metadata, 1);

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

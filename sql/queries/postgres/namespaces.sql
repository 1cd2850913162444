-- name: InsertNamespace :one
INSERT INTO namespaces (warehouse, name, parent, properties, location)
VALUES (@warehouse, @name, @parent, @properties, sqlc.narg('location'))
RETURNING id;

-- name: GetNamespace :one
SELECT * FROM namespaces
WHERE warehouse = @warehouse AND name = @name;

-- name: NamespaceExists :one
SELECT EXISTS (SELECT 1 FROM namespaces WHERE warehouse = @warehouse AND name = @name);

-- KEY SHARE keeps the parent from being dropped while a child is created,
-- without blocking property updates of the parent.
-- name: KeyShareNamespace :one
SELECT id FROM namespaces
WHERE warehouse = @warehouse AND name = @name
FOR KEY SHARE;

-- For property updates: NO KEY UPDATE does not conflict with the KEY SHARE
-- locks that child and entity creation take.
-- name: LockNamespaceProperties :one
SELECT * FROM namespaces
WHERE warehouse = @warehouse AND name = @name
FOR NO KEY UPDATE;

-- For drops: FOR UPDATE waits for, and then blocks, creators of children
-- and entities, so an emptiness check stays true until the delete commits.
-- name: LockNamespace :one
SELECT * FROM namespaces
WHERE warehouse = @warehouse AND name = @name
FOR UPDATE;

-- name: ListNamespaces :many
SELECT * FROM namespaces
WHERE warehouse = @warehouse AND parent = @parent AND name > @after
ORDER BY name
LIMIT @lim;

-- name: UpdateNamespaceProperties :exec
UPDATE namespaces SET properties = @properties, updated_at = now()
WHERE warehouse = @warehouse AND name = @name;

-- name: NamespaceContents :one
SELECT
    EXISTS (SELECT 1 FROM namespaces c WHERE c.warehouse = @warehouse AND c.parent = @name) AS has_children,
    EXISTS (SELECT 1 FROM entities e WHERE e.warehouse = @warehouse AND e.namespace = @name AND e.kind = 'table') AS has_tables,
    EXISTS (SELECT 1 FROM entities e WHERE e.warehouse = @warehouse AND e.namespace = @name AND e.kind = 'view') AS has_views,
    EXISTS (SELECT 1 FROM entities e WHERE e.warehouse = @warehouse AND e.namespace = @name AND e.kind = 'function') AS has_functions;

-- name: DeleteNamespace :execrows
DELETE FROM namespaces WHERE warehouse = @warehouse AND name = @name;

-- name: InsertNamespace :one
INSERT INTO namespaces (warehouse, name, parent, properties, created_at, updated_at, location)
VALUES (@warehouse, @name, @parent, @properties, @now, @now, sqlc.narg('location'))
RETURNING id;

-- name: GetNamespace :one
SELECT * FROM namespaces
WHERE warehouse = @warehouse AND name = @name;

-- name: NamespaceExists :one
SELECT EXISTS (SELECT 1 FROM namespaces WHERE warehouse = @warehouse AND name = @name);

-- name: ListNamespaces :many
SELECT * FROM namespaces
WHERE warehouse = @warehouse AND parent = @parent AND name > @after
ORDER BY name
LIMIT @lim;

-- name: UpdateNamespaceProperties :exec
UPDATE namespaces SET properties = @properties, updated_at = @now
WHERE warehouse = @warehouse AND name = @name;

-- name: NamespaceContents :one
SELECT
    EXISTS (SELECT 1 FROM namespaces c WHERE c.warehouse = @warehouse AND c.parent = @name) AS has_children,
    EXISTS (SELECT 1 FROM entities e WHERE e.warehouse = @warehouse AND e.namespace = @name AND e.kind = 'table') AS has_tables,
    EXISTS (SELECT 1 FROM entities e WHERE e.warehouse = @warehouse AND e.namespace = @name AND e.kind = 'view') AS has_views,
    EXISTS (SELECT 1 FROM entities e WHERE e.warehouse = @warehouse AND e.namespace = @name AND e.kind = 'function') AS has_functions;

-- name: DeleteNamespace :execrows
DELETE FROM namespaces WHERE warehouse = @warehouse AND name = @name;

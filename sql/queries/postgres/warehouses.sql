-- Warehouses (see the migration and store/warehouses.go).

-- name: BumpWarehouseRevision :one
UPDATE warehouse_revision SET revision = revision + 1 RETURNING revision;

-- name: WarehouseRevision :one
SELECT revision FROM warehouse_revision;

-- name: ListWarehouses :many
SELECT name, location, key, settings::text AS settings, secrets, active, source, created_at, updated_at
FROM warehouses ORDER BY name;

-- name: InsertWarehouse :exec
INSERT INTO warehouses (name, location, key, settings, secrets, active, source, created_at, updated_at)
VALUES (@name, @location, @key, @settings::jsonb, @secrets, @active, @source, @created_at, @created_at);

-- name: UpdateWarehouse :execrows
UPDATE warehouses SET location = @location, key = @key, settings = @settings::jsonb, secrets = @secrets,
    active = @active, source = @source, updated_at = @updated_at
WHERE name = @name;

-- name: DeleteWarehouse :execrows
DELETE FROM warehouses WHERE name = @name;

-- name: WarehouseHasNamespaces :one
SELECT EXISTS (SELECT 1 FROM namespaces WHERE warehouse = @warehouse)::boolean;

-- A rename moves every row keyed by the warehouse's name. One statement,
-- so that the foreign key from entities to namespaces, checked at its end,
-- sees both moved.
-- name: RenameWarehouseRows :exec
WITH moved_warehouse AS (
    UPDATE warehouses wh SET name = @to_name::text, updated_at = @updated_at WHERE wh.name = @from_name::text
), moved_namespaces AS (
    UPDATE namespaces ns SET warehouse = @to_name::text WHERE ns.warehouse = @from_name::text
), moved_entities AS (
    UPDATE entities en SET warehouse = @to_name::text WHERE en.warehouse = @from_name::text
)
UPDATE grants gr SET warehouse = @to_name::text WHERE gr.warehouse = @from_name::text;

-- name: PurgeJobsUnder :one
SELECT count(*) FROM purge_jobs WHERE substr(location, 1, length(@prefix::text)) = @prefix::text;

-- A deleted warehouse's grants go with it: a warehouse created later under
-- the name must not inherit them.
-- name: DeleteWarehouseGrants :exec
DELETE FROM grants WHERE warehouse = @warehouse;

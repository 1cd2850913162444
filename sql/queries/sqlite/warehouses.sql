-- Warehouses (see the migration and store/warehouses.go). SQLite runs one
-- writer at a time, so the revision bump only counts.

-- name: BumpWarehouseRevision :one
UPDATE warehouse_revision SET revision = revision + 1 RETURNING revision;

-- name: WarehouseRevision :one
SELECT revision FROM warehouse_revision;

-- name: ListWarehouses :many
SELECT name, location, key, settings, secrets, active, source, created_at, updated_at
FROM warehouses ORDER BY name;

-- name: InsertWarehouse :exec
INSERT INTO warehouses (name, location, key, settings, secrets, active, source, created_at, updated_at)
VALUES (@name, @location, @key, @settings, @secrets, @active, @source, @created_at, @created_at);

-- name: UpdateWarehouse :execrows
UPDATE warehouses SET location = @location, key = @key, settings = @settings, secrets = @secrets,
    active = @active, source = @source, updated_at = @updated_at
WHERE name = @name;

-- name: DeleteWarehouse :execrows
DELETE FROM warehouses WHERE name = @name;

-- name: WarehouseHasNamespaces :one
SELECT EXISTS (SELECT 1 FROM namespaces WHERE warehouse = @warehouse);

-- name: RenameWarehouse :exec
UPDATE warehouses SET name = @to_name, updated_at = @updated_at WHERE name = @from_name;

-- name: RenameWarehouseNamespaces :exec
UPDATE namespaces SET warehouse = @to_name WHERE warehouse = @from_name;

-- name: RenameWarehouseEntities :exec
UPDATE entities SET warehouse = @to_name WHERE warehouse = @from_name;

-- name: RenameWarehouseGrants :exec
UPDATE grants SET warehouse = @to_name WHERE warehouse = @from_name;

-- name: PurgeJobsUnder :one
SELECT count(*) FROM purge_jobs WHERE substr(location, 1, length(CAST(@prefix AS TEXT))) = CAST(@prefix AS TEXT);

-- A deleted warehouse's grants go with it: a warehouse created later under
-- the name must not inherit them.
-- name: DeleteWarehouseGrants :exec
DELETE FROM grants WHERE warehouse = @warehouse;

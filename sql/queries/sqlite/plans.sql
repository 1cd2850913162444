-- name: InsertScanPlan :exec
INSERT INTO scan_plans (id, warehouse, namespace, table_name, principal, status, request, metadata_location,
                        owner, lease_until, attempts, created_at, expires_at)
VALUES (@id, @warehouse, @namespace, @table_name, @principal, @status, @request, @metadata_location,
        @owner, sqlc.narg('lease_until'), @attempts, @created_at, @expires_at);

-- name: GetScanPlan :one
SELECT * FROM scan_plans WHERE id = @id;

-- name: DeleteScanPlan :exec
DELETE FROM scan_plans WHERE id = @id;

-- SQLite runs one write at a time: a cancel comes wholly before or after.
-- name: InsertScanPlanChunk :execrows
INSERT INTO scan_plan_tasks (plan_id, seq, task_count, payload)
SELECT p.id, @seq, @task_count, @payload
FROM scan_plans p
WHERE p.id = @plan_id AND p.status = 'submitted' AND p.owner = @owner;

-- name: GetScanPlanChunk :one
SELECT payload FROM scan_plan_tasks WHERE plan_id = @plan_id AND seq = @seq;

-- name: RenewScanPlanLease :execrows
UPDATE scan_plans SET lease_until = @lease_until
WHERE id = @id AND status = 'submitted' AND owner = @owner;

-- name: FinishScanPlan :execrows
UPDATE scan_plans
SET status = @status, task_count = @task_count, chunk_count = @chunk_count,
    error_kind = @error_kind, error_message = @error_message, owner = '', lease_until = NULL
WHERE id = @id AND status = 'submitted' AND owner = @owner;

-- name: CancelScanPlan :execrows
UPDATE scan_plans SET status = 'cancelled', owner = '', lease_until = NULL
WHERE id = @id AND status IN ('submitted', 'completed');

-- name: DeleteScanPlanChunks :exec
DELETE FROM scan_plan_tasks WHERE plan_id = @plan_id;

-- name: ReleaseScanPlans :execrows
UPDATE scan_plans SET owner = '', lease_until = NULL
WHERE status = 'submitted' AND owner = @owner;

-- name: ClaimScanPlans :many
UPDATE scan_plans SET owner = @owner, lease_until = @lease_until, attempts = attempts + 1
WHERE id IN (
    SELECT p.id FROM scan_plans p
    WHERE p.status = 'submitted' AND p.expires_at > @now
      AND (p.owner = '' OR p.lease_until IS NULL OR p.lease_until <= @now)
    ORDER BY p.created_at, p.id
    LIMIT @lim
)
RETURNING *;

-- name: DeleteExpiredScanPlans :execrows
DELETE FROM scan_plans WHERE expires_at <= @now;

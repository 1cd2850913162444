-- name: InsertPurgeJob :one
INSERT INTO purge_jobs (location, metadata_location, metadata, due_at)
VALUES (@location, @metadata_location, @metadata, @due_at)
RETURNING id;

-- SKIP LOCKED lets several nodes claim at once without waiting on each other.
-- name: ClaimPurgeJobs :many
UPDATE purge_jobs SET leased_until = @lease_until
WHERE id IN (
    SELECT j.id FROM purge_jobs j
    WHERE j.due_at <= @now AND (j.leased_until IS NULL OR j.leased_until <= @now)
    ORDER BY j.due_at, j.id
    LIMIT @lim
    FOR UPDATE SKIP LOCKED
)
RETURNING *;

-- name: CompletePurgeJob :execrows
DELETE FROM purge_jobs WHERE id = @id;

-- name: RetryPurgeJob :execrows
UPDATE purge_jobs
SET attempts = attempts + 1, due_at = @retry_at, leased_until = NULL, last_error = @last_error
WHERE id = @id;

-- name: CountPurgeJobs :one
SELECT count(*) FROM purge_jobs;

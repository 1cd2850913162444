-- An expired record is taken over as if it did not exist; RETURNING yields
-- no row when a live record holds the key.
-- name: BeginIdempotencyKey :one
INSERT INTO idempotency_keys (key, operation, request_hash, created_at, expires_at)
VALUES (@key, @operation, @request_hash, @now, @expires_at)
ON CONFLICT (key) DO UPDATE
SET operation = EXCLUDED.operation,
    request_hash = EXCLUDED.request_hash,
    status = 0,
    body = NULL,
    done = false,
    created_at = EXCLUDED.created_at,
    expires_at = EXCLUDED.expires_at
WHERE idempotency_keys.expires_at <= EXCLUDED.created_at AND NOT idempotency_keys.committed
RETURNING key;

-- name: GetIdempotencyKey :one
SELECT * FROM idempotency_keys
WHERE key = @key;

-- name: FinishIdempotencyKey :execrows
UPDATE idempotency_keys
SET status = @status, body = @body, done = true, expires_at = COALESCE(sqlc.narg('expires_at'), expires_at)
WHERE key = @key;

-- A committed mutation's key is never abandoned: its outcome must replay.
-- name: AbandonIdempotencyKey :exec
DELETE FROM idempotency_keys WHERE key = @key AND NOT done AND NOT committed;

-- name: PruneIdempotencyKeys :execrows
DELETE FROM idempotency_keys WHERE expires_at < @before;

-- Run in the mutation's own transaction.
-- name: MarkIdempotencyCommitted :exec
UPDATE idempotency_keys SET committed = true, outcome = @outcome, expires_at = @expires_at
WHERE key = ANY(@keys::text[]) AND NOT done;

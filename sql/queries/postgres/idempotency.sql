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
WHERE idempotency_keys.expires_at <= EXCLUDED.created_at
RETURNING key;

-- name: GetIdempotencyKey :one
SELECT * FROM idempotency_keys
WHERE key = @key;

-- name: FinishIdempotencyKey :execrows
UPDATE idempotency_keys
SET status = @status, body = @body, done = true, expires_at = COALESCE(sqlc.narg('expires_at'), expires_at)
WHERE key = @key;

-- name: AbandonIdempotencyKey :exec
DELETE FROM idempotency_keys WHERE key = @key AND NOT done;

-- name: PruneIdempotencyKeys :execrows
DELETE FROM idempotency_keys WHERE expires_at < @before;

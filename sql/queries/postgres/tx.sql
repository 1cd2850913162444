-- set_config(..., true) is SET LOCAL: it ends with the transaction.
-- name: SetLockTimeout :exec
SELECT set_config('lock_timeout', @timeout::text, true);

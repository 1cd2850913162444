-- Every change to the state but the audit log bumps its version in the
-- same transaction (see 00003_auth.sql).

-- name: BumpAuthVersion :exec
UPDATE auth_state SET version = version + 1;

-- name: AuthVersion :one
SELECT version FROM auth_state;

-- name: InsertPrincipal :exec
INSERT INTO principals (name, client_id, secret_hash, disabled, created_at)
VALUES (@name, sqlc.narg('client_id'), @secret_hash, @disabled, @created_at);

-- name: GetPrincipal :one
SELECT * FROM principals WHERE name = @name;

-- name: GetPrincipalByClientID :one
SELECT * FROM principals WHERE client_id = @client_id;

-- name: ListPrincipals :many
SELECT * FROM principals ORDER BY name;

-- name: ListPrincipalRoles :many
SELECT * FROM principal_roles ORDER BY principal, role;

-- name: RolesOfPrincipal :many
SELECT role FROM principal_roles WHERE principal = @principal ORDER BY role;

-- name: SetPrincipalDisabled :execrows
UPDATE principals SET disabled = @disabled WHERE name = @name;

-- name: SetPrincipalCredentials :execrows
UPDATE principals SET client_id = sqlc.narg('client_id'), secret_hash = @secret_hash WHERE name = @name;

-- name: DeletePrincipal :execrows
DELETE FROM principals WHERE name = @name;

-- name: InsertRole :exec
INSERT INTO roles (name, description, created_at) VALUES (@name, @description, @created_at);

-- name: GetRole :one
SELECT * FROM roles WHERE name = @name;

-- name: ListRoles :many
SELECT * FROM roles ORDER BY name;

-- name: DeleteRole :execrows
DELETE FROM roles WHERE name = @name;

-- name: AssignRole :exec
INSERT INTO principal_roles (principal, role) VALUES (@principal, @role)
ON CONFLICT (principal, role) DO NOTHING;

-- name: UnassignRole :execrows
DELETE FROM principal_roles WHERE principal = @principal AND role = @role;

-- name: InsertGrant :one
INSERT INTO grants (role, securable_type, warehouse, namespace, name, privilege, created_at)
VALUES (@role, @securable_type, @warehouse, @namespace, @name, @privilege, @created_at)
ON CONFLICT (role, securable_type, warehouse, namespace, name, privilege) DO NOTHING
RETURNING *;

-- name: FindGrant :one
SELECT * FROM grants
WHERE role = @role AND securable_type = @securable_type AND warehouse = @warehouse
  AND namespace = @namespace AND name = @name AND privilege = @privilege;

-- name: DeleteGrant :one
DELETE FROM grants WHERE id = @id RETURNING *;

-- name: ListGrants :many
SELECT * FROM grants ORDER BY id;

-- name: InsertAPIKey :exec
INSERT INTO api_keys (prefix, hash, principal, name, created_at, expires_at)
VALUES (@prefix, @hash, @principal, @name, @created_at, sqlc.narg('expires_at'));

-- name: GetAPIKey :one
SELECT * FROM api_keys WHERE prefix = @prefix;

-- name: ListAPIKeys :many
SELECT * FROM api_keys ORDER BY principal, created_at, prefix;

-- name: ListAPIKeysOfPrincipal :many
SELECT * FROM api_keys WHERE principal = @principal ORDER BY created_at, prefix;

-- name: DeleteAPIKey :execrows
DELETE FROM api_keys WHERE prefix = @prefix;

-- name: SetAPIKeyExpiry :exec
UPDATE api_keys SET expires_at = sqlc.narg('expires_at') WHERE prefix = @prefix;

-- name: InsertSigningKey :exec
INSERT INTO signing_keys (kid, algorithm, private_key, public_key, created_at, retired_at, expires_at)
VALUES (@kid, @algorithm, @private_key, @public_key, @created_at, sqlc.narg('retired_at'), sqlc.narg('expires_at'));

-- name: RetireSigningKeys :exec
UPDATE signing_keys SET retired_at = @retired_at, expires_at = @expires_at
WHERE retired_at IS NULL AND kid <> @kid AND created_at <= @retired_at;

-- name: ExpireOtherSigningKeys :exec
UPDATE signing_keys SET retired_at = COALESCE(retired_at, @at), expires_at = @at
WHERE kid <> @kid AND (expires_at IS NULL OR expires_at > @at);

-- name: DeleteExpiredSigningKeys :execrows
DELETE FROM signing_keys WHERE expires_at IS NOT NULL AND expires_at < @before;

-- name: ListSigningKeys :many
SELECT * FROM signing_keys ORDER BY created_at, kid;

-- name: InsertAudit :one
INSERT INTO audit_log (created_at, principal, operation, target, outcome, status, detail)
VALUES (@created_at, @principal, @operation, @target, @outcome, @status, @detail)
RETURNING id;

-- name: ListAudit :many
SELECT * FROM audit_log
WHERE id > @after
  AND (CAST(@principal AS TEXT) = '' OR principal = @principal)
  AND (CAST(@operation AS TEXT) = '' OR operation = @operation)
  AND (CAST(@outcome AS TEXT) = '' OR outcome = @outcome)
ORDER BY id
LIMIT @lim;

-- name: PruneAudit :execrows
DELETE FROM audit_log WHERE created_at < @before;

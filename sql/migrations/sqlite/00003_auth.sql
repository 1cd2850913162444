-- +goose Up

-- Authentication and authorization (package auth, package authz). Every
-- change to these tables but the audit log increases auth_state.version in
-- the same transaction; nodes poll it and reload the state when it moved.
-- Times are INTEGER microseconds since the epoch.
CREATE TABLE auth_state (
    singleton  INTEGER PRIMARY KEY CHECK (singleton = 1),
    version    INTEGER NOT NULL
);

INSERT INTO auth_state (singleton, version) VALUES (1, 0);

CREATE TABLE principals (
    name         TEXT PRIMARY KEY,
    -- NULL: the principal has no client credentials (an OIDC user)
    client_id    TEXT UNIQUE,
    -- argon2id PHC string of the client secret; never the secret itself
    secret_hash  TEXT NOT NULL DEFAULT '',
    disabled     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   INTEGER NOT NULL
);

CREATE TABLE roles (
    name         TEXT PRIMARY KEY,
    description  TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL
);

CREATE TABLE principal_roles (
    principal  TEXT NOT NULL REFERENCES principals (name) ON DELETE CASCADE,
    role       TEXT NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    PRIMARY KEY (principal, role)
);

CREATE INDEX principal_roles_role_idx ON principal_roles (role);

-- securable_type catalog: warehouse, namespace and name are ''; warehouse:
-- namespace and name are ''; namespace: name is ''. namespace holds the
-- levels joined with 0x1F, as in namespaces.name.
CREATE TABLE grants (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    role            TEXT NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    securable_type  TEXT NOT NULL CHECK (securable_type IN ('catalog', 'warehouse', 'namespace', 'table', 'view')),
    warehouse       TEXT NOT NULL,
    namespace       TEXT NOT NULL,
    name            TEXT NOT NULL,
    privilege       TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    UNIQUE (role, securable_type, warehouse, namespace, name, privilege)
);

-- The key is never stored: prefix finds the row, hash (SHA-256 of the whole
-- key, which is random) checks it.
CREATE TABLE api_keys (
    prefix      TEXT PRIMARY KEY,
    hash        TEXT NOT NULL,
    principal   TEXT NOT NULL REFERENCES principals (name) ON DELETE CASCADE,
    name        TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER
);

CREATE INDEX api_keys_principal_idx ON api_keys (principal);

-- Keys that sign the catalog's tokens. private_key may be encrypted
-- (auth.key-encryption-secret); it is never logged.
CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY,
    algorithm    TEXT NOT NULL,
    private_key  BLOB NOT NULL,
    public_key   BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    retired_at   INTEGER,
    expires_at   INTEGER
);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at  INTEGER NOT NULL,
    principal   TEXT NOT NULL,
    operation   TEXT NOT NULL,
    target      TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    status      INTEGER NOT NULL,
    detail      TEXT NOT NULL
);

CREATE INDEX audit_log_created_at_idx ON audit_log (created_at);

-- +goose Down

DROP TABLE audit_log;
DROP TABLE signing_keys;
DROP TABLE api_keys;
DROP TABLE grants;
DROP TABLE principal_roles;
DROP TABLE roles;
DROP TABLE principals;
DROP TABLE auth_state;

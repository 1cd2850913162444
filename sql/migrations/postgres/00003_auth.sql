-- +goose Up

-- Authentication and authorization (package auth, package authz). Every
-- change to these tables but the audit log increases auth_state.version in
-- the same transaction; nodes poll it and reload the state when it moved.
CREATE TABLE auth_state (
    singleton  BOOLEAN PRIMARY KEY DEFAULT true CHECK (singleton),
    version    BIGINT NOT NULL
);

INSERT INTO auth_state (singleton, version) VALUES (true, 0);

CREATE TABLE principals (
    name         TEXT COLLATE "C" PRIMARY KEY,
    -- NULL: the principal has no client credentials (an OIDC user)
    client_id    TEXT COLLATE "C" UNIQUE,
    -- argon2id PHC string of the client secret; never the secret itself
    secret_hash  TEXT NOT NULL DEFAULT '',
    disabled     BOOLEAN NOT NULL DEFAULT false,
    created_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE roles (
    name         TEXT COLLATE "C" PRIMARY KEY,
    description  TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE principal_roles (
    principal  TEXT COLLATE "C" NOT NULL REFERENCES principals (name) ON DELETE CASCADE,
    role       TEXT COLLATE "C" NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    PRIMARY KEY (principal, role)
);

CREATE INDEX principal_roles_role_idx ON principal_roles (role);

-- securable_type catalog: warehouse, namespace and name are ''; warehouse:
-- namespace and name are ''; namespace: name is ''. namespace holds the
-- levels joined with 0x1F, as in namespaces.name.
CREATE TABLE grants (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    role            TEXT COLLATE "C" NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    securable_type  TEXT NOT NULL CHECK (securable_type IN ('catalog', 'warehouse', 'namespace', 'table', 'view')),
    warehouse       TEXT COLLATE "C" NOT NULL,
    namespace       TEXT COLLATE "C" NOT NULL,
    name            TEXT COLLATE "C" NOT NULL,
    privilege       TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (role, securable_type, warehouse, namespace, name, privilege)
);

-- The key is never stored: prefix finds the row, hash (SHA-256 of the whole
-- key, which is random) checks it.
CREATE TABLE api_keys (
    prefix      TEXT COLLATE "C" PRIMARY KEY,
    hash        TEXT NOT NULL,
    principal   TEXT COLLATE "C" NOT NULL REFERENCES principals (name) ON DELETE CASCADE,
    name        TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ
);

CREATE INDEX api_keys_principal_idx ON api_keys (principal);

-- Keys that sign the catalog's tokens. private_key may be encrypted
-- (auth.key-encryption-secret); it is never logged.
CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY,
    algorithm    TEXT NOT NULL,
    private_key  BYTEA NOT NULL,
    public_key   BYTEA NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    retired_at   TIMESTAMPTZ,
    expires_at   TIMESTAMPTZ
);

CREATE TABLE audit_log (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at  TIMESTAMPTZ NOT NULL,
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

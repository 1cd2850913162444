-- +goose Up

-- Grants on a single function (SQL UDF), as on a single table or view. SQLite
-- cannot alter a CHECK constraint: the table is rebuilt with its rows and ids,
-- and its AUTOINCREMENT counter is carried over, so that the id of a revoked
-- grant is never handed out again.
CREATE TABLE grants_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    role            TEXT NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    securable_type  TEXT NOT NULL CHECK (securable_type IN ('catalog', 'warehouse', 'namespace', 'table', 'view', 'function')),
    warehouse       TEXT NOT NULL,
    namespace       TEXT NOT NULL,
    name            TEXT NOT NULL,
    privilege       TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    UNIQUE (role, securable_type, warehouse, namespace, name, privilege)
);

INSERT INTO grants_new (id, role, securable_type, warehouse, namespace, name, privilege, created_at)
SELECT id, role, securable_type, warehouse, namespace, name, privilege, created_at FROM grants;

DELETE FROM sqlite_sequence WHERE name = 'grants_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'grants_new', seq FROM sqlite_sequence WHERE name = 'grants';

DROP TABLE grants;
ALTER TABLE grants_new RENAME TO grants;

-- +goose Down

-- Fails while grants on functions exist: revoke them first rather than have
-- a migration delete grants.
CREATE TABLE grants_old (
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

INSERT INTO grants_old (id, role, securable_type, warehouse, namespace, name, privilege, created_at)
SELECT id, role, securable_type, warehouse, namespace, name, privilege, created_at FROM grants;

DELETE FROM sqlite_sequence WHERE name = 'grants_old';
INSERT INTO sqlite_sequence (name, seq) SELECT 'grants_old', seq FROM sqlite_sequence WHERE name = 'grants';

DROP TABLE grants;
ALTER TABLE grants_old RENAME TO grants;

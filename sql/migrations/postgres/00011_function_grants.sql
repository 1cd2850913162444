-- +goose Up

-- Grants on a single function (SQL UDF), as on a single table or view.
ALTER TABLE grants DROP CONSTRAINT grants_securable_type_check;
ALTER TABLE grants ADD CONSTRAINT grants_securable_type_check
    CHECK (securable_type IN ('catalog', 'warehouse', 'namespace', 'table', 'view', 'function'));

-- +goose Down

-- Fails while grants on functions exist: revoke them first rather than have
-- a migration delete grants.
ALTER TABLE grants DROP CONSTRAINT grants_securable_type_check;
ALTER TABLE grants ADD CONSTRAINT grants_securable_type_check
    CHECK (securable_type IN ('catalog', 'warehouse', 'namespace', 'table', 'view'));

-- +goose Up

-- Functions (SQL UDFs) are a third kind of entity. They share the name space
-- of their namespace with tables and views (the unique key on (warehouse,
-- namespace, name) already spans kinds), so that one identifier names one
-- catalog object, and they claim their storage location like a view: a
-- location belongs to exactly one table, view or function.
ALTER TABLE entities DROP CONSTRAINT entities_kind_check;
ALTER TABLE entities ADD CONSTRAINT entities_kind_check
    CHECK (kind IN ('table', 'view', 'function'));

ALTER TABLE location_claims DROP CONSTRAINT location_claims_owner_kind_check;
ALTER TABLE location_claims ADD CONSTRAINT location_claims_owner_kind_check
    CHECK (owner_kind IN ('namespace', 'table', 'view', 'function', 'purge'));

-- +goose Down

-- Fails while functions exist (their rows violate the narrower checks):
-- drop them first rather than have a migration delete catalog objects.
ALTER TABLE location_claims DROP CONSTRAINT location_claims_owner_kind_check;
ALTER TABLE location_claims ADD CONSTRAINT location_claims_owner_kind_check
    CHECK (owner_kind IN ('namespace', 'table', 'view', 'purge'));

ALTER TABLE entities DROP CONSTRAINT entities_kind_check;
ALTER TABLE entities ADD CONSTRAINT entities_kind_check
    CHECK (kind IN ('table', 'view'));

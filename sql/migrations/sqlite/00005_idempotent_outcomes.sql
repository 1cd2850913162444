-- +goose Up

-- See the PostgreSQL migration of the same name.
ALTER TABLE idempotency_keys ADD COLUMN committed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE idempotency_keys ADD COLUMN outcome BLOB;

-- +goose Down

ALTER TABLE idempotency_keys DROP COLUMN outcome;
ALTER TABLE idempotency_keys DROP COLUMN committed;

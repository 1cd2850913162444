-- +goose Up

-- A mutation sent with an Idempotency-Key marks its key committed, with
-- what it did (outcome), in its own transaction: a retry after a crash
-- between the commit and the recording of the answer replays the outcome
-- instead of running the mutation again (issue 13).
ALTER TABLE idempotency_keys ADD COLUMN committed BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE idempotency_keys ADD COLUMN outcome BYTEA;

-- +goose Down

ALTER TABLE idempotency_keys DROP COLUMN outcome;
ALTER TABLE idempotency_keys DROP COLUMN committed;

-- +goose Up
-- SQLite's migration 00007 adds keys_n, a counter that triggers move on
-- every change to what verify reads of a key, so that serve may keep the
-- keys it has verified (sqlstore.keyCache). PostgreSQL has the column, so
-- that verify's statement is the same on both engines, but no triggers:
-- the counter is a row, and a trigger on every key write would hold its
-- lock until commit, serialising all key writes and deadlocking two
-- transactions that write several keys each. keys_n stays 0 here, and
-- serve on PostgreSQL reads the key on every verify.
ALTER TABLE authority_version ADD COLUMN keys_n BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE authority_version DROP COLUMN keys_n;

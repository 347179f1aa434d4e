-- +goose Up
-- A counter that every change to what a key inherits moves (issue 17):
-- users and teams (principals) and tenant settings. Verify reads it with
-- the key, in the same statement, and reuses the owner, team and settings
-- it read before while the counter has not moved, instead of joining six
-- more rows on every call. Triggers move it, so a change made by any
-- process, or by hand in the sqlite3 shell, is seen on the next verify.
-- The epoch, random, tells this counter from any earlier one: a cache
-- that holds n = 7 of another epoch (the table dropped and made again)
-- holds nothing of this one.
CREATE TABLE authority_version (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    n     INTEGER NOT NULL,
    epoch TEXT NOT NULL DEFAULT (lower(hex(randomblob(16))))
);
INSERT INTO authority_version (id, n) VALUES (1, 0);

CREATE TRIGGER principals_insert_authority AFTER INSERT ON principals
BEGIN UPDATE authority_version SET n = n + 1; END;
CREATE TRIGGER principals_update_authority AFTER UPDATE ON principals
BEGIN UPDATE authority_version SET n = n + 1; END;
CREATE TRIGGER principals_delete_authority AFTER DELETE ON principals
BEGIN UPDATE authority_version SET n = n + 1; END;
CREATE TRIGGER tenant_config_insert_authority AFTER INSERT ON tenant_config
BEGIN UPDATE authority_version SET n = n + 1; END;
CREATE TRIGGER tenant_config_update_authority AFTER UPDATE ON tenant_config
BEGIN UPDATE authority_version SET n = n + 1; END;
CREATE TRIGGER tenant_config_delete_authority AFTER DELETE ON tenant_config
BEGIN UPDATE authority_version SET n = n + 1; END;

-- +goose Down
DROP TRIGGER tenant_config_delete_authority;
DROP TRIGGER tenant_config_update_authority;
DROP TRIGGER tenant_config_insert_authority;
DROP TRIGGER principals_delete_authority;
DROP TRIGGER principals_update_authority;
DROP TRIGGER principals_insert_authority;
DROP TABLE authority_version;

-- +goose Up
-- A counter that every change to what a key inherits moves (issue 17):
-- users and teams (principals) and tenant settings. Verify reads it with
-- the key, in the same statement, and reuses the owner, team and settings
-- it read before while the counter has not moved, instead of joining six
-- more rows on every call. Triggers move it, so a change made by any
-- process, or by hand in psql, is seen on the next verify.
-- The epoch, random, tells this counter from any earlier one: a cache
-- that holds n = 7 of another epoch (the table dropped and made again)
-- holds nothing of this one.
CREATE TABLE authority_version (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    n     BIGINT NOT NULL,
    epoch TEXT NOT NULL DEFAULT md5(random()::text || clock_timestamp()::text)
);
INSERT INTO authority_version (id, n) VALUES (1, 0);

-- BEFORE each statement: a writer takes the counter's row lock before any
-- lock on a principal or setting row, so two writers of different rows
-- queue on the counter instead of deadlocking over each other's rows.
-- +goose StatementBegin
CREATE FUNCTION keyadm_authority_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE authority_version SET n = n + 1;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
-- The function finds the counter in the schema it was created in (tests and
-- shared servers put keyadm in a schema of its own), whatever the search
-- path of the session that changes a row.
-- +goose StatementBegin
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION keyadm_authority_changed() SET search_path = %I', current_schema());
END
$$;
-- +goose StatementEnd
CREATE TRIGGER principals_authority BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON principals
    FOR EACH STATEMENT EXECUTE FUNCTION keyadm_authority_changed();
CREATE TRIGGER tenant_config_authority BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON tenant_config
    FOR EACH STATEMENT EXECUTE FUNCTION keyadm_authority_changed();
-- Also when replication or a restore sets session_replication_role.
ALTER TABLE principals ENABLE ALWAYS TRIGGER principals_authority;
ALTER TABLE tenant_config ENABLE ALWAYS TRIGGER tenant_config_authority;

-- +goose Down
DROP TRIGGER tenant_config_authority ON tenant_config;
DROP TRIGGER principals_authority ON principals;
DROP FUNCTION keyadm_authority_changed();
DROP TABLE authority_version;

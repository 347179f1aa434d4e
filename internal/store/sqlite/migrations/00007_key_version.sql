-- +goose Up
-- A second counter, keys_n, that every change to what verify reads of a
-- key moves (issue 17), so that serve may keep keys it has verified and,
-- while it stands, read only the counters instead of the key. A key
-- created, deleted, revoked, disabled, narrowed or given limits, by keyadm
-- or by hand in the sqlite3 shell, moves it in the changing transaction
-- and is read again on the next verify. What verify writes itself does not
-- move it: last uses and use counts, and credits spent (only a key gaining
-- or losing credits does). It is not n: a key written must not empty what
-- serve keeps of users, teams and settings.
ALTER TABLE authority_version ADD COLUMN keys_n INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER api_keys_insert_authority AFTER INSERT ON api_keys
BEGIN UPDATE authority_version SET keys_n = keys_n + 1; END;
CREATE TRIGGER api_keys_delete_authority AFTER DELETE ON api_keys
BEGIN UPDATE authority_version SET keys_n = keys_n + 1; END;
CREATE TRIGGER api_keys_update_authority AFTER UPDATE OF
    id, tenant_id, team_id, owner_id, name, description, permissions, hint, key_hash,
    created_at, created_by, updated_at, expires_at, revoked_at, revoked_by, revoke_reason,
    metadata, rotated_from, disabled_at, sub_type, rate_limits, refill_amount,
    refill_period_us, allow_ips ON api_keys
BEGIN UPDATE authority_version SET keys_n = keys_n + 1; END;
CREATE TRIGGER api_keys_credits_authority AFTER UPDATE OF uses_remaining ON api_keys
WHEN (OLD.uses_remaining IS NULL) <> (NEW.uses_remaining IS NULL)
BEGIN UPDATE authority_version SET keys_n = keys_n + 1; END;

-- +goose Down
DROP TRIGGER api_keys_credits_authority;
DROP TRIGGER api_keys_update_authority;
DROP TRIGGER api_keys_delete_authority;
DROP TRIGGER api_keys_insert_authority;
ALTER TABLE authority_version DROP COLUMN keys_n;

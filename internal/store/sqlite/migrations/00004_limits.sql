-- +goose Up
-- Limits (issue 14). Times the limit statements compute with (refilled_at,
-- tat) are integer microseconds since the epoch on both engines, so one
-- statement does the same arithmetic on each.
ALTER TABLE api_keys ADD COLUMN rate_limits TEXT NOT NULL DEFAULT '[]';
ALTER TABLE api_keys ADD COLUMN uses_remaining INTEGER;
ALTER TABLE api_keys ADD COLUMN refill_amount INTEGER;
ALTER TABLE api_keys ADD COLUMN refill_period_us INTEGER;
ALTER TABLE api_keys ADD COLUMN refilled_at INTEGER;
ALTER TABLE api_keys ADD COLUMN allow_ips TEXT NOT NULL DEFAULT '[]';
ALTER TABLE api_keys ADD COLUMN use_count INTEGER NOT NULL DEFAULT 0;
CREATE INDEX api_keys_uses ON api_keys (use_count, id);
CREATE INDEX api_keys_tenant_uses ON api_keys (tenant_id, use_count, id);

-- A user's rate-limit windows, one budget shared by all of the user's keys.
ALTER TABLE principals ADD COLUMN rate_limits TEXT NOT NULL DEFAULT '[]';

-- One GCRA theoretical arrival time per subject (a key, a user) and window.
CREATE TABLE rate_limit_state (
    subject   TEXT NOT NULL,
    period_us INTEGER NOT NULL,
    tat       INTEGER NOT NULL,
    PRIMARY KEY (subject, period_us)
) WITHOUT ROWID;

-- Verifications per key, hour and outcome; outlives its key, like events.
CREATE TABLE key_usage (
    key_id    TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    hour      INTEGER NOT NULL,
    outcome   TEXT NOT NULL,
    count     INTEGER NOT NULL,
    PRIMARY KEY (key_id, hour, outcome)
);
CREATE INDEX key_usage_tenant ON key_usage (tenant_id, hour);

-- +goose Down
ALTER TABLE principals DROP COLUMN rate_limits;
DROP TABLE key_usage;
DROP TABLE rate_limit_state;
DROP INDEX api_keys_tenant_uses;
DROP INDEX api_keys_uses;
ALTER TABLE api_keys DROP COLUMN use_count;
ALTER TABLE api_keys DROP COLUMN allow_ips;
ALTER TABLE api_keys DROP COLUMN refilled_at;
ALTER TABLE api_keys DROP COLUMN refill_period_us;
ALTER TABLE api_keys DROP COLUMN refill_amount;
ALTER TABLE api_keys DROP COLUMN uses_remaining;
ALTER TABLE api_keys DROP COLUMN rate_limits;

-- +goose Up
-- Times are integer microseconds since the Unix epoch, UTC.
CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    team_id       TEXT,
    owner_id      TEXT,
    name          TEXT NOT NULL,
    description   TEXT,
    permissions   TEXT NOT NULL,
    hint          TEXT NOT NULL,
    key_hash      BLOB NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    created_by    TEXT NOT NULL,
    updated_at    INTEGER NOT NULL,
    expires_at    INTEGER,
    revoked_at    INTEGER,
    revoked_by    TEXT,
    revoke_reason TEXT,
    last_used_at  INTEGER,
    metadata      TEXT NOT NULL DEFAULT '{}',
    rotated_from  TEXT
);
CREATE INDEX api_keys_created ON api_keys (created_at, id);
CREATE INDEX api_keys_tenant_created ON api_keys (tenant_id, created_at, id);
CREATE INDEX api_keys_tenant_name ON api_keys (tenant_id, name, id);
CREATE INDEX api_keys_tenant_owner ON api_keys (tenant_id, owner_id);
CREATE INDEX api_keys_tenant_last_used ON api_keys (tenant_id, last_used_at);
CREATE INDEX api_keys_tenant_expires ON api_keys (tenant_id, expires_at);

CREATE TABLE tenant_config (
    tenant_id  TEXT NOT NULL, -- '' holds the global defaults
    name       TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

-- Events outlive their keys: key_id is not a foreign key.
CREATE TABLE audit_events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    tenant_id TEXT,
    key_id    TEXT,
    details   TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_tenant ON audit_events (tenant_id, id);
CREATE INDEX audit_events_key ON audit_events (key_id, id);

-- +goose Down
DROP TABLE audit_events;
DROP TABLE tenant_config;
DROP TABLE api_keys;

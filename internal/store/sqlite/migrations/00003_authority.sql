-- +goose Up
-- Users and teams whose permissions keys inherit (issue 13), and the
-- reversible pause of a key. A key's permissions '[]' means it inherits.
ALTER TABLE api_keys ADD COLUMN disabled_at INTEGER;
CREATE INDEX api_keys_tenant_team ON api_keys (tenant_id, team_id);

CREATE TABLE principals (
    tenant_id   TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('user', 'team')),
    id          TEXT NOT NULL,
    name        TEXT,
    email       TEXT,
    permissions TEXT NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, kind, id)
);

-- +goose Down
DROP TABLE principals;
DROP INDEX api_keys_tenant_team;
ALTER TABLE api_keys DROP COLUMN disabled_at;

-- +goose Up
-- Users and teams whose permissions keys inherit (issue 13), and the
-- reversible pause of a key. A key's permissions '[]' means it inherits.
ALTER TABLE api_keys ADD COLUMN disabled_at TIMESTAMPTZ;
CREATE INDEX api_keys_tenant_team ON api_keys (tenant_id, team_id);

CREATE TABLE principals (
    tenant_id   TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('user', 'team')),
    id          TEXT NOT NULL,
    name        TEXT,
    email       TEXT,
    permissions JSONB NOT NULL,
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  TIMESTAMPTZ NOT NULL,
    created_by  TEXT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, kind, id)
);

-- +goose Down
DROP TABLE principals;
DROP INDEX api_keys_tenant_team;
ALTER TABLE api_keys DROP COLUMN disabled_at;

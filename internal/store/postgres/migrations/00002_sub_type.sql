-- +goose Up
-- The seed's subject type of a key: user, or externalClient (a SCIM
-- client's key, whose expiry scim_externalClient_expiry sets).
ALTER TABLE api_keys ADD COLUMN sub_type TEXT NOT NULL DEFAULT 'user';
CREATE INDEX api_keys_tenant_created_by ON api_keys (tenant_id, created_by);

-- +goose Down
DROP INDEX api_keys_tenant_created_by;
ALTER TABLE api_keys DROP COLUMN sub_type;

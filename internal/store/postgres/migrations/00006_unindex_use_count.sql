-- +goose Up
-- serve's flush writes every key used in its interval, each with a new
-- use count, and every index on use_count then moves that key's entry: two
-- more page writes per index and key. Measured on 100,000 keys (issue 17,
-- storetest BenchmarkFlush), these two indexes were 40-60% of a flush's
-- cost. `list --sort uses` sorts without them: within a tenant, the
-- tenant's keys; across tenants, every key.
DROP INDEX api_keys_uses;
DROP INDEX api_keys_tenant_uses;

-- +goose Down
CREATE INDEX api_keys_uses ON api_keys (use_count, id);
CREATE INDEX api_keys_tenant_uses ON api_keys (tenant_id, use_count, id);

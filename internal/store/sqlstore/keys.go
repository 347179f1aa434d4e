package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// LockOwner serialises quota checks where the engine needs it.
func (tx *Tx) LockOwner(tenant string, owner *string) error {
	if tx.db.Dialect.LockOwner == nil {
		return nil
	}
	key := tenant + "\x00"
	if owner != nil {
		key += "o:" + *owner
	}
	return tx.db.Dialect.LockOwner(tx.ctx, tx.tx, key)
}

const keyColumns = `k.id, k.tenant_id, k.team_id, k.owner_id, k.name, k.description, k.permissions,
	k.hint, k.created_at, k.created_by, k.updated_at, k.expires_at, k.revoked_at, k.revoked_by,
	k.revoke_reason, k.last_used_at, k.metadata, k.rotated_from, k.disabled_at, k.sub_type, ` + limitColumns

// The statements of the verify path, prepared once (see hotQueries). Their
// parameters are written +? (see Dialect.Rebind): on SQLite, an indexed
// column compared with a bare ? makes the plan depend on the bound value
// once ANALYZE has gathered STAT4 samples, and SQLite then parses and plans
// the statement again on every call, which cost verify 3–4× its floor.
//
// queryKeyByHash reads the key, its limits and the versions (see
// authorityCache and keyCache) in one statement; queryGrantByHash also joins all that
// decides what the key may do: its tenant's and the global
// api_keys_enabled and permissions values, and its registered owner (with
// the owner's rate limits) and team.
const (
	verifyColumns = `k.id, k.tenant_id, k.team_id, k.owner_id, k.name, k.permissions,
		k.expires_at, k.revoked_at, k.disabled_at, ` + limitColumns + `,
		(SELECT ` + versionsColumn + ` FROM authority_version)`
	queryKeyByHash   = `SELECT ` + verifyColumns + ` FROM api_keys k WHERE k.key_hash = +?`
	queryGrantByHash = `SELECT ` + verifyColumns + `, t.value, g.value, tc.value, gc.value,
		u.permissions, u.enabled, u.rate_limits, m.permissions, m.enabled FROM api_keys k
		LEFT JOIN tenant_config t ON t.tenant_id = k.tenant_id AND t.name = +?
		LEFT JOIN tenant_config g ON g.tenant_id = '' AND g.name = +?
		LEFT JOIN tenant_config tc ON tc.tenant_id = k.tenant_id AND tc.name = +?
		LEFT JOIN tenant_config gc ON gc.tenant_id = '' AND gc.name = +?
		LEFT JOIN principals u ON u.tenant_id = k.tenant_id AND u.kind = 'user' AND u.id = k.owner_id
		LEFT JOIN principals m ON m.tenant_id = k.tenant_id AND m.kind = 'team' AND m.id = k.team_id
		WHERE k.key_hash = +?`
	queryConfigValues = `SELECT name, value FROM tenant_config WHERE tenant_id = +?`
)

// InsertKey stores a new key with the hash of its secret.
func (tx *Tx) InsertKey(k *apikey.Key, hash []byte) error {
	return tx.InsertKeys([]*apikey.Key{k}, [][]byte{hash})
}

const insertKeyColumns = `INSERT INTO api_keys (id, tenant_id, team_id, owner_id, name, description,
	permissions, hint, key_hash, created_at, created_by, updated_at, expires_at, revoked_at,
	revoked_by, revoke_reason, last_used_at, metadata, rotated_from, disabled_at, sub_type, rate_limits,
	uses_remaining, refill_amount, refill_period_us, refilled_at, allow_ips) VALUES `

const keyValueRow = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// insertRows is how many keys one INSERT carries: 27 parameters each stay
// well under every engine's parameter limit.
const insertRows = 500

// InsertKeys stores many keys with multi-row INSERTs.
func (tx *Tx) InsertKeys(keys []*apikey.Key, hashes [][]byte) error {
	if len(keys) != len(hashes) {
		return fmt.Errorf("InsertKeys: %d keys, %d hashes", len(keys), len(hashes))
	}
	for start := 0; start < len(keys); start += insertRows {
		end := min(start+insertRows, len(keys))
		rows := make([]string, 0, end-start)
		args := make([]any, 0, (end-start)*27)
		for i := start; i < end; i++ {
			k := keys[i]
			perms, meta, err := encodeLists(k)
			if err != nil {
				return err
			}
			limits, err := limitValues(&k.Limits)
			if err != nil {
				return err
			}
			rows = append(rows, keyValueRow)
			args = append(args, k.ID, k.TenantID, k.TeamID, k.OwnerID, k.Name, k.Description, perms, k.Hint, hashes[i],
				tx.t(k.CreatedAt), k.CreatedBy, tx.t(k.UpdatedAt), tx.tp(k.ExpiresAt), tx.tp(k.RevokedAt),
				k.RevokedBy, k.RevokeReason, tx.tp(k.LastUsedAt), meta, k.RotatedFrom, tx.tp(k.DisabledAt), subType(k))
			args = append(args, limits...)
		}
		if _, err := tx.exec(insertKeyColumns+strings.Join(rows, ", "), args...); err != nil {
			return err
		}
	}
	return nil
}

// SaveKey writes a key's mutable fields.
func (tx *Tx) SaveKey(k *apikey.Key) error {
	perms, meta, err := encodeLists(k)
	if err != nil {
		return err
	}
	res, err := tx.exec(`UPDATE api_keys SET name = ?, description = ?, permissions = ?,
		updated_at = ?, expires_at = ?, revoked_at = ?, revoked_by = ?, revoke_reason = ?,
		metadata = ?, disabled_at = ? WHERE id = ?`,
		k.Name, k.Description, perms, tx.t(k.UpdatedAt), tx.tp(k.ExpiresAt), tx.tp(k.RevokedAt),
		k.RevokedBy, k.RevokeReason, meta, tx.tp(k.DisabledAt), k.ID)
	if err := mustAffect(res, err, k.ID); err != nil {
		return err
	}
	return tx.saveLimits(k)
}

// DeleteKey removes a key.
func (tx *Tx) DeleteKey(id string) error {
	res, err := tx.exec(`DELETE FROM api_keys WHERE id = ?`, id)
	return mustAffect(res, err, id)
}

func mustAffect(res sql.Result, err error, id string) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return notFound(id)
	}
	return nil
}

func notFound(id string) error {
	return apikey.Errorf(apikey.ENOTFOUND, "key %s not found", id)
}

// GetKey finds a key by id; tenant "" matches any tenant.
func (tx *Tx) GetKey(id, tenant string) (*apikey.Key, error) {
	q := `SELECT ` + keyColumns + ` FROM api_keys k WHERE k.id = ?`
	args := []any{strings.ToLower(id)}
	if tenant != "" {
		q += ` AND k.tenant_id = ?`
		args = append(args, tenant)
	}
	k, err := tx.one(q, args...)
	if errors.Is(err, sql.ErrNoRows) {
		if tenant != "" {
			return nil, apikey.Errorf(apikey.ENOTFOUND, "key %s not found in tenant %q", id, tenant)
		}
		return nil, notFound(id)
	}
	return k, err
}

func (tx *Tx) one(q string, args ...any) (*apikey.Key, error) {
	rows, err := tx.query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, sql.ErrNoRows
	}
	return scanKey(rows)
}

// CountActive counts a tenant's active keys of one owner (nil: no owner).
func (tx *Tx) CountActive(tenant string, owner *string) (int, error) {
	q := `SELECT COUNT(*) FROM api_keys WHERE tenant_id = ? AND revoked_at IS NULL
		AND (expires_at IS NULL OR expires_at > ?)`
	args := []any{tenant, tx.t(tx.now)}
	if owner == nil {
		q += ` AND owner_id IS NULL`
	} else {
		q += ` AND owner_id = ?`
		args = append(args, *owner)
	}
	var n int
	err := tx.q().QueryRowContext(tx.ctx, tx.db.Dialect.Rebind(q), args...).Scan(&n)
	return n, err
}

// GetKeys finds many keys by id in one query per few hundred ids.
func (tx *Tx) GetKeys(ids []string, tenant string) ([]*apikey.Key, error) {
	var keys []*apikey.Key
	for chunk := range slices.Chunk(ids, insertRows) {
		args := make([]any, 0, len(chunk)+1)
		for _, id := range chunk {
			args = append(args, strings.ToLower(id))
		}
		q := `SELECT ` + keyColumns + ` FROM api_keys k WHERE k.id IN (` + placeholders(len(chunk)) + `)`
		if tenant != "" {
			q += ` AND k.tenant_id = ?`
			args = append(args, tenant)
		}
		found, err := queryAll(tx, q, args, scanKey)
		if err != nil {
			return nil, err
		}
		keys = append(keys, found...)
	}
	return keys, nil
}

// RevokeKeys revokes many keys in one statement per few hundred ids, and
// returns the ids it revoked: a key another writer revoked meanwhile is
// not among them.
func (tx *Tx) RevokeKeys(ids []string, at time.Time, by string, reason *string) ([]string, error) {
	var done []string
	for chunk := range slices.Chunk(ids, insertRows) {
		args := []any{tx.t(at), by, reason, tx.t(at)}
		for _, id := range chunk {
			args = append(args, strings.ToLower(id))
		}
		revoked, err := queryAll(tx, `UPDATE api_keys SET revoked_at = ?, revoked_by = ?, revoke_reason = ?, updated_at = ?
			WHERE revoked_at IS NULL AND id IN (`+placeholders(len(chunk))+`) RETURNING id`, args,
			func(rows *sql.Rows) (id string, err error) { return id, rows.Scan(&id) })
		if err != nil {
			return nil, err
		}
		done = append(done, revoked...)
	}
	return done, nil
}

func encodeLists(k *apikey.Key) (perms, meta string, err error) {
	p, err := json.Marshal(k.Permissions)
	if err != nil {
		return "", "", err
	}
	m := k.Metadata
	if m == nil {
		m = map[string]string{}
	}
	mb, err := json.Marshal(m)
	return string(p), string(mb), err
}

func scanKey(rows *sql.Rows) (*apikey.Key, error) {
	var k apikey.Key
	var created, updated timeValue
	var expires, revoked, lastUsed, disabled nullTime
	var perms, meta []byte
	var ls limitScan
	err := rows.Scan(append([]any{&k.ID, &k.TenantID, &k.TeamID, &k.OwnerID, &k.Name, &k.Description, &perms,
		&k.Hint, &created, &k.CreatedBy, &updated, &expires, &revoked, &k.RevokedBy,
		&k.RevokeReason, &lastUsed, &meta, &k.RotatedFrom, &disabled, &k.SubType}, ls.targets()...)...)
	if err != nil {
		return nil, err
	}
	if err := ls.decode(k.ID, &k.Limits); err != nil {
		return nil, err
	}
	k.CreatedAt, k.UpdatedAt = created.t, updated.t
	k.ExpiresAt, k.RevokedAt, k.LastUsedAt, k.DisabledAt = expires.p, revoked.p, lastUsed.p, disabled.p
	if err := json.Unmarshal(perms, &k.Permissions); err != nil {
		return nil, fmt.Errorf("key %s permissions: %w", k.ID, err)
	}
	if err := json.Unmarshal(meta, &k.Metadata); err != nil {
		return nil, fmt.Errorf("key %s metadata: %w", k.ID, err)
	}
	return &k, nil
}

// subType is the stored subject type of k: user unless it says otherwise.
func subType(k *apikey.Key) string {
	if k.SubType == "" {
		return apikey.SubTypeUser
	}
	return k.SubType
}

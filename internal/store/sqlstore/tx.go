package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// Tx is an apikey.Tx on a database/sql transaction.
type Tx struct {
	tx   *sql.Tx // nil outside a transaction (Peek)
	ctx  context.Context
	db   *DB
	pool *sql.DB
	now  time.Time
	// stmts are the statements this transaction prepared, where the
	// dialect asks for it: a sweep runs the same few thousands of times.
	stmts map[string]*sql.Stmt
}

// prepare returns q prepared in the transaction, once, or nil where the
// dialect does not cache statements (pgx caches them per connection).
func (tx *Tx) prepare(q string) (*sql.Stmt, error) {
	if tx.tx == nil || !tx.db.Dialect.CacheStatements {
		return nil, nil
	}
	if st, ok := tx.stmts[q]; ok {
		return st, nil
	}
	st, err := tx.tx.PrepareContext(tx.ctx, q)
	if err != nil {
		return nil, err
	}
	if tx.stmts == nil {
		tx.stmts = map[string]*sql.Stmt{}
	}
	tx.stmts[q] = st
	return st, nil
}

// querier is what runs statements: the transaction, or the pool itself
// outside one.
type querier interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

func (tx *Tx) q() querier {
	if tx.tx == nil {
		return tx.pool
	}
	return tx.tx
}

// stmt binds a prepared statement to the transaction, if there is one.
func (tx *Tx) stmt(st *sql.Stmt) *sql.Stmt {
	if tx.tx == nil {
		return st
	}
	return tx.tx.StmtContext(tx.ctx, st)
}

// Now is the time the transaction started.
func (tx *Tx) Now() time.Time { return tx.now }

func (tx *Tx) exec(q string, args ...any) (sql.Result, error) {
	tx.db.debugSQL("exec", q)
	q = tx.db.Dialect.Rebind(q)
	if st, err := tx.prepare(q); err != nil {
		return nil, err
	} else if st != nil {
		return st.ExecContext(tx.ctx, args...)
	}
	return tx.q().ExecContext(tx.ctx, q, args...)
}

// hotQuery runs one of hotQueries, prepared once, where it was prepared.
func (tx *Tx) hotQuery(q string, args ...any) (*sql.Rows, error) {
	if st := tx.db.prepared(tx.pool, tx.db.Dialect.Rebind(q)); st != nil {
		tx.db.debugSQL("query (prepared)", q)
		return tx.stmt(st).QueryContext(tx.ctx, args...)
	}
	return tx.query(q, args...)
}

// hotExec is hotQuery for statements that return no rows.
func (tx *Tx) hotExec(q string, args ...any) (sql.Result, error) {
	if st := tx.db.prepared(tx.pool, tx.db.Dialect.Rebind(q)); st != nil {
		tx.db.debugSQL("exec (prepared)", q)
		return tx.stmt(st).ExecContext(tx.ctx, args...)
	}
	return tx.exec(q, args...)
}

func (tx *Tx) query(q string, args ...any) (*sql.Rows, error) {
	tx.db.debugSQL("query", q)
	q = tx.db.Dialect.Rebind(q)
	if st, err := tx.prepare(q); err != nil {
		return nil, err
	} else if st != nil {
		return st.QueryContext(tx.ctx, args...)
	}
	return tx.q().QueryContext(tx.ctx, q, args...)
}

func (tx *Tx) t(t time.Time) any { return tx.db.Dialect.Time(t) }

func (tx *Tx) tp(t *time.Time) any {
	if t == nil {
		return nil
	}
	return tx.t(*t)
}

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
	k.revoke_reason, k.last_used_at, k.metadata, k.rotated_from`

// The statements of the verify path, prepared once (see hotQueries). Their
// parameters are written +? (see Dialect.Rebind): on SQLite, an indexed
// column compared with a bare ? makes the plan depend on the bound value
// once ANALYZE has gathered STAT4 samples, and SQLite then parses and plans
// the statement again on every call, which cost verify 3–4× its floor.
const (
	queryKeyByHash = `SELECT k.id, k.tenant_id, k.team_id, k.owner_id, k.name, k.permissions,
		k.expires_at, k.revoked_at, t.value, g.value FROM api_keys k
		LEFT JOIN tenant_config t ON t.tenant_id = k.tenant_id AND t.name = +?
		LEFT JOIN tenant_config g ON g.tenant_id = '' AND g.name = +?
		WHERE k.key_hash = +?`
	execTouchKey = `UPDATE api_keys SET last_used_at = ? WHERE id = +?
		AND (last_used_at IS NULL OR last_used_at < ?)`
	queryConfigValues = `SELECT name, value FROM tenant_config WHERE tenant_id = +?`
)

// InsertKey stores a new key with the hash of its secret.
func (tx *Tx) InsertKey(k *apikey.Key, hash []byte) error {
	return tx.InsertKeys([]*apikey.Key{k}, [][]byte{hash})
}

const insertKeyColumns = `INSERT INTO api_keys (id, tenant_id, team_id, owner_id, name, description,
	permissions, hint, key_hash, created_at, created_by, updated_at, expires_at, revoked_at,
	revoked_by, revoke_reason, last_used_at, metadata, rotated_from) VALUES `

const keyValueRow = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// insertRows is how many keys one INSERT carries: 19 parameters each stay
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
		args := make([]any, 0, (end-start)*19)
		for i := start; i < end; i++ {
			k := keys[i]
			perms, meta, err := encodeLists(k)
			if err != nil {
				return err
			}
			rows = append(rows, keyValueRow)
			args = append(args, k.ID, k.TenantID, k.TeamID, k.OwnerID, k.Name, k.Description, perms, k.Hint, hashes[i],
				tx.t(k.CreatedAt), k.CreatedBy, tx.t(k.UpdatedAt), tx.tp(k.ExpiresAt), tx.tp(k.RevokedAt),
				k.RevokedBy, k.RevokeReason, tx.tp(k.LastUsedAt), meta, k.RotatedFrom)
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
		metadata = ? WHERE id = ?`,
		k.Name, k.Description, perms, tx.t(k.UpdatedAt), tx.tp(k.ExpiresAt), tx.tp(k.RevokedAt),
		k.RevokedBy, k.RevokeReason, meta, k.ID)
	return mustAffect(res, err, k.ID)
}

// DeleteKey removes a key.
func (tx *Tx) DeleteKey(id string) error {
	res, err := tx.exec(`DELETE FROM api_keys WHERE id = ?`, id)
	return mustAffect(res, err, id)
}

// TouchKey records a use, never moving last use backwards.
func (tx *Tx) TouchKey(id string, at time.Time) error {
	_, err := tx.hotExec(execTouchKey, tx.t(at), id, tx.t(at))
	return err
}

// oneLine folds a statement's white space for a log line. Only the SQL is
// logged, never its arguments, which may include a key's hash.
func oneLine(q string) string { return strings.Join(strings.Fields(q), " ") }

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

// KeyByHash finds a key's identity by the hash of its secret, with its
// tenant's and the global api_keys_enabled values, in one query.
func (tx *Tx) KeyByHash(hash []byte) (*apikey.Key, *string, *string, error) {
	rows, err := tx.hotQuery(queryKeyByHash, apikey.SettingKeysEnabled, apikey.SettingKeysEnabled, hash)
	if err != nil {
		return nil, nil, nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, nil, nil, err
		}
		return nil, nil, nil, apikey.Errorf(apikey.ENOTFOUND, "no key with that secret")
	}
	var k apikey.Key
	var perms []byte
	var expires, revoked nullTime
	var tenantEnabled, globalEnabled *string
	err = rows.Scan(&k.ID, &k.TenantID, &k.TeamID, &k.OwnerID, &k.Name, &perms, &expires, &revoked,
		&tenantEnabled, &globalEnabled)
	if err != nil {
		return nil, nil, nil, err
	}
	k.ExpiresAt, k.RevokedAt = expires.p, revoked.p
	if err := json.Unmarshal(perms, &k.Permissions); err != nil {
		return nil, nil, nil, fmt.Errorf("key %s permissions: %w", k.ID, err)
	}
	return &k, tenantEnabled, globalEnabled, nil
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

// sortExpr is the SQL value a key sorts by, for the table alias a.
func (tx *Tx) sortExpr(f apikey.SortField, a string, now any) (string, []any) {
	d := tx.db.Dialect
	switch f {
	case apikey.SortName:
		// The collation is part of the value, so the cursor comparison and
		// the order agree byte-wise on every engine.
		return a + ".name" + d.TextOrder, nil
	case apikey.SortStatus:
		return `CASE WHEN ` + a + `.revoked_at IS NOT NULL THEN 2 WHEN ` + a + `.expires_at IS NOT NULL AND ` +
			a + `.expires_at <= ? THEN 1 ELSE 0 END`, []any{now}
	case apikey.SortLastUsed:
		return `COALESCE(` + a + `.last_used_at, ` + d.LowTime + `)`, nil
	case apikey.SortExpires:
		return `COALESCE(` + a + `.expires_at, ` + d.HighTime + `)`, nil
	}
	return a + ".created_at", nil
}

// EachKey streams the keys a query selects, in order.
func (tx *Tx) EachKey(q apikey.ListQuery, fn func(*apikey.Key) error) error {
	now := tx.t(q.Now)
	var where []string
	var args []any
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	f := q.Filter
	if f.TenantID != "" {
		add(`k.tenant_id = ?`, f.TenantID)
	}
	if f.TeamID != "" {
		add(`k.team_id = ?`, f.TeamID)
	}
	if f.OwnerID != "" {
		add(`k.owner_id = ?`, f.OwnerID)
	}
	switch f.Status {
	case apikey.StatusActive:
		add(`k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?)`, now)
	case apikey.StatusExpired:
		add(`k.revoked_at IS NULL AND k.expires_at <= ?`, now)
	case apikey.StatusRevoked:
		add(`k.revoked_at IS NOT NULL`)
	}
	if f.UnusedSince != nil {
		t := tx.t(*f.UnusedSince)
		add(`(k.last_used_at < ? OR (k.last_used_at IS NULL AND k.created_at < ?))`, t, t)
	}
	if f.NeverUsed {
		add(`k.last_used_at IS NULL`)
	}
	if f.ExpiringBy != nil {
		add(`k.revoked_at IS NULL AND k.expires_at > ? AND k.expires_at <= ?`, now, tx.t(*f.ExpiringBy))
	}

	// Keyset pagination: the window starts just past the cursor key in the
	// order (sort value, id), read from the cursor row itself.
	desc := q.Sort.Desc
	cursor := q.After
	if q.Before != "" {
		cursor, desc = q.Before, !desc
	}
	expr, exprArgs := tx.sortExpr(q.Sort.Field, "k", now)
	if cursor != "" {
		if _, err := tx.GetKey(cursor, f.TenantID); err != nil {
			if apikey.ErrorCode(err) == apikey.ENOTFOUND {
				// A page's last key may have gone since the page was read.
				return apikey.Errorf(apikey.ENOTFOUND, "page cursor: %s (deleted since the page was read?); start again from the first page", apikey.ErrorMessage(err))
			}
			return err
		}
		cexpr, cargs := tx.sortExpr(q.Sort.Field, "c", now)
		op := ">"
		if desc {
			op = "<"
		}
		cond := `(` + expr + `, k.id) ` + op + ` (SELECT ` + cexpr + `, c.id FROM api_keys c WHERE c.id = ?)`
		add(cond, append(append(slices.Clone(exprArgs), cargs...), strings.ToLower(cursor))...)
	}

	sqlText := `SELECT ` + keyColumns + ` FROM api_keys k`
	if len(where) > 0 {
		sqlText += ` WHERE ` + strings.Join(where, ` AND `)
	}
	dir := " ASC"
	if desc {
		dir = " DESC"
	}
	sqlText += ` ORDER BY ` + expr + dir + `, k.id` + dir
	args = append(args, exprArgs...)
	if q.Limit > 0 {
		sqlText += fmt.Sprintf(` LIMIT %d`, q.Limit)
	}

	rows, err := tx.query(sqlText, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var backwards []*apikey.Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return err
		}
		if q.Before != "" {
			backwards = append(backwards, k)
			continue
		}
		if err := fn(k); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i := len(backwards) - 1; i >= 0; i-- {
		if err := fn(backwards[i]); err != nil {
			return err
		}
	}
	return nil
}

// ConfigValues returns the values set for a tenant ("" for global).
func (tx *Tx) ConfigValues(tenant string) (map[string]string, error) {
	rows, err := tx.hotQuery(queryConfigValues, tenant)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var n, v string
		if err := rows.Scan(&n, &v); err != nil {
			return nil, err
		}
		m[n] = v
	}
	return m, rows.Err()
}

// SetConfig sets one value.
func (tx *Tx) SetConfig(tenant, name, value string) error {
	_, err := tx.exec(`INSERT INTO tenant_config (tenant_id, name, value, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		tenant, name, value, tx.t(tx.now))
	return err
}

// UnsetConfig removes one value, reporting whether there was one.
func (tx *Tx) UnsetConfig(tenant, name string) (bool, error) {
	res, err := tx.exec(`DELETE FROM tenant_config WHERE tenant_id = ? AND name = ?`, tenant, name)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// AppendEvent appends an audit event.
func (tx *Tx) AppendEvent(e *apikey.AuditEvent) error {
	return tx.AppendEvents([]*apikey.AuditEvent{e})
}

// AppendEvents appends audit events with multi-row INSERTs.
func (tx *Tx) AppendEvents(events []*apikey.AuditEvent) error {
	for chunk := range slices.Chunk(events, insertRows) {
		rows := make([]string, 0, len(chunk))
		args := make([]any, 0, len(chunk)*6)
		for _, e := range chunk {
			details, err := json.Marshal(e.Details)
			if err != nil {
				return err
			}
			var tenant *string
			if e.TenantID != "" {
				tenant = &e.TenantID
			}
			rows = append(rows, `(?, ?, ?, ?, ?, ?)`)
			args = append(args, tx.t(e.Time), e.Actor, e.Action, tenant, e.KeyID, string(details))
		}
		_, err := tx.exec(`INSERT INTO audit_events (at, actor, action, tenant_id, key_id, details) VALUES `+
			strings.Join(rows, ", "), args...)
		if err != nil {
			return err
		}
	}
	return nil
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

// queryAll runs q and scans every row it returns.
func queryAll[T any](tx *Tx, q string, args []any, scan func(*sql.Rows) (T, error)) ([]T, error) {
	rows, err := tx.query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// placeholders is n comma-separated ? marks.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// EachEvent streams audit events, newest first.
func (tx *Tx) EachEvent(q apikey.EventQuery, fn func(*apikey.AuditEvent) error) error {
	var where []string
	var args []any
	add := func(cond string, a any) {
		where = append(where, cond)
		args = append(args, a)
	}
	if q.TenantID != "" {
		add(`tenant_id = ?`, q.TenantID)
	}
	if q.KeyID != "" {
		add(`key_id = ?`, strings.ToLower(q.KeyID))
	}
	if q.Actor != "" {
		add(`actor = ?`, q.Actor)
	}
	if q.Action != "" {
		add(`action = ?`, q.Action)
	}
	if q.Since != nil {
		add(`at >= ?`, tx.t(*q.Since))
	}
	sqlText := `SELECT id, at, actor, action, tenant_id, key_id, details FROM audit_events`
	if len(where) > 0 {
		sqlText += ` WHERE ` + strings.Join(where, ` AND `)
	}
	sqlText += ` ORDER BY id DESC`
	if q.Limit > 0 {
		sqlText += fmt.Sprintf(` LIMIT %d`, q.Limit)
	}
	rows, err := tx.query(sqlText, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var e apikey.AuditEvent
		var at timeValue
		var tenant sql.NullString
		var details []byte
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &tenant, &e.KeyID, &details); err != nil {
			return err
		}
		e.Time, e.TenantID = at.t, tenant.String
		if err := json.Unmarshal(details, &e.Details); err != nil {
			return fmt.Errorf("audit event %d: %w", e.ID, err)
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
	return rows.Err()
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
	var expires, revoked, lastUsed nullTime
	var perms, meta []byte
	err := rows.Scan(&k.ID, &k.TenantID, &k.TeamID, &k.OwnerID, &k.Name, &k.Description, &perms,
		&k.Hint, &created, &k.CreatedBy, &updated, &expires, &revoked, &k.RevokedBy,
		&k.RevokeReason, &lastUsed, &meta, &k.RotatedFrom)
	if err != nil {
		return nil, err
	}
	k.CreatedAt, k.UpdatedAt = created.t, updated.t
	k.ExpiresAt, k.RevokedAt, k.LastUsedAt = expires.p, revoked.p, lastUsed.p
	if err := json.Unmarshal(perms, &k.Permissions); err != nil {
		return nil, fmt.Errorf("key %s permissions: %w", k.ID, err)
	}
	if err := json.Unmarshal(meta, &k.Metadata); err != nil {
		return nil, fmt.Errorf("key %s metadata: %w", k.ID, err)
	}
	return &k, nil
}

// timeValue scans a time stored either as integer microseconds since the
// epoch (SQLite) or as a native timestamp (PostgreSQL).
type timeValue struct{ t time.Time }

func (v *timeValue) Scan(src any) error {
	switch s := src.(type) {
	case int64:
		v.t = time.UnixMicro(s).UTC()
	case time.Time:
		v.t = s.UTC()
	default:
		return fmt.Errorf("cannot scan %T as a time", src)
	}
	return nil
}

type nullTime struct{ p *time.Time }

func (v *nullTime) Scan(src any) error {
	if src == nil {
		v.p = nil
		return nil
	}
	var t timeValue
	if err := t.Scan(src); err != nil {
		return err
	}
	v.p = &t.t
	return nil
}

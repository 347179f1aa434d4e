package sqlstore

import (
	"slices"
	"strings"

	"github.com/keyadm/keyadm/internal/apikey"
)

// sortExpr is the SQL value a key sorts by, for the table alias a.
func (tx *Tx) sortExpr(f apikey.SortField, a string, now any) (string, []any) {
	d := tx.db.Dialect
	switch f {
	case apikey.SortName:
		// The collation is part of the value, so the cursor comparison and
		// the order agree byte-wise on every engine.
		return a + ".name" + d.TextOrder, nil
	case apikey.SortStatus:
		return `CASE WHEN ` + a + `.revoked_at IS NOT NULL THEN 3 WHEN ` + a + `.expires_at IS NOT NULL AND ` +
			a + `.expires_at <= ? THEN 2 WHEN ` + a + `.disabled_at IS NOT NULL THEN 1 ELSE 0 END`, []any{now}
	case apikey.SortLastUsed:
		return `COALESCE(` + a + `.last_used_at, ` + d.LowTime + `)`, nil
	case apikey.SortUses:
		return a + ".use_count", nil
	case apikey.SortExpires:
		return `COALESCE(` + a + `.expires_at, ` + d.HighTime + `)`, nil
	case apikey.SortOwner:
		return `COALESCE(` + a + `.owner_id, '')` + d.TextOrder, nil
	case apikey.SortCreatedBy:
		return a + ".created_by" + d.TextOrder, nil
	case apikey.SortDescription:
		return `COALESCE(` + a + `.description, '')` + d.TextOrder, nil
	}
	return a + ".created_at", nil
}

// EachKey streams the keys a query selects, in order.
func (tx *Tx) EachKey(q apikey.ListQuery, fn func(*apikey.Key) error) error {
	now := tx.t(q.Now)
	var sel selectQuery
	tx.filterKeys(&sel, q.Filter, now)

	// Keyset pagination: the window starts just past the cursor key in the
	// order (sort value, id), read from the cursor row itself.
	desc := q.Sort.Desc
	cursor := q.After
	if q.Before != "" {
		cursor, desc = q.Before, !desc
	}
	expr, exprArgs := tx.sortExpr(q.Sort.Field, "k", now)
	if cursor != "" {
		if err := tx.afterCursor(&sel, q, cursor, desc, expr, exprArgs, now); err != nil {
			return err
		}
	}
	dir := " ASC"
	if desc {
		dir = " DESC"
	}
	sqlText, args := sel.build(keyColumns, `api_keys k`, expr+dir+`, k.id`+dir, exprArgs, q.Limit)
	if q.Before == "" {
		return eachRow(tx, sqlText, args, scanKey, fn)
	}
	// A page before the cursor is read backwards, and handed on in order.
	backwards, err := queryAll(tx, sqlText, args, scanKey)
	if err != nil {
		return err
	}
	for i := len(backwards) - 1; i >= 0; i-- {
		if err := fn(backwards[i]); err != nil {
			return err
		}
	}
	return nil
}

// filterKeys adds the conditions of a key filter, at now.
func (tx *Tx) filterKeys(sel *selectQuery, f apikey.KeyFilter, now any) {
	if f.TenantID != "" {
		sel.add(`k.tenant_id = ?`, f.TenantID)
	}
	if f.TeamID != "" {
		sel.add(`k.team_id = ?`, f.TeamID)
	}
	if f.OwnerID != "" {
		sel.add(`k.owner_id = ?`, f.OwnerID)
	}
	if f.CreatedBy != "" {
		sel.add(`k.created_by = ?`, f.CreatedBy)
	}
	switch f.Status {
	case apikey.StatusActive:
		sel.add(`k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?) AND k.disabled_at IS NULL`, now)
	case apikey.StatusDisabled:
		sel.add(`k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?) AND k.disabled_at IS NOT NULL`, now)
	case apikey.StatusExpired:
		sel.add(`k.revoked_at IS NULL AND k.expires_at <= ?`, now)
	case apikey.StatusRevoked:
		sel.add(`k.revoked_at IS NOT NULL`)
	}
	if f.UnusedSince != nil {
		t := tx.t(*f.UnusedSince)
		sel.add(`(k.last_used_at < ? OR (k.last_used_at IS NULL AND k.created_at < ?))`, t, t)
	}
	if f.NeverUsed {
		sel.add(`k.last_used_at IS NULL`)
	}
	if f.ExpiringBy != nil {
		sel.add(`k.revoked_at IS NULL AND k.expires_at > ? AND k.expires_at <= ?`, now, tx.t(*f.ExpiringBy))
	}
}

// afterCursor adds the condition that starts a page just past the cursor
// key, in the order of expr (desc: descending).
func (tx *Tx) afterCursor(sel *selectQuery, q apikey.ListQuery, cursor string, desc bool, expr string, exprArgs []any, now any) error {
	if _, err := tx.GetKey(cursor, q.Filter.TenantID); err != nil {
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
	sel.add(cond, append(append(slices.Clone(exprArgs), cargs...), strings.ToLower(cursor))...)
	return nil
}

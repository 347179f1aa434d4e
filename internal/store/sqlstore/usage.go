package sqlstore

import (
	"database/sql"
	"strings"

	"github.com/keyadm/keyadm/internal/apikey"
)

// The statement of usage, prepared once (see hotQueries): keyadm verify
// runs it for its one key; serve's flush batches it (RecordActivity).
const (
	usageConflict = ` ON CONFLICT (key_id, hour, outcome) DO UPDATE SET count = key_usage.count + excluded.count`
	execAddUsage  = `INSERT INTO key_usage (key_id, tenant_id, hour, outcome, count) VALUES (?, ?, ?, ?, ?)` + usageConflict
)

// EachUsage streams usage counts by key, then hour, then outcome.
func (tx *Tx) EachUsage(q apikey.UsageQuery, fn func(apikey.UsageCount) error) error {
	var sel selectQuery
	if q.TenantID != "" {
		sel.add(`u.tenant_id = ?`, q.TenantID)
	}
	if q.KeyID != "" {
		sel.add(`u.key_id = ?`, strings.ToLower(q.KeyID))
	}
	if !q.Since.IsZero() {
		sel.add(`u.hour >= ?`, tx.t(q.Since))
	}
	text, args := sel.build(`u.key_id, u.tenant_id, u.hour, u.outcome, u.count`, `key_usage u`,
		`u.key_id, u.hour, u.outcome`, nil, 0)
	return eachRow(tx, text, args, func(rows *sql.Rows) (apikey.UsageCount, error) {
		var c apikey.UsageCount
		var hour timeValue
		err := rows.Scan(&c.KeyID, &c.TenantID, &hour, &c.Outcome, &c.Count)
		c.Hour = hour.t
		return c, err
	}, fn)
}

package sqlstore

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/keyadm/keyadm/internal/apikey"
)

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

// EachEvent streams audit events, newest first.
func (tx *Tx) EachEvent(q apikey.EventQuery, fn func(*apikey.AuditEvent) error) error {
	var sel selectQuery
	if q.TenantID != "" {
		sel.add(`tenant_id = ?`, q.TenantID)
	}
	if q.KeyID != "" {
		sel.add(`key_id = ?`, strings.ToLower(q.KeyID))
	}
	if q.Actor != "" {
		sel.add(`actor = ?`, q.Actor)
	}
	if q.Action != "" {
		sel.add(`action = ?`, q.Action)
	}
	if q.Since != nil {
		sel.add(`at >= ?`, tx.t(*q.Since))
	}
	sqlText, args := sel.build(`id, at, actor, action, tenant_id, key_id, details`, `audit_events`, `id DESC`, nil, q.Limit)
	return eachRow(tx, sqlText, args, scanEvent, fn)
}

func scanEvent(rows *sql.Rows) (*apikey.AuditEvent, error) {
	var e apikey.AuditEvent
	var at timeValue
	var tenant sql.NullString
	var details []byte
	if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &tenant, &e.KeyID, &details); err != nil {
		return nil, err
	}
	e.Time, e.TenantID = at.t, tenant.String
	if err := json.Unmarshal(details, &e.Details); err != nil {
		return nil, fmt.Errorf("audit event %d: %w", e.ID, err)
	}
	return &e, nil
}

package apikey

import (
	"context"
	"slices"
	"strings"
)

// ValidateAction checks an audit action to filter by ("" for any).
func ValidateAction(action string) error {
	if action != "" && !slices.Contains(Actions, action) {
		return Errorf(EINVALID, "invalid action %s: want one of %s", Quote(action), strings.Join(Actions, ", "))
	}
	return nil
}

// Events streams audit events, newest first.
func (s *Service) Events(ctx context.Context, q EventQuery, fn func(*AuditEvent) error) error {
	if err := ValidateAction(q.Action); err != nil {
		return err
	}
	if q.KeyID != "" {
		if err := ValidateKeyID(q.KeyID); err != nil {
			return err
		}
	}
	return s.Store.View(ctx, func(tx Tx) error { return tx.EachEvent(q, fn) })
}

func appendEvent(tx Tx, actor, action string, k *Key, details map[string]any) error {
	id := k.ID
	return tx.AppendEvent(&AuditEvent{Time: tx.Now(), Actor: actor, Action: action, TenantID: k.TenantID, KeyID: &id, Details: details})
}

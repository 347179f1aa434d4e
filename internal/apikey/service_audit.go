package apikey

import (
	"context"
	"slices"
	"strings"
)

// ValidateAction checks an audit action to filter by ("" for any).
func ValidateAction(action string) error {
	if action != "" && !slices.Contains(Actions, action) {
		return Errorf(EINVALID, "invalid action %s: want one of %s", Quote(action), actionList())
	}
	return nil
}

// actionList names every action, a family at a time (key.create|update|…),
// so the message stays one short line as actions are added.
func actionList() string {
	var families []string
	verbs := map[string][]string{}
	for _, a := range Actions {
		family, verb, _ := strings.Cut(a, ".")
		if verbs[family] == nil {
			families = append(families, family)
		}
		verbs[family] = append(verbs[family], verb)
	}
	for i, f := range families {
		families[i] = f + "." + strings.Join(verbs[f], "|")
	}
	return strings.Join(families, ", ")
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

package apikey

import (
	"context"
	"strings"
	"time"
)

// Revoke revokes keys, all or none. A key already revoked stays as it was.
func (s *Service) Revoke(ctx context.Context, tenant string, ids []string, reason, actor string) ([]*Key, time.Time, error) {
	ids = UniqueIDs(ids)
	if err := ValidateKeyIDs(ids); err != nil {
		return nil, time.Time{}, err
	}
	if err := ValidateText("reason", reason, 0, MaxReasonLen); err != nil {
		return nil, time.Time{}, err
	}
	var keys []*Key
	var now time.Time
	err := s.Store.Update(ctx, func(tx Tx) error {
		now = tx.Now()
		found, err := tx.GetKeys(ids, tenant)
		if err != nil {
			return err
		}
		byID := make(map[string]*Key, len(found))
		for _, k := range found {
			byID[k.ID] = k
		}
		var fresh []*Key
		for _, id := range ids {
			k := byID[strings.ToLower(id)]
			if k == nil {
				_, err := tx.GetKey(id, tenant) // the not-found error, worded as everywhere
				return err
			}
			keys = append(keys, k)
			if k.RevokedAt == nil {
				fresh = append(fresh, k)
			}
		}
		_, err = revokeKeys(tx, fresh, now, actor, reason, nil)
		return err
	})
	return keys, now, err
}

// revokeKeys revokes keys not yet revoked in one write, with one event
// for each key it revoked (the reason, plus details), updates those keys
// to match, and returns them: a key another writer revoked meanwhile is
// left, without an event.
func revokeKeys(tx Tx, keys []*Key, now time.Time, actor, reason string, details map[string]any) ([]*Key, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	ids := make([]string, 0, len(keys))
	for _, k := range keys {
		ids = append(ids, k.ID)
	}
	revoked, err := tx.RevokeKeys(ids, now, actor, optional(reason))
	if err != nil {
		return nil, err
	}
	done := make(map[string]bool, len(revoked))
	for _, id := range revoked {
		done[id] = true
	}
	var out []*Key
	var events []*AuditEvent
	for _, k := range keys {
		if !done[k.ID] {
			continue
		}
		k.RevokedAt, k.RevokedBy, k.RevokeReason = &now, &actor, optional(reason)
		k.UpdatedAt = now
		d := map[string]any{"reason": k.RevokeReason}
		for name, v := range details {
			d[name] = v
		}
		id := k.ID
		events = append(events, &AuditEvent{Time: now, Actor: actor, Action: ActionKeyRevoke, TenantID: k.TenantID, KeyID: &id, Details: d})
		out = append(out, k)
	}
	return out, tx.AppendEvents(events)
}

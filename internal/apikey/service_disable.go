package apikey

import (
	"context"
	"strings"
	"time"
)

// SetKeysDisabled pauses (disabled) or restores keys, all or none, each
// change with its event. A paused key is rejected (reason disabled) from
// its next verify until it is enabled; it keeps everything else, and
// still counts toward max_keys_per_user. A revoked key is refused: revoke
// is permanent. A key already as asked stays as it is, without an event.
func (s *Service) SetKeysDisabled(ctx context.Context, tenant string, ids []string, disabled bool, actor string) ([]*Key, time.Time, error) {
	ids = UniqueIDs(ids)
	if err := ValidateKeyIDs(ids); err != nil {
		return nil, time.Time{}, err
	}
	action := ActionKeyEnable
	if disabled {
		action = ActionKeyDisable
	}
	var keys []*Key
	var now time.Time
	err := s.Store.Update(ctx, func(tx Tx) error {
		now = tx.Now()
		for _, id := range ids {
			k, err := tx.GetKey(id, tenant)
			if err != nil {
				return err
			}
			if k.RevokedAt != nil {
				return Errorf(EPOLICY, "key %s is revoked, and revoke is permanent; cannot %s it", k.ID, strings.TrimPrefix(action, "key."))
			}
			keys = append(keys, k)
			if (k.DisabledAt != nil) == disabled {
				continue
			}
			k.DisabledAt = nil
			if disabled {
				k.DisabledAt = &now
			}
			k.UpdatedAt = now
			if err := tx.SaveKey(k); err != nil {
				return err
			}
			if err := appendEvent(tx, actor, action, k, map[string]any{"name": k.Name}); err != nil {
				return err
			}
		}
		return nil
	})
	return keys, now, err
}

package apikey

import (
	"context"
	"time"
)

// Verify checks a plaintext key and records its use. A malformed key is
// rejected before any database read. With a tenant, another tenant's key
// is unknown, and its use is not recorded.
func (s *Service) Verify(ctx context.Context, tenant, plaintext string) (*Key, time.Time, error) {
	k, _, err := s.check(ctx, tenant, plaintext)
	if err != nil {
		return nil, time.Time{}, err
	}
	var now time.Time
	err = s.Store.Update(ctx, func(tx Tx) error {
		now = tx.Now()
		if err := spend(tx, k, now, &Admission{}); err != nil {
			return err
		}
		if err := tx.TouchKey(k.ID, now); err != nil {
			return err
		}
		if err := tx.AddUsage([]UsageCount{{KeyID: k.ID, TenantID: k.TenantID, Hour: now, Outcome: OutcomeValid, Count: 1}}); err != nil {
			return err
		}
		k, err = tx.GetKey(k.ID, "") // the whole record, as it now stands
		return err
	})
	return k, now, err
}

// Check is Verify without recording the use, for callers that record
// uses themselves (the HTTP server coalesces them). It reads the store on
// every call: no cache can serve a revoked key. The key it returns holds
// its identity only (see Tx.KeyByHash); a known key that is rejected
// (revoked, expired) comes back with the rejection, for usage counts.
func (s *Service) Check(ctx context.Context, plaintext string) (*Key, time.Time, error) {
	return s.check(ctx, "", plaintext)
}

// check verifies a key; with a tenant, another tenant's key is unknown,
// whatever its state, so nothing of it is revealed.
func (s *Service) check(ctx context.Context, tenant, plaintext string) (*Key, time.Time, error) {
	secret, err := ParseSecret(plaintext)
	if err != nil {
		return nil, time.Time{}, err
	}
	var k *Key
	var now time.Time
	// One read: no transaction needed, and none paid for.
	err = s.Store.Peek(ctx, func(tx Tx) error {
		now = tx.Now()
		var tenantEnabled, globalEnabled *string
		k, tenantEnabled, globalEnabled, err = tx.KeyByHash(secret.Hash())
		if ErrorCode(err) == ENOTFOUND || (err == nil && tenant != "" && k.TenantID != tenant) {
			return Rejectf(ReasonUnknown, "key rejected: unknown key")
		} else if err != nil {
			return err
		}
		switch k.StatusAt(now) {
		case StatusRevoked:
			return Rejectf(ReasonRevoked, "key rejected: key %s was revoked", k.ID)
		case StatusExpired:
			return Rejectf(ReasonExpired, "key rejected: key %s expired %s", k.ID, k.ExpiresAt.UTC().Format(time.RFC3339))
		}
		cfg := ResolveConfig(k.TenantID, oneSetting(SettingKeysEnabled, globalEnabled), oneSetting(SettingKeysEnabled, tenantEnabled))
		if !cfg.KeysEnabled() {
			return Rejectf(ReasonDisabled, "key rejected: API keys are disabled for tenant %q", k.TenantID)
		}
		return nil
	})
	if err != nil && ErrorCode(err) == EREJECTED && k != nil && (tenant == "" || k.TenantID == tenant) {
		return k, now, err
	} else if err != nil {
		return nil, time.Time{}, err
	}
	return k, now, nil
}

// Touch records the last use of many keys in one transaction; a time
// never moves a key's last use backwards, and deleted keys are skipped.
func (s *Service) Touch(ctx context.Context, uses map[string]time.Time) error {
	if len(uses) == 0 {
		return nil
	}
	return s.Store.Update(ctx, func(tx Tx) error {
		for id, at := range uses {
			if err := tx.TouchKey(id, at); err != nil {
				return err
			}
		}
		return nil
	})
}

// oneSetting is a one-entry config map, or nil for a value not set.
func oneSetting(name string, value *string) map[string]string {
	if value == nil {
		return nil
	}
	return map[string]string{name: *value}
}

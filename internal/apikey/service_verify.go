package apikey

import (
	"context"
	"net/netip"
	"strings"
	"time"
)

// Verify checks a plaintext key, and that it grants every one of the
// required permissions, and records its use. A malformed key is rejected
// before any database read. With a tenant, another tenant's key is
// unknown, and its use is not recorded. The key it returns holds its
// effective permissions (Key.Effective).
func (s *Service) Verify(ctx context.Context, tenant, plaintext string, required ...string) (*Key, time.Time, error) {
	k, _, err := s.check(ctx, tenant, plaintext, netip.Addr{}, required)
	if err != nil {
		s.countRejected(ctx, k, err)
		return nil, time.Time{}, err
	}
	effective := k.Effective
	var now time.Time
	known := k
	err = s.Store.Update(ctx, func(tx Tx) error {
		now = tx.Now()
		if err := spend(tx, k, now, &Admission{}); err != nil {
			return err
		}
		err := tx.RecordActivity(Activity{Uses: map[string]time.Time{k.ID: now},
			Counts: []UsageCount{{KeyID: k.ID, TenantID: k.TenantID, Hour: now, Outcome: OutcomeValid, Count: 1}}})
		if err != nil {
			return err
		}
		k, err = tx.GetKey(k.ID, "") // the whole record, as it now stands
		return err
	})
	if err != nil {
		if ErrorReason(err) == ReasonUsageExceeded {
			s.countRejected(ctx, known, err) // counted apart: spend's rollback took the count
		}
		return nil, time.Time{}, err
	}
	k.Effective = effective
	return k, now, nil
}

// countRejected counts a known key's rejection in its usage by reason, as
// serve does: usage is every verification by outcome, not only the valid
// ones. Best effort: the rejection is the answer, and a store that cannot
// take the count must not hide it.
func (s *Service) countRejected(ctx context.Context, k *Key, rejection error) {
	reason := ErrorReason(rejection)
	if k == nil || k.ID == "" || reason == "" {
		return
	}
	_ = s.Store.Update(ctx, func(tx Tx) error {
		return tx.RecordActivity(Activity{Counts: []UsageCount{{KeyID: k.ID, TenantID: k.TenantID, Hour: tx.Now(), Outcome: reason, Count: 1}}})
	})
}

// Check is Verify without recording the use, for callers that record
// uses themselves (the HTTP server coalesces them). It reads the store on
// every call: no cache can serve a revoked key. The key it returns holds
// its identity only (see Tx.KeyByHash) and its effective permissions; a
// known key that is rejected (revoked, expired, …) comes back with the
// rejection, for usage counts.
func (s *Service) Check(ctx context.Context, plaintext string, required ...string) (*Key, time.Time, error) {
	return s.check(ctx, "", plaintext, netip.Addr{}, required)
}

// CheckFrom is Check of a request from a client address: a key with an
// allowlist refuses any other (ip_not_allowed).
func (s *Service) CheckFrom(ctx context.Context, plaintext string, client netip.Addr, required ...string) (*Key, time.Time, error) {
	return s.check(ctx, "", plaintext, client, required)
}

// check verifies a key; with a tenant, another tenant's key is unknown,
// whatever its state, so nothing of it is revealed.
func (s *Service) check(ctx context.Context, tenant, plaintext string, client netip.Addr, required []string) (*Key, time.Time, error) {
	required, err := ValidatePermissions(required)
	if err != nil {
		return nil, time.Time{}, err
	}
	secret, err := ParseSecret(plaintext)
	if err != nil {
		return nil, time.Time{}, err
	}
	var k *Key
	var now time.Time
	// One read: no transaction needed, and none paid for.
	err = s.Store.Peek(ctx, func(tx Tx) error {
		now = tx.Now()
		g, err := tx.KeyByHash(secret.Hash())
		if ErrorCode(err) == ENOTFOUND || (err == nil && tenant != "" && g.Key.TenantID != tenant) {
			return Rejectf(ReasonUnknown, "key rejected: unknown key")
		} else if err != nil {
			return err
		}
		k = g.Key
		return authorize(g, now, client, required)
	})
	if err != nil && ErrorCode(err) == EREJECTED && k != nil && (tenant == "" || k.TenantID == tenant) {
		return k, now, err
	} else if err != nil {
		return nil, time.Time{}, err
	}
	return k, now, nil
}

// authorize decides whether a found key grants access at now, to the
// client (the zero address: any), with the required permissions, and sets
// its effective permissions. The permanent refusals come first (see
// Key.StatusAt), then the pauses: the key's, its tenant's, its owner's and
// its team's; then the allowlist, before the permissions, so a client the
// key refuses learns nothing of what it grants. (The limits that spend,
// rate limits then credits, come after all these: see Admit.)
func authorize(g *KeyGrant, now time.Time, client netip.Addr, required []string) error {
	k := g.Key
	switch k.StatusAt(now) {
	case StatusRevoked:
		return Rejectf(ReasonRevoked, "key rejected: key %s was revoked", k.ID)
	case StatusExpired:
		return Rejectf(ReasonExpired, "key rejected: key %s expired %s", k.ID, k.ExpiresAt.UTC().Format(time.RFC3339))
	case StatusDisabled:
		return Rejectf(ReasonDisabled, "key rejected: key %s is disabled (keyadm enable %s restores it)", k.ID, k.ID)
	}
	if enabled, _ := layered(SettingKeysEnabled, k.TenantID, g.GlobalEnabled, g.TenantEnabled); enabled != "true" {
		return Rejectf(ReasonDisabled, "key rejected: API keys are disabled for tenant %q", k.TenantID)
	}
	for _, p := range []*Principal{g.Owner, g.Team} {
		if p != nil && !p.Enabled {
			return Rejectf(ReasonDisabled, "key rejected: key %s's %s %s is disabled", k.ID, p.Kind.Role(), Quote(p.ID))
		}
	}
	if client.IsValid() && !k.AllowsIP(client) {
		return Rejectf(ReasonIPNotAllowed, "key rejected: key %s may not be used from %s", k.ID, client)
	}
	if g.Owner != nil {
		k.OwnerRateLimits = g.Owner.RateLimits
	}
	ceiling, _ := layered(SettingPermissions, k.TenantID, g.GlobalCeiling, g.TenantCeiling)
	k.Effective = Authority{Own: k.Permissions, Owner: g.Owner, Team: g.Team, Ceiling: ParsePermissionList(ceiling)}.Effective()
	if miss := Missing(k.Effective, required); len(miss) > 0 {
		e := Rejectf(ReasonInsufficient, "key rejected (insufficient_permissions): key %s lacks %s", k.ID, strings.Join(miss, ", "))
		e.Meta = map[string]any{"missing": miss}
		return e
	}
	return nil
}

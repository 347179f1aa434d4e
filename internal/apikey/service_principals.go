package apikey

import (
	"context"
	"slices"
	"time"
)

// The audit actions of each kind of principal.
var principalActions = map[PrincipalKind]struct{ add, update, disable, enable, remove string }{
	KindUser: {ActionUserAdd, ActionUserUpdate, ActionUserDisable, ActionUserEnable, ActionUserRemove},
	KindTeam: {ActionTeamAdd, ActionTeamUpdate, ActionTeamDisable, ActionTeamEnable, ActionTeamRemove},
}

// principalTenant is the tenant of a user or team command: the given one,
// or DefaultTenant (principal ids are unique per tenant only).
func principalTenant(kind PrincipalKind, tenant, id string) (string, error) {
	if tenant == "" {
		tenant = DefaultTenant
	}
	if err := ValidateID("tenant", tenant); err != nil {
		return "", err
	}
	return tenant, validatePrincipalID(kind, id)
}

// AddPrincipal registers a user or team in a tenant ("": DefaultTenant).
func (s *Service) AddPrincipal(ctx context.Context, kind PrincipalKind, tenant, id string, in PrincipalInput) (*Principal, error) {
	tenant, err := principalTenant(kind, tenant, id)
	if err != nil {
		return nil, err
	}
	if err := in.Validate(kind, true); err != nil {
		return nil, err
	}
	var p *Principal
	err = s.Store.Update(ctx, func(tx Tx) error {
		now := tx.Now()
		p = &Principal{Kind: kind, TenantID: tenant, ID: id, Name: nonEmpty(in.Name), Email: nonEmpty(in.Email),
			Permissions: in.Permissions, Enabled: true, CreatedAt: now, CreatedBy: in.Actor, UpdatedAt: now,
			RateLimits: in.RateLimits}
		if err := tx.InsertPrincipal(p); err != nil {
			return err
		}
		details := map[string]any{"name": p.Name, "permissions": p.Permissions}
		if kind == KindUser {
			details["email"] = p.Email
			if len(p.RateLimits) > 0 {
				details["rateLimits"] = strs(p.RateLimits)
			}
		}
		return appendPrincipalEvent(tx, in.Actor, principalActions[kind].add, p, details)
	})
	return p, err
}

// GetPrincipal returns one user or team of a tenant ("": DefaultTenant).
func (s *Service) GetPrincipal(ctx context.Context, kind PrincipalKind, tenant, id string) (*Principal, time.Time, error) {
	tenant, err := principalTenant(kind, tenant, id)
	if err != nil {
		return nil, time.Time{}, err
	}
	var p *Principal
	var now time.Time
	err = s.Store.View(ctx, func(tx Tx) (err error) {
		now = tx.Now()
		p, err = tx.GetPrincipal(kind, tenant, id)
		return err
	})
	return p, now, err
}

// ListPrincipals streams a tenant's users or teams ("": every tenant's).
func (s *Service) ListPrincipals(ctx context.Context, kind PrincipalKind, tenant string, fn func(*Principal) error) error {
	if tenant != "" {
		if err := ValidateID("tenant", tenant); err != nil {
			return err
		}
	}
	return s.Store.View(ctx, func(tx Tx) error { return tx.EachPrincipal(kind, tenant, fn) })
}

// UpdatePrincipal changes a user's or team's name, email or permissions,
// or a user's rate limits.
// Its keys follow at their next verify; a key's own scope beyond the new
// set is narrowed there, not refused here.
func (s *Service) UpdatePrincipal(ctx context.Context, kind PrincipalKind, tenant, id string, in PrincipalInput) (*Principal, error) {
	tenant, err := principalTenant(kind, tenant, id)
	if err != nil {
		return nil, err
	}
	if err := in.Validate(kind, false); err != nil {
		return nil, err
	}
	return s.changePrincipal(ctx, kind, tenant, id, in.Actor, principalActions[kind].update, func(p *Principal, change func(string, any, any)) {
		if in.Name != nil && deref(in.Name) != deref(p.Name) {
			change("name", p.Name, nonEmpty(in.Name))
			p.Name = nonEmpty(in.Name)
		}
		if in.Email != nil && deref(in.Email) != deref(p.Email) {
			change("email", p.Email, nonEmpty(in.Email))
			p.Email = nonEmpty(in.Email)
		}
		if in.Permissions != nil && !slices.Equal(in.Permissions, p.Permissions) {
			change("permissions", p.Permissions, in.Permissions)
			p.Permissions = in.Permissions
		}
		replaceList("rateLimits", in.RateLimits, in.ClearRateLimits, &p.RateLimits, change)
	})
}

// SetPrincipalEnabled pauses (false) or restores (true) every key of a
// user or team, from their next verify. Setting it as it is changes
// nothing and writes no event.
func (s *Service) SetPrincipalEnabled(ctx context.Context, kind PrincipalKind, tenant, id string, enabled bool, actor string) (*Principal, error) {
	tenant, err := principalTenant(kind, tenant, id)
	if err != nil {
		return nil, err
	}
	action := principalActions[kind].disable
	if enabled {
		action = principalActions[kind].enable
	}
	return s.changePrincipal(ctx, kind, tenant, id, actor, action, func(p *Principal, change func(string, any, any)) {
		if p.Enabled != enabled {
			change("enabled", p.Enabled, enabled)
			p.Enabled = enabled
		}
	})
}

// changePrincipal reads a principal, applies edit, and, if edit changed
// anything, saves it with one event of the changes.
func (s *Service) changePrincipal(ctx context.Context, kind PrincipalKind, tenant, id, actor, action string,
	edit func(p *Principal, change func(field string, old, new any))) (*Principal, error) {
	var p *Principal
	err := s.Store.Update(ctx, func(tx Tx) (err error) {
		if p, err = tx.GetPrincipal(kind, tenant, id); err != nil {
			return err
		}
		changes := map[string]any{}
		edit(p, func(field string, old, new any) { changes[field] = map[string]any{"old": old, "new": new} })
		if len(changes) == 0 {
			return nil
		}
		p.UpdatedAt = tx.Now()
		if err := tx.SavePrincipal(p); err != nil {
			return err
		}
		return appendPrincipalEvent(tx, actor, action, p, map[string]any{"changes": changes})
	})
	return p, err
}

// RemovePrincipal removes a user or team. One that an unrevoked key still
// names is refused by policy: its keys would silently lose the limits it
// puts on them (a free owner id grants the key's own scope in full).
func (s *Service) RemovePrincipal(ctx context.Context, kind PrincipalKind, tenant, id, actor string) (*Principal, error) {
	tenant, err := principalTenant(kind, tenant, id)
	if err != nil {
		return nil, err
	}
	var p *Principal
	err = s.Store.Update(ctx, func(tx Tx) (err error) {
		if p, err = tx.GetPrincipal(kind, tenant, id); err != nil {
			return err
		}
		n, err := tx.CountKeysOf(kind, tenant, id)
		if err != nil {
			return err
		}
		if n > 0 {
			them := "them"
			if n == 1 {
				them = "it"
			}
			return Errorf(EPOLICY, "%s %s of tenant %q still has %s; revoke or delete %s first (keyadm list --tenant %s --%s %s)",
				kind, Quote(id), tenant, Count(n, "unrevoked key"), them, tenant, kind.Role(), id)
		}
		if err := tx.DeletePrincipal(kind, tenant, id); err != nil {
			return err
		}
		return appendPrincipalEvent(tx, actor, principalActions[kind].remove, p, map[string]any{"permissions": p.Permissions})
	})
	return p, err
}

// appendPrincipalEvent records a change to a user or team: its id under
// the kind's name ("user": "alice") among the details.
func appendPrincipalEvent(tx Tx, actor, action string, p *Principal, details map[string]any) error {
	details[string(p.Kind)] = p.ID
	return tx.AppendEvent(&AuditEvent{Time: tx.Now(), Actor: actor, Action: action, TenantID: p.TenantID, Details: details})
}

func nonEmpty(s *string) *string {
	if s == nil {
		return nil
	}
	return optional(*s)
}

package apikey

import (
	"context"
	"maps"
	"slices"
	"time"
)

// Expiry is an optional expiry request: a duration from now, a time, or
// (for updates) none at all.
type Expiry struct {
	In   *time.Duration
	At   *time.Time
	None bool
}

func (e Expiry) set() bool { return e.In != nil || e.At != nil || e.None }

// CreateInput describes a new key.
type CreateInput struct {
	TenantID    string
	TeamID      string
	OwnerID     string
	Name        string
	Description string
	Permissions []string
	Expiry      Expiry
	Metadata    map[string]string
	Limits      LimitsInput
	// SubType is SubTypeUser (the default) or SubTypeExternalClient.
	SubType string
	Actor   string
}

// Validate checks the input without touching a store.
func (in *CreateInput) Validate() error {
	if err := in.Limits.validate(); err != nil {
		return err
	}
	if in.TenantID == "" {
		in.TenantID = DefaultTenant
	}
	if err := ValidateID("tenant", in.TenantID); err != nil {
		return err
	}
	if in.TeamID != "" {
		if err := ValidateID("team", in.TeamID); err != nil {
			return err
		}
	}
	if err := ValidateText("owner", in.OwnerID, 0, MaxSubjectLen); err != nil {
		return err
	}
	if err := ValidateName(in.Name); err != nil {
		return err
	}
	if err := ValidateText("description", in.Description, 0, MaxDescriptionLen); err != nil {
		return err
	}
	// No permissions: the key inherits, or gets the default (see Create).
	perms, err := ValidatePermissions(in.Permissions)
	if err != nil {
		return err
	}
	in.Permissions = perms
	if in.Expiry.None {
		return Errorf(EINVALID, "a new key has no expiry unless one is given; %s is for update", Field("noExpiry"))
	}
	if in.Expiry.In != nil && in.Expiry.At != nil {
		return Errorf(EINVALID, "give %s or %s, not both", Field("expiresIn"), Field("expiresAt"))
	}
	if err := positive("expiresIn", in.Expiry.In); err != nil {
		return err
	}
	if in.SubType, err = ParseSubType(in.SubType); err != nil {
		return err
	}
	return ValidateMetadata(in.Metadata)
}

// Created is a new key and its secret. The secret exists only here.
type Created struct {
	Key    *Key
	Secret Secret
}

// Create makes a key under the tenant's policy. The secret is returned only
// after the transaction that stores its hash has committed.
func (s *Service) Create(ctx context.Context, in CreateInput) (*Created, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var out *Created
	err := s.Store.Update(ctx, func(tx Tx) error {
		cfg, err := tenantConfig(tx, in.TenantID)
		if err != nil {
			return err
		}
		if err := keysEnabled(cfg, in.TenantID); err != nil {
			return err
		}
		owner := optional(in.OwnerID)
		if err := checkQuota(tx, cfg, in.TenantID, owner); err != nil {
			return err
		}
		perms, err := keyScope(tx, in.TenantID, owner, optional(in.TeamID), in.Permissions)
		if err != nil {
			return err
		}
		k := &Key{
			TenantID:    in.TenantID,
			TeamID:      optional(in.TeamID),
			OwnerID:     owner,
			Name:        in.Name,
			Description: optional(in.Description),
			Permissions: perms,
			CreatedBy:   in.Actor,
			Metadata:    in.Metadata,
			SubType:     in.SubType,
		}
		details := map[string]any{}
		in.Limits.apply(k, tx.Now(), func(field string, _, new any) { details[field] = new })
		out, err = s.insertNew(tx, cfg, k, in.Expiry, details)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// keyScope is the own scope of a key of that owner and team: without
// permissions given, nothing (it inherits) where the owner or the team is
// registered, else DefaultPermissions; with permissions, those, if the
// registered owner and team hold them all.
func keyScope(tx Tx, tenant string, owner, team *string, perms []string) ([]string, error) {
	u, err := registered(tx, KindUser, tenant, owner)
	if err != nil {
		return nil, err
	}
	t, err := registered(tx, KindTeam, tenant, team)
	if err != nil {
		return nil, err
	}
	if len(perms) == 0 {
		if u != nil || t != nil {
			return []string{}, nil
		}
		return DefaultPermissions, nil
	}
	return perms, checkWithin(perms, u, t)
}

// registered is the tenant's user or team of that id, or nil where the id
// is absent or free (not registered).
func registered(tx Tx, kind PrincipalKind, tenant string, id *string) (*Principal, error) {
	if id == nil {
		return nil, nil
	}
	p, err := tx.GetPrincipal(kind, tenant, *id)
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil
	}
	return p, err
}

// keysEnabled refuses new keys for a tenant whose api_keys_enabled is false.
func keysEnabled(cfg TenantConfig, tenant string) error {
	if !cfg.KeysEnabled() {
		return Errorf(EPOLICY, "API keys are disabled for tenant %q (api_keys_enabled=false)", tenant)
	}
	return nil
}

// checkQuota refuses a new key beyond max_keys_per_user, holding the
// owner's lock (where the engine needs one) until the transaction ends.
func checkQuota(tx Tx, cfg TenantConfig, tenant string, owner *string) error {
	max := cfg.MaxKeysPerUser()
	if max <= 0 {
		return nil
	}
	if err := tx.LockOwner(tenant, owner); err != nil {
		return err
	}
	n, err := tx.CountActive(tenant, owner)
	if err != nil {
		return err
	}
	if n >= max {
		return Errorf(EPOLICY, "%s already %s %s in tenant %q (max_keys_per_user=%d); revoke one first",
			ownerLabel(owner), map[bool]string{true: "have", false: "has"}[owner == nil], Count(n, "active key"), tenant, max)
	}
	return nil
}

// insertNew completes k (id, secret's hint, times, expiry under cfg),
// stores it with the hash of a new secret, and appends its key.create
// event with details plus the key's name, permissions and expiry.
func (s *Service) insertNew(tx Tx, cfg TenantConfig, k *Key, req Expiry, details map[string]any) (*Created, error) {
	now := tx.Now()
	expires, err := newKeyExpiry(cfg.ForSubType(k.SubType), req, now)
	if err != nil {
		return nil, err
	}
	secret, err := GenerateSecret(s.Rand, cfg.KeyPrefix())
	if err != nil {
		return nil, err
	}
	k.ID, k.Hint, k.ExpiresAt = newID(), secret.Hint(), expires
	k.CreatedAt, k.UpdatedAt = now, now
	k.Metadata = nonNil(k.Metadata)
	if err := tx.InsertKey(k, secret.Hash()); err != nil {
		return nil, err
	}
	details["name"], details["permissions"] = k.Name, k.Permissions
	if k.ExpiresAt != nil {
		details["expiresAt"] = *k.ExpiresAt
	}
	if err := appendEvent(tx, k.CreatedBy, ActionKeyCreate, k, details); err != nil {
		return nil, err
	}
	return &Created{Key: k, Secret: secret}, nil
}

// newKeyExpiry applies max_api_key_expiry and default_expiry to a requested
// expiry at now.
func newKeyExpiry(cfg TenantConfig, req Expiry, now time.Time) (*time.Time, error) {
	max := cfg.MaxExpiry()
	if !req.set() {
		d := cfg.DefaultExpiry()
		if max > 0 && (d == 0 || d > max) {
			d = max
		}
		if d == 0 {
			return nil, nil
		}
		t := now.Add(d)
		return &t, nil
	}
	return checkExpiry(cfg, req, now)
}

// checkExpiry turns a requested expiry into a time, refusing one beyond the
// tenant's maximum.
func checkExpiry(cfg TenantConfig, req Expiry, now time.Time) (*time.Time, error) {
	max := cfg.MaxExpiry()
	var t time.Time
	switch {
	case req.None:
		if max > 0 {
			return nil, Errorf(EPOLICY, "tenant %q requires keys to expire within %s (max_api_key_expiry)", cfg.TenantID, FormatDuration(max))
		}
		return nil, nil
	case req.In != nil:
		t = now.Add(*req.In)
	default:
		t = *req.At
		if !t.After(now) {
			return nil, Errorf(EINVALID, "expiry %s is in the past", t.UTC().Format(time.RFC3339))
		}
	}
	if max > 0 && t.Sub(now) > max {
		return nil, Errorf(EPOLICY, "expiry %s is beyond tenant %q's maximum of %s (max_api_key_expiry)", t.UTC().Format(time.RFC3339), cfg.TenantID, FormatDuration(max))
	}
	return &t, nil
}

// Get returns one key; tenant "" reaches every tenant.
func (s *Service) Get(ctx context.Context, tenant, id string) (*Key, time.Time, error) {
	if err := ValidateKeyID(id); err != nil {
		return nil, time.Time{}, err
	}
	var k *Key
	var now time.Time
	err := s.Store.View(ctx, func(tx Tx) (err error) {
		now = tx.Now()
		k, err = tx.GetKey(id, tenant)
		return err
	})
	return k, now, err
}

// UpdateInput describes changes to a key; nil fields stay as they are.
// Metadata entries are merged; an empty value removes the entry.
type UpdateInput struct {
	Name        *string
	Description *string
	Permissions []string
	// Inherit drops the key's own scope: it then inherits its owner's and
	// team's permissions.
	Inherit  bool
	Expiry   Expiry
	Metadata map[string]string
	Limits   LimitsInput
	Actor    string
}

// Validate checks the input without touching a store.
func (in *UpdateInput) Validate() error {
	if err := in.Limits.validate(); err != nil {
		return err
	}
	if in.Inherit && in.Permissions != nil {
		return Errorf(EINVALID, "give %s or %s, not both", Field("permissions"), Field("inherit"))
	}
	if in.Name != nil {
		if err := ValidateName(*in.Name); err != nil {
			return err
		}
	}
	if in.Description != nil {
		if err := ValidateText("description", *in.Description, 0, MaxDescriptionLen); err != nil {
			return err
		}
	}
	if in.Permissions != nil {
		if len(in.Permissions) == 0 {
			return Errorf(EINVALID, "a key needs at least one permission")
		}
		perms, err := ValidatePermissions(in.Permissions)
		if err != nil {
			return err
		}
		in.Permissions = perms
	}
	n := 0
	for _, set := range []bool{in.Expiry.In != nil, in.Expiry.At != nil, in.Expiry.None} {
		if set {
			n++
		}
	}
	if n > 1 {
		return Errorf(EINVALID, "give one of %s, %s and %s", Field("expiresIn"), Field("expiresAt"), Field("noExpiry"))
	}
	if err := positive("expiresIn", in.Expiry.In); err != nil {
		return err
	}
	if in.Name == nil && in.Description == nil && in.Permissions == nil && !in.Inherit && !in.Expiry.set() && len(in.Metadata) == 0 && !in.Limits.set() {
		return Errorf(EINVALID, "nothing to update: give %s, %s, %s, an expiry, %s or a limit", Field("name"), Field("description"), Field("permissions"), Field("metadata"))
	}
	return ValidateMetadata(in.Metadata)
}

// Update changes a key. It never un-revokes one.
func (s *Service) Update(ctx context.Context, tenant, id string, in UpdateInput) (*Key, time.Time, error) {
	if err := ValidateKeyID(id); err != nil {
		return nil, time.Time{}, err
	}
	if err := in.Validate(); err != nil {
		return nil, time.Time{}, err
	}
	var k *Key
	var now time.Time
	err := s.Store.Update(ctx, func(tx Tx) (err error) {
		now = tx.Now()
		if k, err = tx.GetKey(id, tenant); err != nil {
			return err
		}
		changes := map[string]any{}
		change := func(field string, old, new any) {
			changes[field] = map[string]any{"old": old, "new": new}
		}
		if in.Name != nil && *in.Name != k.Name {
			change("name", k.Name, *in.Name)
			k.Name = *in.Name
		}
		if in.Description != nil && *in.Description != deref(k.Description) {
			change("description", k.Description, optional(*in.Description))
			k.Description = optional(*in.Description)
		}
		if in.Inherit && !k.Inherits() {
			change("permissions", k.Permissions, []string{})
			k.Permissions = []string{}
		}
		if in.Permissions != nil && !slices.Equal(in.Permissions, k.Permissions) {
			if _, err := keyScope(tx, k.TenantID, k.OwnerID, k.TeamID, in.Permissions); err != nil {
				return err
			}
			change("permissions", k.Permissions, in.Permissions)
			k.Permissions = in.Permissions
		}
		if in.Expiry.set() {
			cfg, err := tenantConfig(tx, k.TenantID)
			if err != nil {
				return err
			}
			exp, err := checkExpiry(cfg, in.Expiry, now)
			if err != nil {
				return err
			}
			if !equalTime(exp, k.ExpiresAt) {
				change("expiresAt", k.ExpiresAt, exp)
				k.ExpiresAt = exp
			}
		}
		if len(in.Metadata) > 0 {
			meta := maps.Clone(k.Metadata)
			for mk, mv := range in.Metadata {
				if mv == "" {
					delete(meta, mk)
				} else {
					meta[mk] = mv
				}
			}
			if len(meta) > MaxMetadata {
				return Errorf(EINVALID, "too much metadata: at most %d entries", MaxMetadata)
			}
			if !maps.Equal(meta, k.Metadata) {
				change("metadata", k.Metadata, meta)
				k.Metadata = meta
			}
		}
		in.Limits.apply(k, now, change)
		if len(changes) == 0 {
			return nil
		}
		k.UpdatedAt = now
		if err := tx.SaveKey(k); err != nil {
			return err
		}
		return appendEvent(tx, in.Actor, ActionKeyUpdate, k, map[string]any{"changes": changes})
	})
	return k, now, err
}

// Delete removes keys, all or none. Their audit events stay.
func (s *Service) Delete(ctx context.Context, tenant string, ids []string, actor string) ([]*Key, error) {
	ids = UniqueIDs(ids)
	if err := ValidateKeyIDs(ids); err != nil {
		return nil, err
	}
	var keys []*Key
	err := s.Store.Update(ctx, func(tx Tx) error {
		for _, id := range ids {
			k, err := tx.GetKey(id, tenant)
			if err != nil {
				return err
			}
			if err := tx.DeleteKey(k.ID); err != nil {
				return err
			}
			keys = append(keys, k)
			if err := appendEvent(tx, actor, ActionKeyDelete, k, map[string]any{"name": k.Name, "hint": k.Hint}); err != nil {
				return err
			}
		}
		return nil
	})
	return keys, err
}

package apikey

import (
	"context"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Service holds keyadm's behaviour once, over any Store: validation,
// policy, audit events and the order in which they happen.
type Service struct {
	Store Store
	// Rand is the source of key secrets; nil means crypto/rand.
	Rand io.Reader
}

// DefaultPermissions are given to a key created without any.
var DefaultPermissions = []string{"read"}

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
	Actor       string
}

// Validate checks the input without touching a store.
func (in *CreateInput) Validate() error {
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
	if len(in.Permissions) == 0 {
		in.Permissions = DefaultPermissions
	}
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
	return ValidateMetadata(in.Metadata)
}

// positive refuses a duration given as zero or less, such as an unusedFor
// of 0s: a zero window selects nothing, or everything, and is never what
// was meant. Nil (not given) passes.
func positive(field string, d *time.Duration) error {
	if d != nil && *d <= 0 {
		return Errorf(EINVALID, "invalid %s: must be longer than zero", Field(field))
	}
	return nil
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
		now := tx.Now()
		cfg, err := tenantConfig(tx, in.TenantID)
		if err != nil {
			return err
		}
		if !cfg.KeysEnabled() {
			return Errorf(EPOLICY, "API keys are disabled for tenant %q (api_keys_enabled=false)", in.TenantID)
		}
		owner := optional(in.OwnerID)
		if max := cfg.MaxKeysPerUser(); max > 0 {
			if err := tx.LockOwner(in.TenantID, owner); err != nil {
				return err
			}
			n, err := tx.CountActive(in.TenantID, owner)
			if err != nil {
				return err
			}
			if n >= max {
				return Errorf(EPOLICY, "%s already %s %d active %s in tenant %q (max_keys_per_user=%d); revoke one first",
					ownerLabel(owner), map[bool]string{true: "have", false: "has"}[owner == nil], n, plural(n, "key", "keys"), in.TenantID, max)
			}
		}
		expires, err := newKeyExpiry(cfg, in.Expiry, now)
		if err != nil {
			return err
		}
		secret, err := GenerateSecret(s.Rand, cfg.KeyPrefix())
		if err != nil {
			return err
		}
		k := &Key{
			ID:          newID(),
			TenantID:    in.TenantID,
			TeamID:      optional(in.TeamID),
			OwnerID:     owner,
			Name:        in.Name,
			Description: optional(in.Description),
			Permissions: in.Permissions,
			Hint:        secret.Hint(),
			CreatedAt:   now,
			CreatedBy:   in.Actor,
			UpdatedAt:   now,
			ExpiresAt:   expires,
			Metadata:    nonNil(in.Metadata),
		}
		if err := tx.InsertKey(k, secret.Hash()); err != nil {
			return err
		}
		details := map[string]any{"name": k.Name, "permissions": k.Permissions}
		if k.ExpiresAt != nil {
			details["expiresAt"] = *k.ExpiresAt
		}
		if err := appendEvent(tx, in.Actor, ActionKeyCreate, k, details); err != nil {
			return err
		}
		out = &Created{Key: k, Secret: secret}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
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

// DefaultGrace is how long a rotated-out key keeps working.
const DefaultGrace = 24 * time.Hour

// Rotated is the outcome of a rotation: the new key with its secret, and
// the old key as it now stands.
type Rotated struct {
	Created
	Old *Key
}

// Rotate replaces a key with a new one of the same tenant, team, owner,
// name, description, permissions and metadata. The old key expires after
// grace (0: it is revoked now). The new key keeps the old one's lifetime,
// within the tenant's maximum, or gets the tenant's default expiry.
// Rotation is not counted against max_keys_per_user; it is refused for a
// revoked or expired key and for a tenant with keys disabled.
func (s *Service) Rotate(ctx context.Context, tenant, id string, grace time.Duration, actor string) (*Rotated, error) {
	if err := ValidateKeyID(id); err != nil {
		return nil, err
	}
	if grace < 0 {
		return nil, Errorf(EINVALID, "invalid grace: must be zero or more")
	}
	var out *Rotated
	err := s.Store.Update(ctx, func(tx Tx) error {
		now := tx.Now()
		old, err := tx.GetKey(id, tenant)
		if err != nil {
			return err
		}
		if st := old.StatusAt(now); st != StatusActive {
			return Errorf(EPOLICY, "key %s is %s: only an active key can be rotated", old.ID, st)
		}
		// A key in its grace period was rotated already: a second new key
		// would be a fork, and the grace has cut the lifetime it would copy.
		var successor string
		err = tx.EachEvent(EventQuery{KeyID: old.ID, Action: ActionKeyRotate, Limit: 1}, func(e *AuditEvent) error {
			successor, _ = e.Details["newKeyId"].(string)
			return nil
		})
		if err != nil {
			return err
		}
		if successor != "" {
			return Errorf(EPOLICY, "key %s was rotated already, to %s: rotate that one instead", old.ID, successor)
		}
		cfg, err := tenantConfig(tx, old.TenantID)
		if err != nil {
			return err
		}
		if !cfg.KeysEnabled() {
			return Errorf(EPOLICY, "API keys are disabled for tenant %q (api_keys_enabled=false)", old.TenantID)
		}
		var req Expiry
		if old.ExpiresAt != nil {
			life := old.ExpiresAt.Sub(old.CreatedAt)
			if max := cfg.MaxExpiry(); max > 0 && life > max {
				life = max
			}
			req.In = &life
		}
		expires, err := newKeyExpiry(cfg, req, now)
		if err != nil {
			return err
		}
		secret, err := GenerateSecret(s.Rand, cfg.KeyPrefix())
		if err != nil {
			return err
		}
		oldID := old.ID
		k := &Key{
			ID: newID(), TenantID: old.TenantID, TeamID: old.TeamID, OwnerID: old.OwnerID,
			Name: old.Name, Description: old.Description, Permissions: old.Permissions,
			Hint: secret.Hint(), CreatedAt: now, CreatedBy: actor, UpdatedAt: now,
			ExpiresAt: expires, Metadata: nonNil(old.Metadata), RotatedFrom: &oldID,
		}
		if err := tx.InsertKey(k, secret.Hash()); err != nil {
			return err
		}
		details := map[string]any{"name": k.Name, "permissions": k.Permissions, "rotatedFrom": oldID}
		if k.ExpiresAt != nil {
			details["expiresAt"] = *k.ExpiresAt
		}
		if err := appendEvent(tx, actor, ActionKeyCreate, k, details); err != nil {
			return err
		}

		rotation := map[string]any{"newKeyId": k.ID, "grace": FormatDuration(grace)}
		if grace == 0 {
			// A revocation like any other, with its own key.revoke event,
			// so that the audit trail's revocations are all of them.
			revoked, err := revokeKeys(tx, []*Key{old}, now, actor, "rotated to "+k.ID, map[string]any{"rotatedTo": k.ID})
			if err != nil {
				return err
			}
			if len(revoked) == 0 {
				// Another writer revoked it since it was read: undo the new key.
				return Errorf(ECONFLICT, "key %s was revoked by another change meanwhile; nothing was rotated", old.ID)
			}
			rotation["revokedAt"] = now
		} else {
			if end := now.Add(grace); old.ExpiresAt == nil || end.Before(*old.ExpiresAt) {
				rotation["expiresAt"] = map[string]any{"old": old.ExpiresAt, "new": end}
				old.ExpiresAt = &end
			}
			old.UpdatedAt = now
			if err := tx.SaveKey(old); err != nil {
				return err
			}
		}
		if err := appendEvent(tx, actor, ActionKeyRotate, old, rotation); err != nil {
			return err
		}
		out = &Rotated{Created: Created{Key: k, Secret: secret}, Old: old}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
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

// Page is one page of a list.
type Page struct {
	Keys []*Key
	// More is true when the query's limit cut the list.
	More bool
	Now  time.Time
}

// ListInput is a list request; durations are relative to the time the
// query runs.
type ListInput struct {
	Filter         KeyFilter
	UnusedFor      *time.Duration
	ExpiringWithin *time.Duration
	Sort           Sort
	After, Before  string
	Limit          int // 0: every key
}

// Validate checks the input without touching a store.
func (in *ListInput) Validate() error {
	_, err := in.query(time.Time{})
	return err
}

func (in *ListInput) query(now time.Time) (ListQuery, error) {
	f := in.Filter
	for what, id := range map[string]string{"tenant": f.TenantID, "team": f.TeamID} {
		if id != "" {
			if err := ValidateID(what, id); err != nil {
				return ListQuery{}, err
			}
		}
	}
	if in.After != "" && in.Before != "" {
		return ListQuery{}, Errorf(EINVALID, "give %s or %s, not both", Field("after"), Field("before"))
	}
	for _, id := range []string{in.After, in.Before} {
		if id != "" {
			if err := ValidateKeyID(id); err != nil {
				return ListQuery{}, err
			}
		}
	}
	if in.Limit < 0 {
		return ListQuery{}, Errorf(EINVALID, "invalid limit %d: must be 1 or more", in.Limit)
	}
	if err := positive("unusedFor", in.UnusedFor); err != nil {
		return ListQuery{}, err
	}
	if err := positive("expiringWithin", in.ExpiringWithin); err != nil {
		return ListQuery{}, err
	}
	if in.UnusedFor != nil {
		t := now.Add(-*in.UnusedFor)
		f.UnusedSince = &t
	}
	if in.ExpiringWithin != nil {
		t := now.Add(*in.ExpiringWithin)
		f.ExpiringBy = &t
	}
	if in.Sort.Field == "" {
		in.Sort = DefaultSort
	}
	return ListQuery{Filter: f, Sort: in.Sort, After: in.After, Before: in.Before, Limit: in.Limit, Now: now}, nil
}

// List returns one page of keys.
func (s *Service) List(ctx context.Context, in ListInput) (*Page, error) {
	p := &Page{}
	err := s.Store.View(ctx, func(tx Tx) error {
		p.Now = tx.Now()
		q, err := in.query(p.Now)
		if err != nil {
			return err
		}
		if q.Limit > 0 {
			q.Limit++ // one more tells whether there is a next page
		}
		err = tx.EachKey(q, func(k *Key) error {
			p.Keys = append(p.Keys, k)
			return nil
		})
		if err != nil {
			return err
		}
		if in.Limit > 0 && len(p.Keys) > in.Limit {
			p.More = true
			if in.Before != "" {
				p.Keys = p.Keys[1:]
			} else {
				p.Keys = p.Keys[:in.Limit]
			}
		}
		return nil
	})
	return p, err
}

// Each streams every key the input selects, for exports of any size.
func (s *Service) Each(ctx context.Context, in ListInput, fn func(k *Key, now time.Time) error) error {
	return s.Store.View(ctx, func(tx Tx) error {
		now := tx.Now()
		q, err := in.query(now)
		if err != nil {
			return err
		}
		return tx.EachKey(q, func(k *Key) error { return fn(k, now) })
	})
}

// UpdateInput describes changes to a key; nil fields stay as they are.
// Metadata entries are merged; an empty value removes the entry.
type UpdateInput struct {
	Name        *string
	Description *string
	Permissions []string
	Expiry      Expiry
	Metadata    map[string]string
	Actor       string
}

// Validate checks the input without touching a store.
func (in *UpdateInput) Validate() error {
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
	if in.Name == nil && in.Description == nil && in.Permissions == nil && !in.Expiry.set() && len(in.Metadata) == 0 {
		return Errorf(EINVALID, "nothing to update: give %s, %s, %s, an expiry or %s", Field("name"), Field("description"), Field("permissions"), Field("metadata"))
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
		if in.Permissions != nil && !slices.Equal(in.Permissions, k.Permissions) {
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

// SweepInput describes a revocation of stale keys: every active key not
// used for UnusedFor (never-used keys count from their creation).
type SweepInput struct {
	TenantID  string // "" for every tenant
	UnusedFor time.Duration
	Reason    string
	Actor     string
	// BatchSize is how many keys one transaction revokes (default 500).
	BatchSize int
	// Progress, when set, hears how many keys are done out of how many.
	Progress func(done, total int)
	// Revoked, when set, hears each key revoked, after its batch committed.
	Revoked func(*Key)
}

// DefaultSweepBatch is how many keys one sweep transaction revokes.
const DefaultSweepBatch = 500

func (in *SweepInput) validate() error {
	if in.TenantID != "" {
		if err := ValidateID("tenant", in.TenantID); err != nil {
			return err
		}
	}
	if err := positive("unusedFor", &in.UnusedFor); err != nil {
		return err
	}
	if in.BatchSize <= 0 {
		in.BatchSize = DefaultSweepBatch
	}
	return ValidateText("reason", in.Reason, 0, MaxReasonLen)
}

func (in *SweepInput) filter() ListInput {
	return ListInput{
		Filter:    KeyFilter{TenantID: in.TenantID, Status: StatusActive},
		UnusedFor: &in.UnusedFor,
		Sort:      Sort{Field: SortCreated},
	}
}

// StaleKeys streams the keys a sweep would revoke now, oldest first.
func (s *Service) StaleKeys(ctx context.Context, in SweepInput, fn func(k *Key, now time.Time) error) error {
	if err := in.validate(); err != nil {
		return err
	}
	return s.Each(ctx, in.filter(), fn)
}

// RevokeStale revokes stale keys in batches, each its own transaction, so
// an interrupted sweep leaves every batch either done or untouched. A key
// used (or changed) since the sweep began is left alone. It returns how
// many keys it revoked, with ctx's error when interrupted.
func (s *Service) RevokeStale(ctx context.Context, in SweepInput) (int, error) {
	if err := in.validate(); err != nil {
		return 0, err
	}
	var ids []string
	var cutoff time.Time
	err := s.Each(ctx, in.filter(), func(k *Key, now time.Time) error {
		cutoff = now.Add(-in.UnusedFor)
		ids = append(ids, k.ID)
		return nil
	})
	if err != nil {
		return 0, err
	}
	done := 0
	if in.Progress != nil {
		in.Progress(0, len(ids))
	}
	for start := 0; start < len(ids); start += in.BatchSize {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		batch := ids[start:min(start+in.BatchSize, len(ids))]
		var revoked []*Key
		// One read, one write and one insert of events per batch: a
		// round trip per key made a sweep slow on a networked server.
		err := s.Store.Update(ctx, func(tx Tx) error {
			now := tx.Now()
			keys, err := tx.GetKeys(batch, in.TenantID) // a key deleted meanwhile is simply absent
			if err != nil {
				return err
			}
			var stale []*Key
			for _, k := range keys {
				if k.StatusAt(now) == StatusActive && (k.LastUsedAt == nil || k.LastUsedAt.Before(cutoff)) {
					stale = append(stale, k)
				}
			}
			revoked, err = revokeKeys(tx, stale, now, in.Actor, in.Reason, map[string]any{"unusedFor": FormatDuration(in.UnusedFor)})
			return err
		})
		if err != nil {
			return done, err
		}
		done += len(revoked)
		if in.Revoked != nil {
			for _, k := range revoked {
				in.Revoked(k)
			}
		}
		if in.Progress != nil {
			in.Progress(start+len(batch), len(ids))
		}
	}
	return done, nil
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
		if err := tx.TouchKey(k.ID, now); err != nil {
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
// its identity only (see Tx.KeyByHash).
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
	if err != nil {
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

// Config returns a tenant's effective policy; tenant "" gives the global
// defaults.
func (s *Service) Config(ctx context.Context, tenant string) (TenantConfig, error) {
	if tenant != "" {
		if err := ValidateID("tenant", tenant); err != nil {
			return TenantConfig{}, err
		}
	}
	var cfg TenantConfig
	err := s.Store.View(ctx, func(tx Tx) (err error) {
		cfg, err = tenantConfig(tx, tenant)
		return err
	})
	return cfg, err
}

// ConfigChange is one change to a tenant's (or the global) policy: a new
// value for a setting, or, with Unset, its removal.
type ConfigChange struct {
	Name  string
	Value string
	Unset bool
}

// SetConfig sets one setting for a tenant, or globally for tenant "".
func (s *Service) SetConfig(ctx context.Context, tenant, name, value, actor string) (TenantConfig, error) {
	return s.ApplyConfig(ctx, tenant, []ConfigChange{{Name: name, Value: value}}, actor)
}

// UnsetConfig removes a tenant's (or the global) value of a setting.
func (s *Service) UnsetConfig(ctx context.Context, tenant, name, actor string) (TenantConfig, error) {
	return s.ApplyConfig(ctx, tenant, []ConfigChange{{Name: name, Unset: true}}, actor)
}

// ApplyConfig makes several changes to a tenant's (or the global) policy in
// one transaction, all or none, each with its audit event. Removing a value
// that is not set changes nothing and writes no event.
func (s *Service) ApplyConfig(ctx context.Context, tenant string, changes []ConfigChange, actor string) (TenantConfig, error) {
	if tenant != "" {
		if err := ValidateID("tenant", tenant); err != nil {
			return TenantConfig{}, err
		}
	}
	for i, c := range changes {
		if c.Unset {
			if err := CheckSettingName(c.Name); err != nil {
				return TenantConfig{}, err
			}
			continue
		}
		v, err := NormalizeSetting(c.Name, c.Value)
		if err != nil {
			return TenantConfig{}, err
		}
		changes[i].Value = v
	}
	var cfg TenantConfig
	err := s.Store.Update(ctx, func(tx Tx) error {
		for _, c := range changes {
			old, err := tx.ConfigValues(tenant)
			if err != nil {
				return err
			}
			if c.Unset {
				removed, err := tx.UnsetConfig(tenant, c.Name)
				if err != nil {
					return err
				}
				if removed {
					details := map[string]any{"name": c.Name, "old": old[c.Name]}
					if err := appendConfigEvent(tx, actor, ActionConfigUnset, tenant, details); err != nil {
						return err
					}
				}
				continue
			}
			if err := tx.SetConfig(tenant, c.Name, c.Value); err != nil {
				return err
			}
			details := map[string]any{"name": c.Name, "old": optional(old[c.Name]), "new": c.Value}
			if err := appendConfigEvent(tx, actor, ActionConfigSet, tenant, details); err != nil {
				return err
			}
		}
		var err error
		cfg, err = tenantConfig(tx, tenant)
		return err
	})
	return cfg, err
}

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
	return s.Store.View(ctx, func(tx Tx) error { return tx.EachEvent(q, fn) })
}

func tenantConfig(tx Tx, tenant string) (TenantConfig, error) {
	global, err := tx.ConfigValues("")
	if err != nil {
		return TenantConfig{}, err
	}
	var own map[string]string
	if tenant != "" {
		if own, err = tx.ConfigValues(tenant); err != nil {
			return TenantConfig{}, err
		}
	}
	return ResolveConfig(tenant, global, own), nil
}

// oneSetting is a one-entry config map, or nil for a value not set.
func oneSetting(name string, value *string) map[string]string {
	if value == nil {
		return nil
	}
	return map[string]string{name: *value}
}

func appendEvent(tx Tx, actor, action string, k *Key, details map[string]any) error {
	id := k.ID
	return tx.AppendEvent(&AuditEvent{Time: tx.Now(), Actor: actor, Action: action, TenantID: k.TenantID, KeyID: &id, Details: details})
}

func appendConfigEvent(tx Tx, actor, action, tenant string, details map[string]any) error {
	return tx.AppendEvent(&AuditEvent{Time: tx.Now(), Actor: actor, Action: action, TenantID: tenant, Details: details})
}

// UniqueIDs returns ids without repeats (case-insensitive), in order.
func UniqueIDs(ids []string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if k := strings.ToLower(id); !seen[k] {
			seen[k] = true
			out = append(out, id)
		}
	}
	return out
}

// ValidateKeyIDs checks a list of key ids: at least one, each a UUID.
func ValidateKeyIDs(ids []string) error {
	if len(ids) == 0 {
		return Errorf(EINVALID, "give at least one key id")
	}
	for _, id := range ids {
		if err := ValidateKeyID(id); err != nil {
			return err
		}
	}
	return nil
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func ownerLabel(owner *string) string {
	if owner == nil {
		return "keys without an owner"
	}
	return "owner " + *owner
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func equalTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

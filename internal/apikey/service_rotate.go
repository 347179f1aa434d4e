package apikey

import (
	"context"
	"time"
)

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
		old, err := rotatable(tx, tenant, id)
		if err != nil {
			return err
		}
		cfg, err := tenantConfig(tx, old.TenantID)
		if err != nil {
			return err
		}
		if err := keysEnabled(cfg, old.TenantID); err != nil {
			return err
		}
		var req Expiry
		if old.ExpiresAt != nil {
			life := old.ExpiresAt.Sub(old.CreatedAt)
			if max := cfg.MaxExpiry(); max > 0 && life > max {
				life = max
			}
			req.In = &life
		}
		oldID := old.ID
		created, err := s.insertNew(tx, cfg, &Key{
			TenantID: old.TenantID, TeamID: old.TeamID, OwnerID: old.OwnerID,
			Name: old.Name, Description: old.Description, Permissions: old.Permissions,
			CreatedBy: actor, Metadata: old.Metadata, RotatedFrom: &oldID,
			SubType: old.SubType,
		}, req, map[string]any{"rotatedFrom": oldID})
		if err != nil {
			return err
		}
		if err := retire(tx, old, created.Key.ID, grace, actor); err != nil {
			return err
		}
		out = &Rotated{Created: *created, Old: old}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// rotatable reads the key to rotate, refusing one that is not active or
// was rotated already.
func rotatable(tx Tx, tenant, id string) (*Key, error) {
	old, err := tx.GetKey(id, tenant)
	if err != nil {
		return nil, err
	}
	if st := old.StatusAt(tx.Now()); st != StatusActive {
		return nil, Errorf(EPOLICY, "key %s is %s: only an active key can be rotated", old.ID, st)
	}
	// A key in its grace period was rotated already: a second new key
	// would be a fork, and the grace has cut the lifetime it would copy.
	var successor string
	err = tx.EachEvent(EventQuery{KeyID: old.ID, Action: ActionKeyRotate, Limit: 1}, func(e *AuditEvent) error {
		successor, _ = e.Details["newKeyId"].(string)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if successor != "" {
		return nil, Errorf(EPOLICY, "key %s was rotated already, to %s: rotate that one instead", old.ID, successor)
	}
	return old, nil
}

// retire ends the old key of a rotation to newID: it expires after grace,
// or is revoked now for a grace of 0, and gets its key.rotate event.
func retire(tx Tx, old *Key, newID string, grace time.Duration, actor string) error {
	now := tx.Now()
	rotation := map[string]any{"newKeyId": newID, "grace": FormatDuration(grace)}
	if grace == 0 {
		// A revocation like any other, with its own key.revoke event,
		// so that the audit trail's revocations are all of them.
		revoked, err := revokeKeys(tx, []*Key{old}, now, actor, "rotated to "+newID, map[string]any{"rotatedTo": newID})
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
	return appendEvent(tx, actor, ActionKeyRotate, old, rotation)
}

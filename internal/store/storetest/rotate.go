package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// TestRotate: the new key copies the old one's identity and lifetime; the
// old key works for the grace period, then expires; both changes and their
// events commit together; quota does not block rotation.
func (s *Suite) TestRotate(t *testing.T) {
	e := s.env(t)
	e.setConfig("acme", apikey.SettingMaxKeys, "1")
	old := e.create(apikey.CreateInput{
		TenantID: "acme", TeamID: "t", OwnerID: "svc", Name: "sync", Description: "d",
		Permissions: []string{"read", "write"}, Metadata: map[string]string{"env": "prod"},
		Expiry: apikey.Expiry{In: new(30 * apikey.Day)},
	})
	e.clock.Advance(10 * apikey.Day)
	r, err := e.svc.Rotate(e.ctx, "", old.Key.ID, time.Hour, "ops")
	if err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	k := r.Key
	if k.ID == old.Key.ID || k.TenantID != "acme" || *k.TeamID != "t" || *k.OwnerID != "svc" || k.Name != "sync" ||
		*k.Description != "d" || !slices.Equal(k.Permissions, []string{"read", "write"}) || k.Metadata["env"] != "prod" ||
		*k.RotatedFrom != old.Key.ID || !k.ExpiresAt.Equal(now.Add(30*apikey.Day)) || k.CreatedBy != "ops" {
		t.Fatalf("rotated key: %s", dump(k))
	}
	stored, _, err := e.svc.Get(e.ctx, "", k.ID)
	if err != nil || dump(stored) != dump(k) {
		t.Fatalf("stored %s, %v", dump(stored), err)
	}
	if _, _, err := e.svc.Verify(e.ctx, "", r.Secret.String()); err != nil {
		t.Fatalf("new key: %v", err)
	}
	// A key in its grace period cannot be rotated a second time.
	_, err = e.svc.Rotate(e.ctx, "", old.Key.ID, time.Hour, "ops")
	wantCode(t, err, apikey.EPOLICY)
	// The old key works through the grace period and not a moment after.
	e.clock.Advance(time.Hour - time.Microsecond)
	if _, _, err := e.svc.Verify(e.ctx, "", old.Secret.String()); err != nil {
		t.Fatalf("old key within grace: %v", err)
	}
	e.clock.Advance(time.Microsecond)
	_, _, err = e.svc.Verify(e.ctx, "", old.Secret.String())
	if apikey.ErrorReason(err) != apikey.ReasonExpired {
		t.Fatalf("old key after grace: %v", err)
	}
	evs := e.events(apikey.EventQuery{KeyID: old.Key.ID, Action: apikey.ActionKeyRotate})
	if len(evs) != 1 || evs[0].Details["newKeyId"] != k.ID || !evs[0].Time.Equal(now) {
		t.Fatalf("rotate events: %+v", evs)
	}
	if evs := e.events(apikey.EventQuery{KeyID: k.ID}); len(evs) != 1 || evs[0].Details["rotatedFrom"] != old.Key.ID {
		t.Fatalf("new key events: %+v", evs)
	}

	// Rotating an expired key is refused; so is rotating a revoked one.
	_, err = e.svc.Rotate(e.ctx, "", old.Key.ID, time.Hour, "ops")
	wantCode(t, err, apikey.EPOLICY)
	r2 := e.rotateWithoutGrace(t, k, r.Secret.String())

	// Another tenant's scope does not reach the key; disabled keys refuse.
	_, err = e.svc.Rotate(e.ctx, "other", r2.Key.ID, 0, "ops")
	wantCode(t, err, apikey.ENOTFOUND)
	e.setConfig("acme", apikey.SettingKeysEnabled, "false")
	_, err = e.svc.Rotate(e.ctx, "", r2.Key.ID, 0, "ops")
	wantCode(t, err, apikey.EPOLICY)
}

// rotateWithoutGrace rotates k, whose secret is given, with no grace: the
// old key is revoked at once, in the trail as a revocation beside the
// rotation, and cannot be rotated again.
func (e *env) rotateWithoutGrace(t *testing.T, k *apikey.Key, secret string) *apikey.Rotated {
	t.Helper()
	r2, err := e.svc.Rotate(e.ctx, "", k.ID, 0, "ops")
	if err != nil {
		t.Fatal(err)
	}
	if r2.Old.RevokedAt == nil || !r2.Old.RevokedAt.Equal(e.clock.Now()) {
		t.Fatalf("grace 0 did not revoke: %s", dump(r2.Old))
	}
	if stored, _, err := e.svc.Get(e.ctx, "", k.ID); err != nil || dump(stored) != dump(r2.Old) {
		t.Fatalf("stored %s, %v; returned %s", dump(stored), err, dump(r2.Old))
	}
	// The revocation is in the trail as one, with the rotation beside it.
	if evs := e.events(apikey.EventQuery{KeyID: k.ID, Action: apikey.ActionKeyRevoke}); len(evs) != 1 ||
		evs[0].Details["rotatedTo"] != r2.Key.ID || evs[0].Details["reason"] != "rotated to "+r2.Key.ID {
		t.Fatalf("grace 0 revoke events: %+v", evs)
	}
	if evs := e.events(apikey.EventQuery{KeyID: k.ID, Action: apikey.ActionKeyRotate}); len(evs) != 1 || evs[0].Details["newKeyId"] != r2.Key.ID {
		t.Fatalf("grace 0 rotate events: %+v", evs)
	}
	_, _, err = e.svc.Verify(e.ctx, "", secret)
	if apikey.ErrorReason(err) != apikey.ReasonRevoked {
		t.Fatalf("rotated with grace 0, old key: %v", err)
	}
	_, err = e.svc.Rotate(e.ctx, "", k.ID, 0, "ops")
	wantCode(t, err, apikey.EPOLICY)
	return r2
}

// TestRotateKeepsEarlierExpiry: a grace longer than the key's remaining
// life does not extend it.
func (s *Suite) TestRotateKeepsEarlierExpiry(t *testing.T) {
	e := s.env(t)
	c := e.create(apikey.CreateInput{Expiry: apikey.Expiry{In: new(time.Hour)}})
	r, err := e.svc.Rotate(e.ctx, "", c.Key.ID, 48*time.Hour, "ops")
	if err != nil {
		t.Fatal(err)
	}
	if !r.Old.ExpiresAt.Equal(*c.Key.ExpiresAt) {
		t.Fatalf("old key's expiry moved from %v to %v", c.Key.ExpiresAt, r.Old.ExpiresAt)
	}
	if r.Key.ExpiresAt == nil || !r.Key.ExpiresAt.Equal(e.clock.Now().Add(time.Hour)) {
		t.Fatalf("new key lifetime: %v", r.Key.ExpiresAt)
	}
}

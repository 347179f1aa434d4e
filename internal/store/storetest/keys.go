package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// TestCreateGet: every field written by create reads back the same.
func (s *Suite) TestCreateGet(t *testing.T) {
	e := s.env(t)
	c := e.create(apikey.CreateInput{
		TenantID: "acme", TeamID: "payments", OwnerID: "alice@example.com",
		Name: "billing-sync", Description: "nightly sync",
		Permissions: []string{"read", "write", "read"},
		Expiry:      apikey.Expiry{In: new(30 * apikey.Day)},
		Metadata:    map[string]string{"env": "prod", "quote": `a "b", c`},
		Actor:       "ops",
	})
	now := e.clock.Now()
	got, _, err := e.svc.Get(e.ctx, "", c.Key.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := &apikey.Key{
		ID: c.Key.ID, TenantID: "acme", TeamID: new("payments"), OwnerID: new("alice@example.com"),
		Name: "billing-sync", Description: new("nightly sync"), Permissions: []string{"read", "write"},
		Hint: c.Secret.Hint(), CreatedAt: now, CreatedBy: "ops", UpdatedAt: now,
		ExpiresAt: new(now.Add(30 * apikey.Day)), Metadata: map[string]string{"env": "prod", "quote": `a "b", c`},
		SubType: apikey.SubTypeUser,
	}
	if !sameKey(got, want) {
		t.Fatalf("got  %s\nwant %s", dump(got), dump(want))
	}
	if got.StatusAt(now) != apikey.StatusActive {
		t.Fatalf("status = %s", got.StatusAt(now))
	}
	if len(c.Key.ID) != 36 || c.Key.ID[14] != '7' {
		t.Fatalf("id %q is not a UUIDv7", c.Key.ID)
	}
}

// TestCreateDefaults: a key made with a name only goes to the default
// tenant with read permission and no expiry.
func (s *Suite) TestCreateDefaults(t *testing.T) {
	e := s.env(t)
	c := e.create(apikey.CreateInput{Name: "demo"})
	k := c.Key
	if k.TenantID != apikey.DefaultTenant || !slices.Equal(k.Permissions, []string{"read"}) || k.ExpiresAt != nil ||
		k.TeamID != nil || k.OwnerID != nil || k.Description != nil || k.LastUsedAt != nil {
		t.Fatalf("defaults: %s", dump(k))
	}
	if _, err := apikey.ParseSecret(c.Secret.String()); err != nil || c.Secret.Prefix != "qapi" {
		t.Fatalf("secret %v does not parse: %v", c.Secret.Prefix, err)
	}
}

// TestCreateInvalid: bad input is refused before anything is written.
func (s *Suite) TestCreateInvalid(t *testing.T) {
	e := s.env(t)
	cases := []apikey.CreateInput{
		{Name: ""},
		{Name: "x", TenantID: "bad tenant"},
		{Name: "x", TeamID: "-team"},
		{Name: "x", Permissions: []string{"Read"}},
		{Name: "x", Description: "line\nbreak"},
		{Name: fmt.Sprintf("%0101d", 0)},
		{Name: "x", Metadata: map[string]string{"bad key": "v"}},
		{Name: "x", Expiry: apikey.Expiry{At: new(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))}},
		{Name: "x", Expiry: apikey.Expiry{In: new(time.Duration(0))}},
	}
	for _, in := range cases {
		_, err := e.svc.Create(e.ctx, in)
		wantCode(t, err, apikey.EINVALID)
	}
	page, err := e.svc.List(e.ctx, apikey.ListInput{})
	if err != nil || len(page.Keys) != 0 {
		t.Fatalf("invalid creates wrote %d keys (err %v)", len(page.Keys), err)
	}
	if evs := e.events(apikey.EventQuery{}); len(evs) != 0 {
		t.Fatalf("invalid creates wrote %d events", len(evs))
	}
}

// TestVerify: a good key verifies and records its use; every rejection
// names its reason.
func (s *Suite) TestVerify(t *testing.T) {
	e := s.env(t)
	c := e.create(apikey.CreateInput{Name: "v", TenantID: "t1", Expiry: apikey.Expiry{In: new(time.Hour)}})
	e.clock.Advance(time.Minute)
	k, _, err := e.svc.Verify(e.ctx, "", c.Secret.String())
	if err != nil {
		t.Fatal(err)
	}
	if k.ID != c.Key.ID {
		t.Fatalf("verified %s, want %s", k.ID, c.Key.ID)
	}
	got, _, _ := e.svc.Get(e.ctx, "", c.Key.ID)
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(e.clock.Now()) {
		t.Fatalf("lastUsedAt = %v, want %v", got.LastUsedAt, e.clock.Now())
	}

	reject := func(key, reason string) {
		t.Helper()
		_, _, err := e.svc.Verify(e.ctx, "", key)
		wantCode(t, err, apikey.EREJECTED)
		if r := apikey.ErrorReason(err); r != reason {
			t.Fatalf("reason = %q, want %q (%v)", r, reason, err)
		}
	}
	reject("qapi_nonsense", apikey.ReasonMalformed)
	other, _ := apikey.GenerateSecret(nil, "qapi")
	reject(other.String(), apikey.ReasonUnknown)

	// Expiry is exact: valid up to the instant before, rejected at it.
	e.clock.Advance(time.Hour - time.Minute - time.Microsecond)
	if _, _, err := e.svc.Verify(e.ctx, "", c.Secret.String()); err != nil {
		t.Fatalf("one microsecond before expiry: %v", err)
	}
	e.clock.Advance(time.Microsecond)
	reject(c.Secret.String(), apikey.ReasonExpired)

	d := e.create(apikey.CreateInput{Name: "d", TenantID: "t1"})
	e.setConfig("t1", apikey.SettingKeysEnabled, "false")
	reject(d.Secret.String(), apikey.ReasonDisabled)
	e.setConfig("t1", apikey.SettingKeysEnabled, "true")
	if _, _, err := e.svc.Revoke(e.ctx, "", []string{d.Key.ID}, "leaked", "ops"); err != nil {
		t.Fatal(err)
	}
	reject(d.Secret.String(), apikey.ReasonRevoked)
}

// TestTenantScope: with a tenant given, another tenant's key is not found
// and stays unchanged.
func (s *Suite) TestTenantScope(t *testing.T) {
	e := s.env(t)
	b := e.create(apikey.CreateInput{Name: "b", TenantID: "tenant-b"})
	id := b.Key.ID
	if _, _, err := e.svc.Get(e.ctx, "tenant-a", id); apikey.ErrorCode(err) != apikey.ENOTFOUND {
		t.Fatalf("get across tenants: %v", err)
	}
	_, _, err := e.svc.Update(e.ctx, "tenant-a", id, apikey.UpdateInput{Name: new("hijacked")})
	wantCode(t, err, apikey.ENOTFOUND)
	_, _, err = e.svc.Revoke(e.ctx, "tenant-a", []string{id}, "", "x")
	wantCode(t, err, apikey.ENOTFOUND)
	_, err = e.svc.Delete(e.ctx, "tenant-a", []string{id}, "x")
	wantCode(t, err, apikey.ENOTFOUND)
	page, err := e.svc.List(e.ctx, apikey.ListInput{Filter: apikey.KeyFilter{TenantID: "tenant-a"}})
	if err != nil || len(page.Keys) != 0 {
		t.Fatalf("list tenant-a: %d keys, %v", len(page.Keys), err)
	}
	_, err = e.svc.List(e.ctx, apikey.ListInput{Filter: apikey.KeyFilter{TenantID: "tenant-a"}, After: id, Limit: 5})
	wantCode(t, err, apikey.ENOTFOUND)
	got, _, err := e.svc.Get(e.ctx, "tenant-b", id)
	if err != nil || got.Name != "b" || got.RevokedAt != nil {
		t.Fatalf("tenant-b key changed: %s %v", dump(got), err)
	}
	if n := len(e.events(apikey.EventQuery{})); n != 1 {
		t.Fatalf("%d events, want only the create", n)
	}
	// Verify in another tenant reveals nothing of the key, whatever its
	// state: it is unknown, not revoked, expired or disabled.
	if _, _, err := e.svc.Revoke(e.ctx, "tenant-b", []string{id, id}, "", "x"); err != nil {
		t.Fatalf("revoke with a repeated id: %v", err)
	}
	_, _, err = e.svc.Verify(e.ctx, "tenant-a", b.Secret.String())
	if apikey.ErrorReason(err) != apikey.ReasonUnknown || strings.Contains(apikey.ErrorMessage(err), id) {
		t.Fatalf("verify in tenant-a of b's revoked key: %v", err)
	}
	if _, err := e.svc.Delete(e.ctx, "", []string{strings.ToUpper(id), id}, "x"); err != nil {
		t.Fatalf("delete with a repeated, upper-case id: %v", err)
	}
}

// TestUpdate: changes are saved with their old and new values in one
// event; update never un-revokes; an empty change writes nothing.
func (s *Suite) TestUpdate(t *testing.T) {
	e := s.env(t)
	c := e.create(apikey.CreateInput{Name: "u", Metadata: map[string]string{"a": "1", "b": "2"}})
	e.clock.Advance(time.Hour)
	k, _, err := e.svc.Update(e.ctx, "", c.Key.ID, apikey.UpdateInput{
		Name: new("renamed"), Description: new("desc"), Permissions: []string{"admin"},
		Expiry: apikey.Expiry{In: new(apikey.Day)}, Metadata: map[string]string{"a": "", "c": "3"}, Actor: "ops",
	})
	if err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	got, _, _ := e.svc.Get(e.ctx, "", c.Key.ID)
	if !sameKey(got, k) || got.Name != "renamed" || *got.Description != "desc" ||
		!slices.Equal(got.Permissions, []string{"admin"}) || !got.ExpiresAt.Equal(now.Add(apikey.Day)) ||
		!got.UpdatedAt.Equal(now) || len(got.Metadata) != 2 || got.Metadata["c"] != "3" || got.Metadata["b"] != "2" {
		t.Fatalf("after update: %s", dump(got))
	}
	evs := e.events(apikey.EventQuery{Action: apikey.ActionKeyUpdate})
	if len(evs) != 1 || evs[0].Actor != "ops" || !evs[0].Time.Equal(now) {
		t.Fatalf("update events: %+v", evs)
	}
	changes, _ := evs[0].Details["changes"].(map[string]any)
	name, _ := changes["name"].(map[string]any)
	if name["old"] != "u" || name["new"] != "renamed" || len(changes) != 5 {
		t.Fatalf("update details: %+v", evs[0].Details)
	}

	// The same values again change nothing and write no event.
	if _, _, err := e.svc.Update(e.ctx, "", c.Key.ID, apikey.UpdateInput{Name: new("renamed")}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.events(apikey.EventQuery{Action: apikey.ActionKeyUpdate})); n != 1 {
		t.Fatalf("no-op update wrote an event (%d)", n)
	}

	if _, _, err := e.svc.Revoke(e.ctx, "", []string{c.Key.ID}, "", "ops"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.Update(e.ctx, "", c.Key.ID, apikey.UpdateInput{Expiry: apikey.Expiry{None: true}}); err != nil {
		t.Fatal(err)
	}
	got, _, _ = e.svc.Get(e.ctx, "", c.Key.ID)
	if got.StatusAt(e.clock.Now()) != apikey.StatusRevoked {
		t.Fatalf("update un-revoked the key: %s", dump(got))
	}
	_, _, err = e.svc.Update(e.ctx, "", c.Key.ID, apikey.UpdateInput{})
	wantCode(t, err, apikey.EINVALID)
}

// TestRevokeDelete: revoke keeps the record and is all-or-nothing; delete
// removes the key and keeps its events.
func (s *Suite) TestRevokeDelete(t *testing.T) {
	e := s.env(t)
	a := e.create(apikey.CreateInput{Name: "a"})
	b := e.create(apikey.CreateInput{Name: "b"})
	missing := "0193f5c4-5a4e-7c1a-9d3b-2f1e0c8b7a61"
	_, _, err := e.svc.Revoke(e.ctx, "", []string{a.Key.ID, missing}, "", "ops")
	wantCode(t, err, apikey.ENOTFOUND)
	if got, _, _ := e.svc.Get(e.ctx, "", a.Key.ID); got.RevokedAt != nil {
		t.Fatal("a failed revoke of two keys revoked the first")
	}
	e.clock.Advance(time.Minute)
	keys, _, err := e.svc.Revoke(e.ctx, "", []string{a.Key.ID, b.Key.ID}, "rotated out", "ops")
	if err != nil || len(keys) != 2 {
		t.Fatal(err)
	}
	got, _, _ := e.svc.Get(e.ctx, "", a.Key.ID)
	if got.RevokedAt == nil || !got.RevokedAt.Equal(e.clock.Now()) || *got.RevokedBy != "ops" || *got.RevokeReason != "rotated out" {
		t.Fatalf("revoked key: %s", dump(got))
	}
	// Revoking again keeps the first revocation.
	e.clock.Advance(time.Minute)
	if _, _, err := e.svc.Revoke(e.ctx, "", []string{a.Key.ID}, "again", "other"); err != nil {
		t.Fatal(err)
	}
	again, _, _ := e.svc.Get(e.ctx, "", a.Key.ID)
	if !again.RevokedAt.Equal(*got.RevokedAt) || *again.RevokeReason != "rotated out" {
		t.Fatalf("second revoke changed the record: %s", dump(again))
	}
	if n := len(e.events(apikey.EventQuery{Action: apikey.ActionKeyRevoke})); n != 2 {
		t.Fatalf("%d revoke events, want 2", n)
	}

	if _, err := e.svc.Delete(e.ctx, "", []string{a.Key.ID}, "ops"); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.svc.Get(e.ctx, "", a.Key.ID)
	wantCode(t, err, apikey.ENOTFOUND)
	evs := e.events(apikey.EventQuery{KeyID: a.Key.ID})
	var actions []string
	for _, ev := range evs {
		actions = append(actions, ev.Action)
	}
	if !slices.Equal(actions, []string{apikey.ActionKeyDelete, apikey.ActionKeyRevoke, apikey.ActionKeyCreate}) {
		t.Fatalf("events of a deleted key: %v", actions)
	}
	_, err = e.svc.Delete(e.ctx, "", []string{a.Key.ID}, "ops")
	wantCode(t, err, apikey.ENOTFOUND)
}

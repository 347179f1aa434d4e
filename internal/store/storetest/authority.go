package storetest

import (
	"slices"
	"testing"

	"github.com/keyadm/keyadm/internal/apikey"
)

// addPrincipal registers a user or team with permissions, or fails the test.
func (e *env) addPrincipal(kind apikey.PrincipalKind, tenant, id string, perms ...string) *apikey.Principal {
	e.t.Helper()
	p, err := e.svc.AddPrincipal(e.ctx, kind, tenant, id, apikey.PrincipalInput{Permissions: perms, Actor: "tester"})
	if err != nil {
		e.t.Fatalf("add %s %s: %v", kind, id, err)
	}
	return p
}

// effective verifies a key and returns its effective permissions, or fails
// the test.
func (e *env) effective(c *apikey.Created, required ...string) []string {
	e.t.Helper()
	k, _, err := e.svc.Verify(e.ctx, "", c.Secret.String(), required...)
	if err != nil {
		e.t.Fatalf("verify %s: %v", c.Key.ID, err)
	}
	return k.Effective
}

func wantPerms(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s = %q, want %q", what, got, want)
	}
}

// wantRejected checks a verify's rejection reason.
func wantRejected(t *testing.T, err error, reason string) {
	t.Helper()
	if apikey.ErrorCode(err) != apikey.EREJECTED || apikey.ErrorReason(err) != reason {
		t.Fatalf("verify: %v (reason %q), want rejected %q", err, apikey.ErrorReason(err), reason)
	}
}

// TestInheritance: a key created without permissions for a registered
// owner and team gets what both grant, and follows later changes to them
// on its very next verify; with free ids it keeps the default, as before.
func (s *Suite) TestInheritance(t *testing.T) {
	e := s.env(t)
	e.addPrincipal(apikey.KindUser, "acme", "alice", "billing:*", "read", "write")
	e.addPrincipal(apikey.KindTeam, "acme", "payments", "billing:read", "read", "deploy")
	c := e.create(apikey.CreateInput{TenantID: "acme", OwnerID: "alice", TeamID: "payments"})
	if !c.Key.Inherits() {
		t.Fatalf("own permissions %q, want none (inherit)", c.Key.Permissions)
	}
	wantPerms(t, "effective", e.effective(c), "billing:read", "read")
	if _, err := e.svc.UpdatePrincipal(e.ctx, apikey.KindTeam, "acme", "payments",
		apikey.PrincipalInput{Permissions: []string{"billing:*", "read", "write"}, Actor: "ops"}); err != nil {
		t.Fatal(err)
	}
	wantPerms(t, "effective after the team's change", e.effective(c), "billing:*", "read", "write")
	k, _, err := e.svc.Get(e.ctx, "acme", c.Key.ID)
	if err != nil || !k.Inherits() {
		t.Fatalf("stored key %+v, %v: want it to inherit", k, err)
	}

	onlyOwner := e.create(apikey.CreateInput{TenantID: "acme", OwnerID: "alice"})
	wantPerms(t, "owner only", e.effective(onlyOwner), "billing:*", "read", "write")
	free := e.create(apikey.CreateInput{TenantID: "acme", OwnerID: "bob", TeamID: "ops"})
	wantPerms(t, "free ids: own permissions", free.Key.Permissions, apikey.DefaultPermissions...)
	wantPerms(t, "free ids", e.effective(free), apikey.DefaultPermissions...)
	// Another tenant's alice is another user.
	other := e.create(apikey.CreateInput{TenantID: "beta", OwnerID: "alice", Permissions: []string{"admin"}})
	wantPerms(t, "same id, other tenant", e.effective(other), "admin")
}

// TestNarrowing: a key's own scope is narrowed by its owner's and team's
// sets, wildcards grant families, and the tenant's ceiling caps all.
func (s *Suite) TestNarrowing(t *testing.T) {
	e := s.env(t)
	e.addPrincipal(apikey.KindUser, "acme", "alice", "*")
	e.addPrincipal(apikey.KindTeam, "acme", "payments", "billing:*", "read")
	c := e.create(apikey.CreateInput{TenantID: "acme", OwnerID: "alice", TeamID: "payments",
		Permissions: []string{"billing:read", "billing:write", "read"}})
	wantPerms(t, "effective", e.effective(c, "billing:read", "read"), "billing:read", "billing:write", "read")
	// The owner loses billing: the key keeps only what both still grant.
	if _, err := e.svc.UpdatePrincipal(e.ctx, apikey.KindUser, "acme", "alice",
		apikey.PrincipalInput{Permissions: []string{"read", "billing:read"}, Actor: "ops"}); err != nil {
		t.Fatal(err)
	}
	wantPerms(t, "after the owner's change", e.effective(c), "billing:read", "read")
	_, _, err := e.svc.Verify(e.ctx, "", c.Secret.String(), "billing:write")
	wantRejected(t, err, apikey.ReasonInsufficient)
	var ae *apikey.Error
	if !asError(err, &ae) || !slices.Equal(ae.Meta["missing"].([]string), []string{"billing:write"}) {
		t.Fatalf("rejection meta %+v, want missing billing:write", ae)
	}

	// The ceiling, global then the tenant's own, caps every key, free or not.
	free := e.create(apikey.CreateInput{TenantID: "acme", Permissions: []string{"read", "write", "billing:refund"}})
	e.setConfig("", apikey.SettingPermissions, "read,billing:*")
	wantPerms(t, "global ceiling", e.effective(free), "billing:refund", "read")
	e.setConfig("acme", apikey.SettingPermissions, "read")
	wantPerms(t, "tenant ceiling", e.effective(free), "read")
	wantPerms(t, "tenant ceiling, registered", e.effective(c), "read")
	if _, err := e.svc.UnsetConfig(e.ctx, "acme", apikey.SettingPermissions, "ops"); err != nil {
		t.Fatal(err)
	}
	wantPerms(t, "ceiling unset", e.effective(free), "billing:refund", "read")
	_, err = e.svc.SetConfig(e.ctx, "acme", apikey.SettingPermissions, "Read", "ops")
	wantCode(t, err, apikey.EINVALID)
}

// TestAuthorityRefusal: a key cannot be created or updated beyond its
// registered owner's or team's set; nothing is written.
func (s *Suite) TestAuthorityRefusal(t *testing.T) {
	e := s.env(t)
	e.addPrincipal(apikey.KindUser, "acme", "alice", "read", "billing:*")
	e.addPrincipal(apikey.KindTeam, "acme", "payments", "read")
	_, err := e.svc.Create(e.ctx, apikey.CreateInput{TenantID: "acme", Name: "k", OwnerID: "alice", Permissions: []string{"write"}, Actor: "t"})
	wantCode(t, err, apikey.EFORBIDDEN)
	_, err = e.svc.Create(e.ctx, apikey.CreateInput{TenantID: "acme", Name: "k", OwnerID: "alice", TeamID: "payments",
		Permissions: []string{"billing:read"}, Actor: "t"})
	wantCode(t, err, apikey.EFORBIDDEN)
	c := e.create(apikey.CreateInput{TenantID: "acme", OwnerID: "alice", Permissions: []string{"billing:refund"}})
	_, _, err = e.svc.Update(e.ctx, "", c.Key.ID, apikey.UpdateInput{Permissions: []string{"admin"}, Actor: "t"})
	wantCode(t, err, apikey.EFORBIDDEN)
	if n := len(e.events(apikey.EventQuery{Action: apikey.ActionKeyUpdate})); n != 0 {
		t.Fatalf("%d update events after a refusal", n)
	}
	if _, _, err = e.svc.Update(e.ctx, "", c.Key.ID, apikey.UpdateInput{Inherit: true, Actor: "t"}); err != nil {
		t.Fatal(err)
	}
	wantPerms(t, "after update --inherit", e.effective(c), "billing:*", "read")
}

// TestDisableLevels: a key, its owner, its team and its tenant each pause
// it from the next verify, and enabling restores it exactly; revoke stays
// permanent. Every change is an event.
func (s *Suite) TestDisableLevels(t *testing.T) {
	e := s.env(t)
	e.addPrincipal(apikey.KindUser, "acme", "alice", "read")
	e.addPrincipal(apikey.KindTeam, "acme", "payments", "read")
	c := e.create(apikey.CreateInput{TenantID: "acme", OwnerID: "alice", TeamID: "payments"})
	verify := func() error { _, _, err := e.svc.Verify(e.ctx, "", c.Secret.String()); return err }
	levels := []struct {
		name       string
		off, on    func() error
		status     apikey.Status
		offAction  string
		onAction   string
		eventCount int
	}{
		{"key", func() error {
			_, _, err := e.svc.SetKeysDisabled(e.ctx, "acme", []string{c.Key.ID}, true, "ops")
			return err
		},
			func() error {
				_, _, err := e.svc.SetKeysDisabled(e.ctx, "acme", []string{c.Key.ID}, false, "ops")
				return err
			},
			apikey.StatusDisabled, apikey.ActionKeyDisable, apikey.ActionKeyEnable, 1},
		{"user", func() error {
			_, err := e.svc.SetPrincipalEnabled(e.ctx, apikey.KindUser, "acme", "alice", false, "ops")
			return err
		},
			func() error {
				_, err := e.svc.SetPrincipalEnabled(e.ctx, apikey.KindUser, "acme", "alice", true, "ops")
				return err
			},
			apikey.StatusActive, apikey.ActionUserDisable, apikey.ActionUserEnable, 1},
		{"team", func() error {
			_, err := e.svc.SetPrincipalEnabled(e.ctx, apikey.KindTeam, "acme", "payments", false, "ops")
			return err
		},
			func() error {
				_, err := e.svc.SetPrincipalEnabled(e.ctx, apikey.KindTeam, "acme", "payments", true, "ops")
				return err
			},
			apikey.StatusActive, apikey.ActionTeamDisable, apikey.ActionTeamEnable, 1},
		{"tenant", func() error {
			_, err := e.svc.SetConfig(e.ctx, "acme", apikey.SettingKeysEnabled, "false", "ops")
			return err
		},
			func() error {
				_, err := e.svc.SetConfig(e.ctx, "acme", apikey.SettingKeysEnabled, "true", "ops")
				return err
			},
			apikey.StatusActive, apikey.ActionConfigSet, apikey.ActionConfigSet, 3}, // config set always records
	}
	for _, l := range levels {
		if err := l.off(); err != nil {
			t.Fatalf("%s off: %v", l.name, err)
		}
		if err := l.off(); err != nil { // again: no change
			t.Fatalf("%s off again: %v", l.name, err)
		}
		wantRejected(t, verify(), apikey.ReasonDisabled)
		k, now, err := e.svc.Get(e.ctx, "", c.Key.ID)
		if err != nil || k.StatusAt(now) != l.status {
			t.Fatalf("%s off: status %v, %v, want %s", l.name, k.StatusAt(now), err, l.status)
		}
		if err := l.on(); err != nil {
			t.Fatalf("%s on: %v", l.name, err)
		}
		if err := verify(); err != nil {
			t.Fatalf("%s on: verify %v", l.name, err)
		}
		if n := len(e.events(apikey.EventQuery{Action: l.offAction})); n != l.eventCount {
			t.Fatalf("%s: %d %s events, want %d", l.name, n, l.offAction, l.eventCount)
		}
		if n := len(e.events(apikey.EventQuery{Action: l.onAction})); n != l.eventCount {
			t.Fatalf("%s: %d %s events, want %d", l.name, n, l.onAction, l.eventCount)
		}
	}
	wantPerms(t, "restored exactly", e.effective(c), "read")
}

// TestDisabledStatus: a paused key lists as disabled, not active; revoke
// is permanent, and enable cannot undo it.
func (s *Suite) TestDisabledStatus(t *testing.T) {
	e := s.env(t)
	c := e.create(apikey.CreateInput{})
	verify := func() error { _, _, err := e.svc.Verify(e.ctx, "", c.Secret.String()); return err }
	if _, _, err := e.svc.SetKeysDisabled(e.ctx, "", []string{c.Key.ID}, true, "ops"); err != nil {
		t.Fatal(err)
	}
	page, err := e.svc.List(e.ctx, apikey.ListInput{Filter: apikey.KeyFilter{Status: apikey.StatusDisabled}})
	if err != nil || len(page.Keys) != 1 || page.Keys[0].ID != c.Key.ID {
		t.Fatalf("list disabled: %+v, %v", page, err)
	}
	if page, _ := e.svc.List(e.ctx, apikey.ListInput{Filter: apikey.KeyFilter{Status: apikey.StatusActive}}); len(page.Keys) != 0 {
		t.Fatalf("list active: %d keys, want none", len(page.Keys))
	}
	if _, _, err := e.svc.Revoke(e.ctx, "", []string{c.Key.ID}, "", "ops"); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.svc.SetKeysDisabled(e.ctx, "", []string{c.Key.ID}, false, "ops")
	wantCode(t, err, apikey.EPOLICY)
	wantRejected(t, verify(), apikey.ReasonRevoked)
}

// TestPrincipals: users and teams are records per tenant: added once,
// listed, updated and removed with an event each; one that still names
// an unrevoked key is not removed.
func (s *Suite) TestPrincipals(t *testing.T) {
	e := s.env(t)
	name, email := "Alice", "alice@example.com"
	if _, err := e.svc.AddPrincipal(e.ctx, apikey.KindUser, "", "alice",
		apikey.PrincipalInput{Name: &name, Email: &email, Permissions: []string{"read", "read"}, Actor: "ops"}); err != nil {
		t.Fatal(err)
	}
	p, _, err := e.svc.GetPrincipal(e.ctx, apikey.KindUser, "", "alice")
	if err != nil || p.TenantID != apikey.DefaultTenant || *p.Email != email || !p.Enabled || !slices.Equal(p.Permissions, []string{"read"}) {
		t.Fatalf("get: %+v, %v", p, err)
	}
	_, err = e.svc.AddPrincipal(e.ctx, apikey.KindUser, "", "alice", apikey.PrincipalInput{Permissions: []string{"read"}})
	wantCode(t, err, apikey.EINVALID)
	_, err = e.svc.AddPrincipal(e.ctx, apikey.KindUser, "", "bob", apikey.PrincipalInput{Permissions: []string{"Read"}})
	wantCode(t, err, apikey.EINVALID)
	_, err = e.svc.AddPrincipal(e.ctx, apikey.KindTeam, "", "ops", apikey.PrincipalInput{Email: &email, Permissions: []string{"read"}})
	wantCode(t, err, apikey.EINVALID)
	_, _, err = e.svc.GetPrincipal(e.ctx, apikey.KindTeam, "", "alice") // a user, not a team
	wantCode(t, err, apikey.ENOTFOUND)
	e.addPrincipal(apikey.KindUser, "beta", "carol", "read")
	var all []string
	if err := e.svc.ListPrincipals(e.ctx, apikey.KindUser, "", func(p *apikey.Principal) error {
		all = append(all, p.TenantID+"/"+p.ID)
		return nil
	}); err != nil || !slices.Equal(all, []string{"beta/carol", "default/alice"}) {
		t.Fatalf("list: %q, %v", all, err)
	}

	c := e.create(apikey.CreateInput{OwnerID: "alice"})
	_, err = e.svc.RemovePrincipal(e.ctx, apikey.KindUser, "", "alice", "ops")
	wantCode(t, err, apikey.EPOLICY)
	if _, _, err := e.svc.Revoke(e.ctx, "", []string{c.Key.ID}, "", "ops"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RemovePrincipal(e.ctx, apikey.KindUser, "", "alice", "ops"); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.RemovePrincipal(e.ctx, apikey.KindUser, "", "alice", "ops")
	wantCode(t, err, apikey.ENOTFOUND)
	for _, action := range []string{apikey.ActionUserAdd, apikey.ActionUserRemove} {
		evs := e.events(apikey.EventQuery{Action: action, TenantID: apikey.DefaultTenant})
		if len(evs) != 1 || evs[0].Details["user"] != "alice" || evs[0].Actor != "ops" {
			t.Fatalf("%s events: %+v", action, evs)
		}
	}
}

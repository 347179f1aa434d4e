package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// TestConfigLayers: tenant values override global ones, which override the
// built-ins; get reports each value's source; unset falls back.
func (s *Suite) TestConfigLayers(t *testing.T) {
	e := s.env(t)
	source := func(tenant, name string) (string, string) {
		t.Helper()
		cfg, err := e.svc.Config(e.ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range cfg.Values {
			if v.Name == name {
				return v.Value, v.Source
			}
		}
		t.Fatalf("no %s", name)
		return "", ""
	}
	check := func(tenant, name, value, src string) {
		t.Helper()
		if v, s := source(tenant, name); v != value || s != src {
			t.Fatalf("%s %s = %s (%s), want %s (%s)", tenant, name, v, s, value, src)
		}
	}
	check("acme", apikey.SettingMaxKeys, "0", apikey.SourceBuiltin)
	e.setConfig("", apikey.SettingMaxKeys, "5")
	check("acme", apikey.SettingMaxKeys, "5", apikey.SourceGlobal)
	check("", apikey.SettingMaxKeys, "5", apikey.SourceGlobal)
	e.setConfig("acme", apikey.SettingMaxKeys, "2")
	check("acme", apikey.SettingMaxKeys, "2", apikey.SourceTenant)
	check("other", apikey.SettingMaxKeys, "5", apikey.SourceGlobal)
	e.setConfig("acme", apikey.SettingMaxExpiry, "90d")
	check("acme", apikey.SettingMaxExpiry, "P90D", apikey.SourceTenant)
	if _, err := e.svc.UnsetConfig(e.ctx, "acme", apikey.SettingMaxKeys, "tester"); err != nil {
		t.Fatal(err)
	}
	check("acme", apikey.SettingMaxKeys, "5", apikey.SourceGlobal)

	for _, bad := range [][2]string{
		{apikey.SettingMaxKeys, "-1"}, {apikey.SettingMaxKeys, "1001"}, {apikey.SettingMaxKeys, "many"},
		{apikey.SettingKeysEnabled, "maybe"}, {apikey.SettingMaxExpiry, "soon"}, {apikey.SettingMaxExpiry, "0"},
		{apikey.SettingKeyPrefix, "Q"}, {apikey.SettingKeyPrefix, "has_underscore"}, {"no_such_thing", "1"},
	} {
		_, err := e.svc.SetConfig(e.ctx, "acme", bad[0], bad[1], "tester")
		wantCode(t, err, apikey.EINVALID)
	}
	evs := e.events(apikey.EventQuery{TenantID: "acme"})
	if len(evs) != 3 || evs[0].Action != apikey.ActionConfigUnset || evs[0].Details["old"] != "2" {
		t.Fatalf("config events: %+v", evs)
	}
}

// TestQuota: max_keys_per_user counts active keys per tenant and owner,
// owner-less keys together; revoked and expired keys free a place.
func (s *Suite) TestQuota(t *testing.T) {
	e := s.env(t)
	e.setConfig("acme", apikey.SettingMaxKeys, "2")
	alice := apikey.CreateInput{TenantID: "acme", OwnerID: "alice"}
	a1 := e.create(alice)
	e.create(apikey.CreateInput{TenantID: "acme", OwnerID: "alice", Expiry: apikey.Expiry{In: new(time.Hour)}})
	_, err := e.svc.Create(e.ctx, withName(alice, "third"))
	wantCode(t, err, apikey.EPOLICY)
	e.create(apikey.CreateInput{TenantID: "acme", OwnerID: "bob"})
	e.create(apikey.CreateInput{TenantID: "other", OwnerID: "alice"})
	e.create(apikey.CreateInput{TenantID: "acme"})
	e.create(apikey.CreateInput{TenantID: "acme"})
	_, err = e.svc.Create(e.ctx, apikey.CreateInput{TenantID: "acme", Name: "x"})
	wantCode(t, err, apikey.EPOLICY)

	e.clock.Advance(time.Hour) // alice's second key expires
	e.create(alice)
	_, err = e.svc.Create(e.ctx, withName(alice, "again"))
	wantCode(t, err, apikey.EPOLICY)
	if _, _, err := e.svc.Revoke(e.ctx, "", []string{a1.Key.ID}, "", "x"); err != nil {
		t.Fatal(err)
	}
	e.create(alice)
}

// TestQuotaConcurrent: creates racing on one owner never exceed the limit.
func (s *Suite) TestQuotaConcurrent(t *testing.T) {
	e := s.env(t)
	e.setConfig("race", apikey.SettingMaxKeys, "3")
	var wg sync.WaitGroup
	var mu sync.Mutex
	created, refused := 0, 0
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := e.svc.Create(e.ctx, apikey.CreateInput{TenantID: "race", OwnerID: "o", Name: fmt.Sprint(i), Actor: "x"})
			mu.Lock()
			defer mu.Unlock()
			switch apikey.ErrorCode(err) {
			case "":
				created++
			case apikey.EPOLICY:
				refused++
			default:
				t.Errorf("create %d: %v", i, err)
			}
		}(i)
	}
	wg.Wait()
	if created != 3 || refused != 13 {
		t.Fatalf("created %d, refused %d; want 3 and 13", created, refused)
	}
}

// TestExpiryPolicy: max_api_key_expiry bounds every expiry; default_expiry
// applies when none is given, capped by the max; with a max and no
// default, a key gets the max.
func (s *Suite) TestExpiryPolicy(t *testing.T) {
	e := s.env(t)
	now := e.clock.Now()
	e.setConfig("p", apikey.SettingMaxExpiry, "P30D")
	k := e.create(apikey.CreateInput{TenantID: "p"}).Key
	if k.ExpiresAt == nil || !k.ExpiresAt.Equal(now.Add(30*apikey.Day)) {
		t.Fatalf("with a max and no default: expires %v", k.ExpiresAt)
	}
	_, err := e.svc.Create(e.ctx, apikey.CreateInput{TenantID: "p", Name: "x", Expiry: apikey.Expiry{In: new(31 * apikey.Day)}})
	wantCode(t, err, apikey.EPOLICY)
	_, err = e.svc.Create(e.ctx, apikey.CreateInput{TenantID: "p", Name: "x", Expiry: apikey.Expiry{At: new(now.Add(40 * apikey.Day))}})
	wantCode(t, err, apikey.EPOLICY)
	e.create(apikey.CreateInput{TenantID: "p", Expiry: apikey.Expiry{In: new(30 * apikey.Day)}})

	e.setConfig("p", apikey.SettingDefaultExpiry, "7d")
	if k := e.create(apikey.CreateInput{TenantID: "p"}).Key; !k.ExpiresAt.Equal(now.Add(7 * apikey.Day)) {
		t.Fatalf("default expiry: %v", k.ExpiresAt)
	}
	e.setConfig("p", apikey.SettingDefaultExpiry, "1y")
	if k := e.create(apikey.CreateInput{TenantID: "p"}).Key; !k.ExpiresAt.Equal(now.Add(30 * apikey.Day)) {
		t.Fatalf("default beyond the max: %v", k.ExpiresAt)
	}
	_, _, err = e.svc.Update(e.ctx, "", k.ID, apikey.UpdateInput{Expiry: apikey.Expiry{None: true}})
	wantCode(t, err, apikey.EPOLICY)
	_, _, err = e.svc.Update(e.ctx, "", k.ID, apikey.UpdateInput{Expiry: apikey.Expiry{In: new(60 * apikey.Day)}})
	wantCode(t, err, apikey.EPOLICY)
}

// TestKeysDisabled: api_keys_enabled=false refuses create.
func (s *Suite) TestKeysDisabled(t *testing.T) {
	e := s.env(t)
	e.setConfig("", apikey.SettingKeysEnabled, "false")
	_, err := e.svc.Create(e.ctx, apikey.CreateInput{TenantID: "any", Name: "x"})
	wantCode(t, err, apikey.EPOLICY)
	e.setConfig("any", apikey.SettingKeysEnabled, "true")
	e.create(apikey.CreateInput{TenantID: "any"})
}

// TestKeyPrefix: a tenant's key_prefix starts its new keys.
func (s *Suite) TestKeyPrefix(t *testing.T) {
	e := s.env(t)
	e.setConfig("acme", apikey.SettingKeyPrefix, "acme2")
	c := e.create(apikey.CreateInput{TenantID: "acme"})
	if c.Secret.Prefix != "acme2" || c.Key.Hint[:6] != "acme2_" {
		t.Fatalf("prefix %q hint %q", c.Secret.Prefix, c.Key.Hint)
	}
	if _, _, err := e.svc.Verify(e.ctx, "", c.Secret.String()); err != nil {
		t.Fatal(err)
	}
}

func withName(in apikey.CreateInput, name string) apikey.CreateInput {
	in.Name = name
	return in
}

// TestApplyConfig: several changes commit together with an event each; an
// invalid one refuses them all.
func (s *Suite) TestApplyConfig(t *testing.T) {
	e := s.env(t)
	e.setConfig("acme", apikey.SettingMaxKeys, "5")
	_, err := e.svc.ApplyConfig(e.ctx, "acme", []apikey.ConfigChange{
		{Name: apikey.SettingKeyPrefix, Value: "acme"},
		{Name: apikey.SettingMaxExpiry, Value: "soon"},
	}, "ops")
	wantCode(t, err, apikey.EINVALID)
	cfg, err := e.svc.ApplyConfig(e.ctx, "acme", []apikey.ConfigChange{
		{Name: apikey.SettingKeyPrefix, Value: "acme"},
		{Name: apikey.SettingMaxExpiry, Value: "30d"},
		{Name: apikey.SettingMaxKeys, Unset: true},
		{Name: apikey.SettingDefaultExpiry, Unset: true}, // not set: no event
	}, "ops")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.KeyPrefix() != "acme" || cfg.MaxExpiry() != 30*apikey.Day || cfg.MaxKeysPerUser() != 0 {
		t.Fatalf("config after apply: %+v", cfg)
	}
	evs := e.events(apikey.EventQuery{TenantID: "acme", Actor: "ops"})
	if len(evs) != 3 || evs[0].Action != apikey.ActionConfigUnset || evs[2].Details["new"] != "acme" {
		t.Fatalf("events: %+v", evs)
	}
}

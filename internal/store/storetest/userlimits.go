package storetest

import (
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// rateUser registers a user of tenant acme with rate-limit windows.
func (e *env) rateUser(id string, rates ...apikey.Rate) {
	e.t.Helper()
	_, err := e.svc.AddPrincipal(e.ctx, apikey.KindUser, "acme", id,
		apikey.PrincipalInput{Permissions: []string{"read"}, RateLimits: rates, Actor: "tester"})
	if err != nil {
		e.t.Fatal(err)
	}
}

// TestUserRateLimitShared: 16 goroutines verifying two keys of one user
// with a 10/1h limit get exactly 10 through in all: the user's budget is
// one, whichever key spends it.
func (s *Suite) TestUserRateLimitShared(t *testing.T) {
	e := s.env(t)
	e.rateUser("carol", apikey.Rate{Limit: 10, Per: time.Hour})
	keys := []string{
		e.create(apikey.CreateInput{TenantID: "acme", OwnerID: "carol", Name: "a"}).Secret.String(),
		e.create(apikey.CreateInput{TenantID: "acme", OwnerID: "carol", Name: "b"}).Secret.String(),
	}
	var n atomic.Int64
	got := race(t, 16, 2, func() error {
		_, err := e.admit(keys[n.Add(1)%2], netip.Addr{})
		return err
	})
	if got[""] != 10 || got[apikey.ReasonRateLimited] != 22 {
		t.Fatalf("outcomes %v; want 10 through and 22 rate_limited across both keys", got)
	}
	// Another user's keys have their own budget; a free owner id none.
	e.rateUser("dave", apikey.Rate{Limit: 1, Per: time.Hour})
	if _, err := e.admit(e.create(apikey.CreateInput{TenantID: "acme", OwnerID: "dave"}).Secret.String(), netip.Addr{}); err != nil {
		t.Fatalf("another user's key: %v", err)
	}
}

// TestUserRateLimitStricter: the stricter of the key's and its owner's
// limits decides, a request refused by either spends nothing of the
// other, and the user's limits change (audited) and clear at once.
func (s *Suite) TestUserRateLimitStricter(t *testing.T) {
	e := s.env(t)
	e.rateUser("bob", apikey.Rate{Limit: 3, Per: time.Hour})
	a := e.create(apikey.CreateInput{TenantID: "acme", OwnerID: "bob", Name: "a",
		Limits: apikey.LimitsInput{RateLimits: []apikey.Rate{{Limit: 5, Per: time.Hour}}}}).Secret.String()
	b := e.create(apikey.CreateInput{TenantID: "acme", OwnerID: "bob", Name: "b"}).Secret.String()
	for i, secret := range []string{a, a, b} {
		if _, err := e.admit(secret, netip.Addr{}); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	adm, err := e.admit(a, netip.Addr{})
	if apikey.ErrorReason(err) != apikey.ReasonRateLimited || !strings.Contains(err.Error(), `owner "bob"`) ||
		len(adm.Rates) != 2 || apikey.Tightest(adm.Rates).Rate.Limit != 3 || adm.Rates[1].RetryAfter != 20*time.Minute {
		t.Fatalf("over the user's 3/1h: %v %+v", err, adm)
	}
	e.clock.Advance(20 * time.Minute)
	adm, err = e.admit(a, netip.Addr{})
	if err != nil || adm.Rates[0].Remaining != 3 { // 5/1h: 3 taken over 20m, the refused one not among them
		t.Fatalf("after the wait: %v %+v", err, adm)
	}
	_, err = e.svc.UpdatePrincipal(e.ctx, apikey.KindUser, "acme", "bob", apikey.PrincipalInput{ClearRateLimits: true, Actor: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if _, err := e.admit(b, netip.Addr{}); err != nil {
			t.Fatalf("after clearing the user's limit: %v", err)
		}
	}
	evs := e.events(apikey.EventQuery{Action: apikey.ActionUserUpdate})
	changes, _ := evs[0].Details["changes"].(map[string]any)
	if c, _ := changes["rateLimits"].(map[string]any); c == nil || c["new"] == nil {
		t.Fatalf("user.update event lacks the rate limits' change: %v", evs[0].Details)
	}
	if _, err := e.svc.AddPrincipal(e.ctx, apikey.KindTeam, "acme", "ops", apikey.PrincipalInput{Permissions: []string{"read"},
		RateLimits: []apikey.Rate{{Limit: 1, Per: time.Hour}}, Actor: "tester"}); apikey.ErrorCode(err) != apikey.EINVALID {
		t.Fatalf("a team's rate limit: %v, want invalid", err)
	}
}

package storetest

import (
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// limitedKey creates a key with the given limits.
func (e *env) limitedKey(l apikey.LimitsInput) *apikey.Created {
	e.t.Helper()
	return e.create(apikey.CreateInput{TenantID: "acme", Name: "limited", Limits: l})
}

// admit verifies a secret the way serve does: check (the key's state, the
// client's address, the required permissions), then the limits that spend.
func (e *env) admit(secret string, client netip.Addr, required ...string) (*apikey.Admission, error) {
	k, _, err := e.svc.CheckFrom(e.ctx, secret, client, required...)
	if err != nil {
		return nil, err
	}
	return e.svc.Admit(e.ctx, k)
}

// TestLimitsRoundTrip: limits read back as set, update changes and clears
// them, and the audit trail records each change.
func (s *Suite) TestLimitsRoundTrip(t *testing.T) {
	e := s.env(t)
	rates, _ := apikey.ParseRates("rateLimits", []string{"1000/1h", "10/1s"})
	ips, _ := apikey.ParseAllowIPs([]string{"10.0.0.0/8", "2001:db8::1"})
	refill := apikey.Rate{Limit: 50, Per: apikey.Day}
	c := e.limitedKey(apikey.LimitsInput{RateLimits: rates, Uses: new(int64(7)), Refill: &refill, AllowIPs: ips})
	now := e.clock.Now()
	got, _, err := e.svc.Get(e.ctx, "", c.Key.ID)
	if err != nil {
		t.Fatal(err)
	}
	l := got.Limits
	if len(l.RateLimits) != 2 || l.RateLimits[0] != (apikey.Rate{Limit: 10, Per: time.Second}) ||
		*l.UsesRemaining != 7 || *l.Refill != refill || !l.RefilledAt.Equal(now) ||
		!slices.Equal(apikey.PrefixStrings(l.AllowIPs), []string{"10.0.0.0/8", "2001:db8::1/128"}) {
		t.Fatalf("limits: %s", dump(got))
	}
	if at := l.NextRefill(now); !at.Equal(now.Add(apikey.Day)) {
		t.Fatalf("next refill %v", at)
	}
	_, _, err = e.svc.Update(e.ctx, "", c.Key.ID, apikey.UpdateInput{Actor: "ops",
		Limits: apikey.LimitsInput{ClearRateLimits: true, ClearUses: true, ClearAllowIPs: true}})
	if err != nil {
		t.Fatal(err)
	}
	got, _, _ = e.svc.Get(e.ctx, "", c.Key.ID)
	if got.Limited() || got.Refill != nil || got.AllowIPs != nil {
		t.Fatalf("cleared limits: %s", dump(got))
	}
	evs := e.events(apikey.EventQuery{KeyID: c.Key.ID, Action: apikey.ActionKeyUpdate})
	changes, _ := evs[0].Details["changes"].(map[string]any)
	for _, f := range []string{"rateLimits", "uses", "allowIps"} {
		if changes[f] == nil {
			t.Errorf("audit changes lack %s: %v", f, changes)
		}
	}
	created := e.events(apikey.EventQuery{KeyID: c.Key.ID, Action: apikey.ActionKeyCreate})
	if created[0].Details["uses"] == nil || created[0].Details["rateLimits"] == nil {
		t.Errorf("create event lacks limits: %v", created[0].Details)
	}
}

// TestCreditsExact: 16 goroutines verifying a key with 100 uses get
// exactly 100 successes; the rest are usage_exceeded.
func (s *Suite) TestCreditsExact(t *testing.T) {
	e := s.env(t)
	c := e.limitedKey(apikey.LimitsInput{Uses: new(int64(100))})
	got := race(t, 16, 10, func() error {
		_, _, err := e.svc.Verify(e.ctx, "", c.Secret.String())
		return err
	})
	if got[""] != 100 || got[apikey.ReasonUsageExceeded] != 60 {
		t.Fatalf("outcomes %v; want 100 valid and 60 usage_exceeded", got)
	}
	k, _, _ := e.svc.Get(e.ctx, "", c.Key.ID)
	if *k.UsesRemaining != 0 || k.UseCount != 100 {
		t.Fatalf("after: %d left, use count %d", *k.UsesRemaining, k.UseCount)
	}
}

// TestCreditsRefill: credits refill lazily, to the refill amount, once per
// period however many periods passed, and a refused verify spends nothing.
func (s *Suite) TestCreditsRefill(t *testing.T) {
	e := s.env(t)
	c := e.limitedKey(apikey.LimitsInput{Uses: new(int64(2)), Refill: &apikey.Rate{Limit: 3, Per: apikey.Day}})
	for i := range 3 {
		_, err := e.admit(c.Secret.String(), netip.Addr{})
		if want := i == 2; (apikey.ErrorReason(err) == apikey.ReasonUsageExceeded) != want {
			t.Fatalf("verify %d: %v", i, err)
		}
	}
	e.clock.Advance(3*apikey.Day + time.Hour)
	adm, err := e.admit(c.Secret.String(), netip.Addr{})
	if err != nil || *adm.Remaining != 2 {
		t.Fatalf("after refill: %v, %+v", err, adm)
	}
	want := time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC) // the fourth day after creation
	if !adm.RefillsAt.Equal(want) {
		t.Fatalf("refills at %v, want %v", adm.RefillsAt, want)
	}
}

// TestRateLimitGCRA: a 3/1m window lets 3 through, refuses the 4th with
// the wait until one more fits, and lets one through after it.
func (s *Suite) TestRateLimitGCRA(t *testing.T) {
	e := s.env(t)
	c := e.limitedKey(apikey.LimitsInput{RateLimits: []apikey.Rate{{Limit: 3, Per: time.Minute}}})
	for i := range 3 {
		adm, err := e.admit(c.Secret.String(), netip.Addr{})
		if err != nil || adm.Rates[0].Remaining != int64(2-i) {
			t.Fatalf("request %d: %v %+v", i, err, adm)
		}
	}
	adm, err := e.admit(c.Secret.String(), netip.Addr{})
	if apikey.ErrorReason(err) != apikey.ReasonRateLimited || adm.Rates[0].RetryAfter != 20*time.Second ||
		adm.Rates[0].Reset != time.Minute {
		t.Fatalf("4th: %v %+v", err, adm.Rates)
	}
	e.clock.Advance(20 * time.Second)
	if _, err := e.admit(c.Secret.String(), netip.Addr{}); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
}

// TestRateLimitExact: 16 goroutines against a 10/1h window get exactly 10
// through; a refused request spends no credit.
func (s *Suite) TestRateLimitExact(t *testing.T) {
	e := s.env(t)
	c := e.limitedKey(apikey.LimitsInput{RateLimits: []apikey.Rate{{Limit: 10, Per: time.Hour}}, Uses: new(int64(100))})
	got := race(t, 16, 2, func() error {
		_, err := e.admit(c.Secret.String(), netip.Addr{})
		return err
	})
	k, _, _ := e.svc.Get(e.ctx, "", c.Key.ID)
	if got[""] != 10 || got[apikey.ReasonRateLimited] != 22 || *k.UsesRemaining != 90 {
		t.Fatalf("outcomes %v, %d credits left; want 10 through, 22 rate_limited, 90 left", got, *k.UsesRemaining)
	}
}

// TestAllowIPs: a key with an allowlist refuses other clients, spending
// nothing.
func (s *Suite) TestAllowIPs(t *testing.T) {
	e := s.env(t)
	ips, _ := apikey.ParseAllowIPs([]string{"192.0.2.0/24"})
	c := e.limitedKey(apikey.LimitsInput{AllowIPs: ips, Uses: new(int64(1))})
	if _, err := e.admit(c.Secret.String(), netip.MustParseAddr("198.51.100.7")); apikey.ErrorReason(err) != apikey.ReasonIPNotAllowed {
		t.Fatalf("outsider: %v", err)
	}
	if _, err := e.admit(c.Secret.String(), netip.MustParseAddr("::ffff:192.0.2.9")); err != nil {
		t.Fatalf("insider: %v", err)
	}
}

// TestUsageCounts: counts add up per key, hour and outcome; valid ones
// feed the use count that list --sort uses orders by.
func (s *Suite) TestUsageCounts(t *testing.T) {
	e := s.env(t)
	a, b := e.create(apikey.CreateInput{Name: "a"}), e.create(apikey.CreateInput{TenantID: "other", Name: "b"})
	h := e.clock.Now().Truncate(time.Hour)
	add := []apikey.UsageCount{
		{KeyID: a.Key.ID, TenantID: "default", Hour: h.Add(5 * time.Minute), Outcome: "valid", Count: 3},
		{KeyID: a.Key.ID, TenantID: "default", Hour: h.Add(time.Hour), Outcome: "rate_limited", Count: 2},
		{KeyID: b.Key.ID, TenantID: "other", Hour: h, Outcome: "valid", Count: 5},
	}
	for range 2 {
		if err := e.svc.RecordActivity(e.ctx, apikey.Activity{Counts: add}); err != nil {
			t.Fatal(err)
		}
	}
	var got []apikey.UsageCount
	err := e.svc.Usage(e.ctx, apikey.UsageQuery{TenantID: "default", Since: h}, func(c apikey.UsageCount) error {
		got = append(got, c)
		return nil
	})
	if err != nil || len(got) != 2 || got[0].Count != 6 || !got[0].Hour.Equal(h) || got[1].Outcome != "rate_limited" {
		t.Fatalf("usage: %v %+v", err, got)
	}
	keys, err := e.svc.List(e.ctx, apikey.ListInput{Sort: apikey.Sort{Field: apikey.SortUses, Desc: true}})
	if err != nil || len(keys.Keys) != 2 || keys.Keys[0].ID != b.Key.ID || keys.Keys[0].UseCount != 10 {
		t.Fatalf("list by uses: %v %+v", err, keys)
	}
}

// race runs fn each times in each of n goroutines at once, and counts the
// outcomes by rejection reason ("" for success); other errors fail the test.
func race(t *testing.T, n, each int, fn func() error) map[string]int {
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				err := fn()
				if err != nil && apikey.ErrorCode(err) != apikey.EREJECTED {
					t.Errorf("unexpected error: %v", err)
				}
				mu.Lock()
				got[apikey.ErrorReason(err)]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return got
}

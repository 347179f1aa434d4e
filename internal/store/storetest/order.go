package storetest

import (
	"net/netip"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// TestVerifyOrder: verify's checks refuse in a fixed order, and a refused
// request spends nothing: the allowlist before the permissions (an outsider
// learns nothing of what the key grants), the permissions before the rate
// limits, the rate limits before the credits.
func (s *Suite) TestVerifyOrder(t *testing.T) {
	e := s.env(t)
	ips, _ := apikey.ParseAllowIPs([]string{"192.0.2.0/24"})
	c := e.limitedKey(apikey.LimitsInput{AllowIPs: ips, Uses: ptr(int64(2)),
		RateLimits: []apikey.Rate{{Limit: 1, Per: time.Hour}}})
	secret, inside, outside := c.Secret.String(), netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("198.51.100.7")
	step := func(name string, client netip.Addr, want string, required ...string) {
		t.Helper()
		_, err := e.admit(secret, client, required...)
		if got := apikey.ErrorReason(err); got != want || (want == "" && err != nil) {
			t.Fatalf("%s: %v, want %q", name, err, want)
		}
	}
	step("outsider lacking a permission", outside, apikey.ReasonIPNotAllowed, "write")
	step("insider lacking a permission", inside, apikey.ReasonInsufficient, "write")
	step("first good request", inside, "", "read") // the refusals above spent nothing
	step("over the rate", inside, apikey.ReasonRateLimited)
	e.clock.Advance(time.Hour)
	step("second good request", inside, "") // the rate refusal spent no credit
	e.clock.Advance(time.Hour)
	step("out of uses", inside, apikey.ReasonUsageExceeded)
	if _, _, err := e.svc.Update(e.ctx, "", c.Key.ID, apikey.UpdateInput{Actor: "ops", Limits: apikey.LimitsInput{Uses: ptr(int64(1))}}); err != nil {
		t.Fatal(err)
	}
	step("after a top-up", inside, "") // the credit refusal spent no rate
}

package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// TestUserRateLimitHTTP: two keys of a user limited to 2 a minute share
// the budget: the third request, whichever key sends it, is 429
// rate_limited with Retry-After and the user's RateLimit headers, and the
// stricter of a key's and its owner's limits is the one reported.
func TestUserRateLimitHTTP(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		_, err := h.svc.AddPrincipal(context.Background(), apikey.KindUser, "default", "erin", apikey.PrincipalInput{
			Permissions: []string{"read"}, RateLimits: []apikey.Rate{{Limit: 2, Per: time.Minute}}, Actor: "tester"})
		if err != nil {
			t.Fatal(err)
		}
		_, a := h.key(apikey.CreateInput{Name: "a", OwnerID: "erin", Limits: apikey.LimitsInput{
			RateLimits: []apikey.Rate{{Limit: 100, Per: time.Minute}}}})
		_, b := h.key(apikey.CreateInput{Name: "b", OwnerID: "erin"})
		for i, secret := range []string{a, b} {
			r := h.do("POST", "/v1/verify", withKey(secret))
			r.want(t, http.StatusOK, nil)
			if r.header.Get("RateLimit-Limit") != "2" || r.header.Get("RateLimit-Remaining") != []string{"1", "0"}[i] {
				t.Fatalf("request %d: headers %v", i, r.header)
			}
		}
		r := h.do("POST", "/v1/verify", withKey(a))
		r.wantError(t, http.StatusTooManyRequests, apikey.ReasonRateLimited)
		if r.header.Get("Retry-After") != "30" || r.header.Get("RateLimit-Limit") != "2" || !strings.Contains(r.body, `owner \"erin\"`) {
			t.Fatalf("429: headers %v, body %s", r.header, r.body)
		}
	})
}

// TestVerifyOrderHTTP: a client outside a key's allowlist is refused 403
// ip_not_allowed even when the key also lacks the required permission: it
// learns nothing of what the key grants (no meta.missing).
func TestVerifyOrderHTTP(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		allow, _ := apikey.ParseAllowIPs([]string{"192.0.2.0/24"})
		_, secret := h.key(apikey.CreateInput{Name: "office", Limits: apikey.LimitsInput{AllowIPs: allow}})
		r := h.do("POST", "/v1/verify?permission=write", withKey(secret))
		r.wantError(t, http.StatusForbidden, apikey.ReasonIPNotAllowed)
		if strings.Contains(r.body, "missing") {
			t.Fatalf("ip_not_allowed says what the key lacks: %s", r.body)
		}
	})
}

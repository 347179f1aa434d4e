package server_test

import (
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/server"
)

// TestRateLimitHeaders: a key limited to 3 a minute gets RateLimit headers
// on every answer, and the 4th request 429 rate_limited with Retry-After.
func TestRateLimitHeaders(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		_, secret := h.key(apikey.CreateInput{Name: "limited", Limits: apikey.LimitsInput{
			RateLimits: []apikey.Rate{{Limit: 3, Per: time.Minute}, {Limit: 100, Per: time.Hour}}}})
		for i := range 3 {
			var ans struct {
				Limits struct {
					RateLimit struct{ Rate string } `json:"rateLimit"`
				} `json:"limits"`
			}
			r := h.do("POST", "/v1/verify", withKey(secret))
			r.want(t, http.StatusOK, &ans)
			if r.header.Get("RateLimit-Limit") != "3" || r.header.Get("RateLimit-Remaining") != []string{"2", "1", "0"}[i] ||
				r.header.Get("RateLimit-Reset") != []string{"20", "40", "60"}[i] || ans.Limits.RateLimit.Rate != "3/1m" {
				t.Fatalf("request %d: headers %v, body %s", i, r.header, r.body)
			}
		}
		r := h.do("POST", "/v1/verify", withKey(secret))
		r.wantError(t, http.StatusTooManyRequests, apikey.ReasonRateLimited)
		if r.header.Get("Retry-After") != "20" || r.header.Get("RateLimit-Remaining") != "0" {
			t.Fatalf("429 headers %v", r.header)
		}
		// an unlimited key carries none
		_, plain := h.key(apikey.CreateInput{Name: "plain"})
		if r := h.do("POST", "/v1/verify", withKey(plain)); r.header.Get("RateLimit-Limit") != "" {
			t.Fatalf("unlimited key has headers %v", r.header)
		}
	})
}

// TestUsageExceededHTTP: a key with 2 uses answers 200 twice, saying what
// is left, then 429 usage_exceeded.
func TestUsageExceededHTTP(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		_, secret := h.key(apikey.CreateInput{Name: "metered", Limits: apikey.LimitsInput{Uses: ptr(int64(2))}})
		for i := range 2 {
			var ans struct {
				Limits struct{ UsesRemaining int64 } `json:"limits"`
			}
			h.do("POST", "/v1/verify", withKey(secret)).want(t, http.StatusOK, &ans)
			if ans.Limits.UsesRemaining != int64(1-i) {
				t.Fatalf("verify %d: %d left", i, ans.Limits.UsesRemaining)
			}
		}
		h.do("POST", "/v1/verify", withKey(secret)).wantError(t, http.StatusTooManyRequests, apikey.ReasonUsageExceeded)
	})
}

// TestAllowIPTrustedProxy: a key allowed from 192.0.2.0/24 is refused
// from 127.0.0.1; X-Forwarded-For counts only from a trusted proxy, and
// then its rightmost untrusted hop is the client.
func TestAllowIPTrustedProxy(t *testing.T) {
	allow, _ := apikey.ParseAllowIPs([]string{"192.0.2.0/24"})
	in := apikey.CreateInput{Name: "office", Limits: apikey.LimitsInput{AllowIPs: allow}}
	t.Run("untrusted", func(t *testing.T) {
		h := start(t, "sqlite", server.Config{})
		_, secret := h.key(in)
		h.do("POST", "/v1/verify", withKey(secret)).wantError(t, http.StatusForbidden, apikey.ReasonIPNotAllowed)
		// not believed: the peer is no trusted proxy
		h.do("POST", "/v1/verify", withKey(secret), withHeader("X-Forwarded-For", "192.0.2.7")).
			wantError(t, http.StatusForbidden, apikey.ReasonIPNotAllowed)
	})
	t.Run("trusted", func(t *testing.T) {
		h := start(t, "sqlite", server.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}})
		_, secret := h.key(in)
		h.do("POST", "/v1/verify", withKey(secret), withHeader("X-Forwarded-For", "192.0.2.7")).want(t, http.StatusOK, nil)
		// the client's own claim, left of the real client, is ignored
		h.do("POST", "/v1/verify", withKey(secret), withHeader("X-Forwarded-For", "192.0.2.7, 198.51.100.1, 10.1.1.1")).
			wantError(t, http.StatusForbidden, apikey.ReasonIPNotAllowed)
		h.do("POST", "/v1/verify", withKey(secret), withHeader("X-Forwarded-For", "198.51.100.1, 192.0.2.9, 10.1.1.1")).
			want(t, http.StatusOK, nil)
	})
}

// TestFailedVerifiesThrottled: after 5 failed verifications in a minute a
// client gets 429, even with a good key; other clients are not affected.
func TestFailedVerifiesThrottled(t *testing.T) {
	h := start(t, "sqlite", server.Config{MaxFailedVerifies: apikey.Rate{Limit: 5, Per: time.Minute},
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	_, good := h.key(apikey.CreateInput{Name: "good"})
	unknown, _ := apikey.GenerateSecret(nil, "qapi")
	from := func(ip string) opt { return withHeader("X-Forwarded-For", ip) }
	for range 5 {
		h.do("POST", "/v1/verify", withKey(unknown.String()), from("198.51.100.1")).wantError(t, http.StatusUnauthorized, apikey.ReasonUnknown)
	}
	r := h.do("POST", "/v1/verify", withKey(good), from("198.51.100.1"))
	r.wantError(t, http.StatusTooManyRequests, "too_many_failed_verifications")
	if r.header.Get("Retry-After") != "12" || r.header.Get("RateLimit-Limit") != "5" {
		t.Fatalf("headers %v", r.header)
	}
	h.do("POST", "/v1/verify", withKey(good), from("198.51.100.2")).want(t, http.StatusOK, nil)
}

// TestAdminRateLimit: the admin API allows a key its tenant's tiers
// (admin_write_rate, admin_read_rate), then 429 with the headers.
func TestAdminRateLimit(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		_, admin := h.admin("acme")
		if _, err := h.svc.SetConfig(t.Context(), "acme", apikey.SettingAdminReadRate, "2/1m", "tester"); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			r := h.do("GET", "/v1/api-keys", withKey(admin))
			r.want(t, http.StatusOK, nil)
			if r.header.Get("RateLimit-Limit") != "2" || r.header.Get("RateLimit-Remaining") != []string{"1", "0"}[i] {
				t.Fatalf("read %d headers %v", i, r.header)
			}
		}
		r := h.do("GET", "/v1/api-keys", withKey(admin))
		r.wantError(t, http.StatusTooManyRequests, "admin_rate_limited")
		if r.header.Get("Retry-After") != "30" {
			t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
		}
		// writes have their own tier (default 100/1m)
		r = h.do("POST", "/v1/api-keys", withKey(admin), withJSON(`{"name":"w"}`))
		r.want(t, http.StatusCreated, nil)
		if r.header.Get("RateLimit-Limit") != "100" {
			t.Fatalf("write headers %v", r.header)
		}
	})
}

// TestUsageRoute: verifications are counted by outcome, flushed at
// shutdown, and served by GET /v1/api-keys/{id}/usage.
func TestUsageRoute(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		_, admin := h.admin("default")
		id, secret := h.key(apikey.CreateInput{Name: "busy", Limits: apikey.LimitsInput{Uses: ptr(int64(2))}})
		for range 3 {
			h.do("POST", "/v1/verify", withKey(secret))
		}
		var got struct {
			Data []struct {
				KeyID, Outcome string
				Count          int64
			}
		}
		h.do("GET", "/v1/api-keys/"+id+"/usage", withKey(admin)).want(t, http.StatusOK, &got)
		if len(got.Data) != 0 {
			t.Fatalf("counted before a flush: %+v", got)
		}
		if err := h.stop(); err != nil {
			t.Fatal(err)
		}
		var counts []apikey.UsageCount
		if err := h.svc.Usage(t.Context(), apikey.UsageQuery{KeyID: id}, func(c apikey.UsageCount) error {
			counts = append(counts, c)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(counts) != 2 || counts[0].Outcome != "usage_exceeded" || counts[0].Count != 1 || counts[1].Outcome != "valid" || counts[1].Count != 2 {
			t.Fatalf("counts %+v", counts)
		}
		if k := h.get(id); k.UseCount != 2 {
			t.Fatalf("use count %d", k.UseCount)
		}
	})
}

func ptr[T any](v T) *T { return &v }

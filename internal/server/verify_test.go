package server_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// TestVerify: a good key, in either header, gets 200 and its identity; every
// kind of bad key gets 401 with the reason as its code, and no body echoes
// the key.
func TestVerify(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		in := 90 * apikey.Day
		id, secret := h.key(apikey.CreateInput{
			TenantID: "acme", TeamID: "billing", OwnerID: "svc@example.com", Name: "billing-sync",
			Permissions: []string{"read", "write"}, Expiry: apikey.Expiry{In: &in}, Metadata: map[string]string{"env": "prod"},
		})
		want := map[string]any{"id": id, "name": "billing-sync", "tenantId": "acme", "teamId": "billing",
			"ownerId": "svc@example.com", "permissions": []any{"read", "write"}, "effectivePermissions": []any{"read", "write"},
			"expiresAt": "2026-05-30T12:00:00Z"}
		for name, opts := range map[string][]opt{
			"x-api-key":       {withKey(secret)},
			"bearer":          {withBearer(secret)},
			"lower-case":      {withHeader("Authorization", "bearer "+secret)},
			"both, the same":  {withKey(secret), withBearer(secret)},
			"x-api-key+basic": {withKey(secret), withHeader("Authorization", "Basic dXNlcjpwdw==")},
		} {
			var got map[string]any
			h.do("POST", "/v1/verify", opts...).want(t, http.StatusOK, &got)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: identity %v, want %v", name, got, want)
			}
		}

		unknown, err := apikey.GenerateSecret(nil, "qapi")
		if err != nil {
			t.Fatal(err)
		}
		typo := secret[:10] + flip(secret[10]) + secret[11:]
		revokedID, revoked := h.key(apikey.CreateInput{TenantID: "acme"})
		if _, _, err := h.svc.Revoke(ctx, "", []string{revokedID}, "", "tester"); err != nil {
			t.Fatal(err)
		}
		hour := time.Hour
		_, expiring := h.key(apikey.CreateInput{TenantID: "acme", Expiry: apikey.Expiry{In: &hour}})
		_, disabled := h.key(apikey.CreateInput{TenantID: "off"})
		if _, err := h.svc.SetConfig(ctx, "off", apikey.SettingKeysEnabled, "false", "tester"); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(2 * time.Hour)
		for _, c := range []struct {
			name, code string
			opts       []opt
			secret     string
		}{
			{"no key", "missing", nil, ""},
			{"empty bearer", "missing", []opt{withHeader("Authorization", "Bearer ")}, ""},
			{"basic auth", "malformed", []opt{withHeader("Authorization", "Basic dXNlcjpwdw==")}, ""},
			{"two keys", "malformed", []opt{withKey(secret), withBearer(unknown.String())}, secret},
			{"two x-api-key", "malformed", []opt{withHeader("x-api-key", secret), withHeader("x-api-key", secret)}, secret},
			{"typo", "malformed", []opt{withKey(typo)}, typo},
			{"truncated", "malformed", []opt{withBearer(secret[:40])}, secret[:40]},
			{"not a key", "malformed", []opt{withKey("hunter2")}, "hunter2"},
			{"unknown", "unknown", []opt{withKey(unknown.String())}, unknown.String()},
			{"revoked", "revoked", []opt{withKey(revoked)}, revoked},
			{"expired", "expired", []opt{withBearer(expiring)}, expiring},
			{"disabled", "disabled", []opt{withKey(disabled)}, disabled},
		} {
			r := h.do("POST", "/v1/verify", c.opts...)
			r.wantError(t, http.StatusUnauthorized, c.code)
			if c.secret != "" && strings.Contains(r.body, c.secret) {
				t.Fatalf("%s: the body echoes the key: %s", c.name, r.body)
			}
			if r.header.Get("WWW-Authenticate") == "" {
				t.Fatalf("%s: no WWW-Authenticate header", c.name)
			}
		}
		r := h.do("GET", "/v1/verify", withKey(secret))
		r.wantError(t, http.StatusMethodNotAllowed, "method_not_allowed")
		if r.header.Get("Allow") != "POST" {
			t.Fatalf("Allow: %q", r.header.Get("Allow"))
		}
	})
}

// flip changes a base62 character into another one.
func flip(c byte) string {
	if c == 'a' {
		return "b"
	}
	return "a"
}

// TestRevocationSeenOnNextRequest: no cache serves a key that has been
// revoked, deleted or has expired since its last good check.
func TestRevocationSeenOnNextRequest(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		adminID, admin := h.admin("acme")
		id, secret := h.key(apikey.CreateInput{TenantID: "acme"})
		h.do("POST", "/v1/verify", withKey(secret)).want(t, http.StatusOK, nil)
		h.do("DELETE", "/v1/api-keys/"+id, withKey(admin)).want(t, http.StatusNoContent, nil)
		h.do("POST", "/v1/verify", withKey(secret)).wantError(t, http.StatusUnauthorized, "revoked")

		id, secret = h.key(apikey.CreateInput{TenantID: "acme"})
		h.do("POST", "/v1/verify", withKey(secret)).want(t, http.StatusOK, nil)
		if _, err := h.svc.Delete(ctx, "", []string{id}, "tester"); err != nil {
			t.Fatal(err)
		}
		h.do("POST", "/v1/verify", withKey(secret)).wantError(t, http.StatusUnauthorized, "unknown")

		minute := time.Minute
		_, secret = h.key(apikey.CreateInput{TenantID: "acme", Expiry: apikey.Expiry{In: &minute}})
		h.do("POST", "/v1/verify", withKey(secret)).want(t, http.StatusOK, nil)
		h.clock.Advance(minute)
		h.do("POST", "/v1/verify", withKey(secret)).wantError(t, http.StatusUnauthorized, "expired")

		// The admin key itself: revoked through the API, refused at once.
		h.do("DELETE", "/v1/api-keys/"+adminID, withKey(admin)).want(t, http.StatusNoContent, nil)
		h.do("GET", "/v1/api-keys", withKey(admin)).wantError(t, http.StatusUnauthorized, "revoked")
	})
}

// TestMalformedNeverReadsDatabase: a malformed key is refused with the
// database gone, where a well-formed one cannot be decided (503).
func TestMalformedNeverReadsDatabase(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		_, secret := h.key(apikey.CreateInput{})
		if err := h.store.Close(); err != nil {
			t.Fatal(err)
		}
		h.do("POST", "/v1/verify", withKey(secret[:20])).wantError(t, http.StatusUnauthorized, "malformed")
		// A closed pool is a failure of the server (500), an unreachable
		// database a failure to reach it (503): never a 401.
		r := h.do("POST", "/v1/verify", withKey(secret))
		var p problem
		if r.status == http.StatusServiceUnavailable {
			p = r.wantError(t, http.StatusServiceUnavailable, "unavailable")
		} else {
			p = r.wantError(t, http.StatusInternalServerError, "internal")
		}
		if strings.Contains(p.Detail, "closed") || strings.Contains(r.body, secret) {
			t.Fatalf("the detail leaks a cause or the key: %s", r.body)
		}
		var health map[string]string
		h.do("GET", "/healthz").want(t, http.StatusServiceUnavailable, &health)
		if health["status"] != "unavailable" {
			t.Fatalf("healthz: %v", health)
		}
		if !strings.Contains(h.logs.String(), "level=ERROR") {
			t.Fatalf("the cause of the 503 is not logged:\n%s", h.logs)
		}
	})
}

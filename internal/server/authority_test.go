package server_test

import (
	"context"
	"net/http"
	"reflect"
	"testing"

	"github.com/keyadm/keyadm/internal/apikey"
)

// TestVerifyRequiredPermissions: POST /v1/verify requires every permission
// of its body and its ?permission= parameters: 200 with the effective
// permissions when the key grants them, 403 insufficient_permissions with
// the missing ones in meta when not; a bad request is 400 and records no
// use.
func TestVerifyRequiredPermissions(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		if _, err := h.svc.AddPrincipal(ctx, apikey.KindUser, "acme", "alice",
			apikey.PrincipalInput{Permissions: []string{"read", "billing:*"}, Actor: "tester"}); err != nil {
			t.Fatal(err)
		}
		id, secret := h.key(apikey.CreateInput{TenantID: "acme", OwnerID: "alice"})
		var got map[string]any
		h.do("POST", "/v1/verify?permission=billing:refund", withKey(secret), withJSON(`{"permissions":["read"]}`)).
			want(t, http.StatusOK, &got)
		if want := []any{"billing:*", "read"}; !reflect.DeepEqual(got["effectivePermissions"], want) || len(got["permissions"].([]any)) != 0 {
			t.Fatalf("identity %v, want effective %v", got, want)
		}
		p := h.do("POST", "/v1/verify?permission=write&permission=read&permission=deploy", withKey(secret)).
			wantError(t, http.StatusForbidden, apikey.ReasonInsufficient)
		if want := []any{"write", "deploy"}; !reflect.DeepEqual(p.Meta["missing"], want) {
			t.Fatalf("meta %v, want missing %v", p.Meta, want)
		}
		h.do("POST", "/v1/verify", withKey(secret), withJSON(`{"permissions":["admin"]}`)).
			wantError(t, http.StatusForbidden, apikey.ReasonInsufficient)

		// Bad requests: 400, before the key is checked.
		for _, c := range []struct {
			path string
			opts []opt
		}{
			{"/v1/verify?perm=read", nil},
			{"/v1/verify?permission=Read", nil},
			{"/v1/verify", []opt{withJSON(`{"permission":["read"]}`)}},
			{"/v1/verify", []opt{withJSON(`{"permissions":"read"}`)}},
		} {
			h.do("POST", c.path, append(c.opts, withKey(secret))...).wantError(t, http.StatusBadRequest, apikey.EINVALID)
		}

		// Pauses: the key's own, then its owner's, on the very next request.
		if _, _, err := h.svc.SetKeysDisabled(ctx, "", []string{id}, true, "tester"); err != nil {
			t.Fatal(err)
		}
		h.do("POST", "/v1/verify", withKey(secret)).wantError(t, http.StatusUnauthorized, apikey.ReasonDisabled)
		if _, _, err := h.svc.SetKeysDisabled(ctx, "", []string{id}, false, "tester"); err != nil {
			t.Fatal(err)
		}
		h.do("POST", "/v1/verify", withKey(secret)).want(t, http.StatusOK, nil)
		if _, err := h.svc.SetPrincipalEnabled(ctx, apikey.KindUser, "acme", "alice", false, "tester"); err != nil {
			t.Fatal(err)
		}
		h.do("POST", "/v1/verify", withKey(secret)).wantError(t, http.StatusUnauthorized, apikey.ReasonDisabled)
	})
}

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
		if want := []string{"write", "deploy"}; !reflect.DeepEqual(p.Meta.Missing, want) {
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

// TestOwnersManageOwnKeys: a key without admin lists, shows, creates,
// patches and deletes its own owner's keys in its tenant, and nothing
// else (403); its DELETE removes the key, an admin's revokes it.
func TestOwnersManageOwnKeys(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		_, admin := h.admin("acme")
		_, mine := h.key(apikey.CreateInput{TenantID: "acme", OwnerID: "alice", Permissions: []string{"read", "write"}})
		siblingID, _ := h.key(apikey.CreateInput{TenantID: "acme", OwnerID: "alice", Name: "sibling"})
		bobsID, _ := h.key(apikey.CreateInput{TenantID: "acme", OwnerID: "bob"})
		_, ownerless := h.key(apikey.CreateInput{TenantID: "acme"})

		var page struct{ Data []map[string]any }
		h.do("GET", "/v1/api-keys", withKey(mine)).want(t, http.StatusOK, &page)
		if len(page.Data) != 2 {
			t.Fatalf("alice's key lists %d keys, want her 2", len(page.Data))
		}
		for _, k := range page.Data {
			if k["sub"] != "alice" {
				t.Fatalf("alice's key lists %v", k)
			}
		}
		h.do("GET", "/v1/api-keys/"+siblingID, withKey(mine)).want(t, http.StatusOK, nil)
		h.do("GET", "/v1/api-keys/"+bobsID, withKey(mine)).wantError(t, http.StatusForbidden, "forbidden")
		h.do("PATCH", "/v1/api-keys/"+bobsID, withKey(mine), withPatch(`[{"op":"replace","path":"/name","value":"x"}]`)).
			wantError(t, http.StatusForbidden, "forbidden")
		h.do("DELETE", "/v1/api-keys/"+bobsID, withKey(mine)).wantError(t, http.StatusForbidden, "forbidden")
		h.do("GET", "/v1/api-keys", withKey(ownerless)).wantError(t, http.StatusForbidden, "forbidden")
		h.do("PATCH", "/v1/api-keys/"+siblingID, withKey(mine), withPatch(`[{"op":"replace","path":"/name","value":"renamed"}]`)).
			want(t, http.StatusNoContent, nil)
		if k := h.get(siblingID); k.Name != "renamed" {
			t.Fatalf("after the owner's PATCH: %+v", k)
		}

		// A new key is the requester's owner's, made by it, and never more.
		var created map[string]any
		h.do("POST", "/v1/api-keys", withKey(mine), withJSON(`{"name":"child"}`)).want(t, http.StatusCreated, &created)
		if created["sub"] != "alice" || created["createdByUser"] != "alice" || !reflect.DeepEqual(created["permissions"], []any{"read", "write"}) {
			t.Fatalf("created %v", created)
		}
		h.do("POST", "/v1/api-keys", withKey(mine), withJSON(`{"name":"x","sub":"bob"}`)).wantError(t, http.StatusForbidden, "forbidden")
		h.do("POST", "/v1/api-keys", withKey(mine), withJSON(`{"name":"x","permissions":["admin"]}`)).wantError(t, http.StatusForbidden, "forbidden")

		// The owner's DELETE removes; the admin's revokes.
		h.do("DELETE", "/v1/api-keys/"+siblingID, withKey(mine)).want(t, http.StatusNoContent, nil)
		if _, _, err := h.svc.Get(ctx, "", siblingID); apikey.ErrorCode(err) != apikey.ENOTFOUND {
			t.Fatalf("after the owner's DELETE: %v, want the key gone", err)
		}
		h.do("DELETE", "/v1/api-keys/"+bobsID, withKey(admin)).want(t, http.StatusNoContent, nil)
		if k := h.get(bobsID); k.RevokedAt == nil {
			t.Fatalf("after the admin's DELETE: %+v, want it revoked", k)
		}
	})
}

// TestCeilingAndPausesOverHTTP: the tenant's permissions ceiling is a
// setting of the config API like the seed's (a string, patched and
// removed), and narrows what verify finds at once; a paused key is listed
// by status=disabled with its disabledAt, in the seed's record.
func TestCeilingAndPausesOverHTTP(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		_, admin := h.admin("acme")
		id, secret := h.key(apikey.CreateInput{TenantID: "acme", OwnerID: "svc", Permissions: []string{"read", "write"}})
		h.do("PATCH", "/api/v1/api-keys/configs/acme", withKey(admin),
			withPatch(`[{"op":"replace","path":"/permissions","value":"read, admin"}]`)).want(t, http.StatusNoContent, nil)
		var doc configDoc
		h.do("GET", "/api/v1/api-keys/configs/acme", withKey(admin)).want(t, http.StatusOK, &doc)
		if doc.Permissions != "admin,read" || doc.Sources["permissions"] != "tenant" {
			t.Fatalf("config %+v", doc)
		}
		var got map[string]any
		h.do("POST", "/v1/verify", withKey(secret)).want(t, http.StatusOK, &got)
		if want := []any{"read"}; !reflect.DeepEqual(got["effectivePermissions"], want) {
			t.Fatalf("under the ceiling: %v, want effective %v", got, want)
		}
		p := h.do("POST", "/v1/verify?permission=write", withKey(secret)).wantError(t, http.StatusForbidden, apikey.ReasonInsufficient)
		if !reflect.DeepEqual(p.Meta.Missing, []string{"write"}) {
			t.Fatalf("meta %+v", p.Meta)
		}
		h.do("PATCH", "/v1/api-keys/configs/acme", withKey(admin), withPatch(`[{"op":"replace","path":"/permissions","value":["read"]}]`)).
			wantError(t, http.StatusBadRequest, apikey.EINVALID)
		h.do("PATCH", "/v1/api-keys/configs/acme", withKey(admin), withPatch(`[{"op":"remove","path":"/permissions"}]`)).
			want(t, http.StatusNoContent, nil)
		h.do("POST", "/v1/verify?permission=write", withKey(secret)).want(t, http.StatusOK, nil)

		if _, _, err := h.svc.SetKeysDisabled(context.Background(), "", []string{id}, true, "tester"); err != nil {
			t.Fatal(err)
		}
		var page struct{ Data []map[string]any }
		h.do("GET", "/api/v1/api-keys?status=disabled", withKey(admin)).want(t, http.StatusOK, &page)
		if len(page.Data) != 1 || page.Data[0]["id"] != id || page.Data[0]["status"] != "disabled" || page.Data[0]["disabledAt"] == nil {
			t.Fatalf("disabled keys: %v", page.Data)
		}
	})
}

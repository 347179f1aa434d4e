package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/output"
)

// asJSON is v as generic JSON, to compare bodies field by field.
func asJSON(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// wantRecord checks that a body is exactly the key's output.KeyRecord, as
// the CLI's -o json writes it (plus the secret, when given).
func (h *harness) wantRecord(t *testing.T, body map[string]any, id, secret string) {
	t.Helper()
	k := h.get(id)
	want := asJSON(t, output.NewKeyRecord(k, h.clock.Now(), secret))
	if !reflect.DeepEqual(body, want) {
		t.Fatalf("record\n%v\nwant\n%v", body, want)
	}
}

// TestAdminKeyLifecycle: create, show, rename, revoke through the API, with
// the CLI's record shape and audit events whose actor is the admin key.
func TestAdminKeyLifecycle(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		adminID, admin := h.admin("acme")
		var created map[string]any
		r := h.do("POST", "/v1/api-keys", withKey(admin), withJSON(`{"name":"billing-sync","description":"nightly",
			"teamId":"billing","ownerId":"svc@example.com","permissions":["read","write"],"expiresIn":"P90D",
			"metadata":{"env":"prod"}}`))
		r.want(t, http.StatusCreated, &created)
		id, _ := created["id"].(string)
		secret, _ := created["key"].(string)
		if r.header.Get("Location") != "/v1/api-keys/"+id || !strings.HasPrefix(secret, "qapi_") {
			t.Fatalf("Location %q, key %q", r.header.Get("Location"), secret)
		}
		h.wantRecord(t, created, id, secret)
		if created["createdBy"] != "key:"+adminID || created["tenantId"] != "acme" || created["expiresAt"] != "2026-05-30T12:00:00Z" {
			t.Fatalf("created %v", created)
		}
		h.do("POST", "/v1/verify", withKey(secret)).want(t, http.StatusOK, nil)

		var shown map[string]any
		h.do("GET", "/v1/api-keys/"+id, withBearer(admin)).want(t, http.StatusOK, &shown)
		h.wantRecord(t, shown, id, "")

		var patched map[string]any
		h.do("PATCH", "/v1/api-keys/"+id, withKey(admin), withPatch(`[
			{"op":"replace","path":"/name","value":"billing-nightly"},
			{"op":"replace","path":"/description","value":null}]`)).want(t, http.StatusOK, &patched)
		h.wantRecord(t, patched, id, "")
		if patched["name"] != "billing-nightly" || patched["description"] != nil {
			t.Fatalf("patched %v", patched)
		}
		// application/json is taken for a patch too.
		h.do("PATCH", "/v1/api-keys/"+id, withKey(admin), withJSON(`[{"op":"replace","path":"/description","value":"again"}]`)).
			want(t, http.StatusOK, nil)

		// An admin's DELETE revokes (204), keeping the record; again is harmless.
		h.do("DELETE", "/v1/api-keys/"+id, withKey(admin)).want(t, http.StatusNoContent, nil)
		var revoked map[string]any
		h.do("DELETE", "/v1/api-keys/"+id, withKey(admin)).want(t, http.StatusNoContent, nil)
		h.do("GET", "/v1/api-keys/"+id, withKey(admin)).want(t, http.StatusOK, &revoked)
		h.wantRecord(t, revoked, id, "")
		if revoked["status"] != "revoked" || revoked["revokedBy"] != "key:"+adminID {
			t.Fatalf("revoked %v", revoked)
		}

		var actions []string
		err := h.svc.Events(context.Background(), apikey.EventQuery{KeyID: id}, func(e *apikey.AuditEvent) error {
			if e.Actor != "key:"+adminID || e.TenantID != "acme" {
				t.Errorf("event %s by %s in %q", e.Action, e.Actor, e.TenantID)
			}
			actions = append([]string{e.Action}, actions...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"key.create", "key.update", "key.update", "key.revoke"}
		if !reflect.DeepEqual(actions, want) {
			t.Fatalf("audit %v, want %v", actions, want)
		}

		h.do("GET", "/v1/api-keys/not-a-key-id", withKey(admin)).wantError(t, http.StatusBadRequest, "invalid")
		h.do("GET", "/v1/api-keys/0193f5c4-5a4e-7c1a-9d3b-2f1e0c8b7a61", withKey(admin)).wantError(t, http.StatusNotFound, "not_found")
		h.do("PUT", "/v1/api-keys/"+id, withKey(admin)).wantError(t, http.StatusMethodNotAllowed, "method_not_allowed")
	})
}

// adminRoutes are a request on every admin route.
func adminRoutes(id, tenant string) [][2]string {
	return [][2]string{
		{"GET", "/v1/api-keys"}, {"POST", "/v1/api-keys"},
		{"GET", "/v1/api-keys/" + id}, {"PATCH", "/v1/api-keys/" + id}, {"DELETE", "/v1/api-keys/" + id},
		{"GET", "/v1/api-keys/configs/" + tenant}, {"PATCH", "/v1/api-keys/configs/" + tenant},
	}
}

// TestAdminAuthorisation: the admin API wants a good key (401 otherwise)
// holding the admin permission (403 otherwise), and shows nothing before.
func TestAdminAuthorisation(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		id, _ := h.key(apikey.CreateInput{TenantID: "acme", Name: "precious"})
		_, reader := h.key(apikey.CreateInput{TenantID: "acme", Permissions: []string{"read", "write", "admin:lite"}})
		revokedID, revoked := h.admin("acme")
		if _, _, err := h.svc.Revoke(context.Background(), "", []string{revokedID}, "", "tester"); err != nil {
			t.Fatal(err)
		}
		for _, rt := range adminRoutes(id, "acme") {
			body := withJSON(`{"name":"x"}`)
			for _, c := range []struct {
				opts   []opt
				status int
				code   string
			}{
				{[]opt{body}, http.StatusUnauthorized, "missing"},
				{[]opt{body, withKey("qapi_nope")}, http.StatusUnauthorized, "malformed"},
				{[]opt{body, withKey(revoked)}, http.StatusUnauthorized, "revoked"},
				{[]opt{body, withKey(reader)}, http.StatusForbidden, "forbidden"},
			} {
				r := h.do(rt[0], rt[1], c.opts...)
				r.wantError(t, c.status, c.code)
				if strings.Contains(r.body, "precious") {
					t.Fatalf("%s %s: data before authorisation: %s", rt[0], rt[1], r.body)
				}
			}
		}
		if k := h.get(id); k.RevokedAt != nil || k.Name != "precious" {
			t.Fatal("an unauthorised request changed a key")
		}
		p, err := h.svc.List(context.Background(), apikey.ListInput{Filter: apikey.KeyFilter{TenantID: "acme"}})
		if err != nil || len(p.Keys) != 3 {
			t.Fatalf("an unauthorised request created a key: %d keys, %v", len(p.Keys), err)
		}
	})
}

// TestTenantConfinement: an admin key reaches its own tenant only: another
// tenant's key is not found, its config forbidden, and nothing of it shows.
func TestTenantConfinement(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		_, admin := h.admin("acme")
		mine, _ := h.key(apikey.CreateInput{TenantID: "acme", Name: "mine"})
		theirs, _ := h.key(apikey.CreateInput{TenantID: "globex", Name: "globex-secret-project"})
		if _, err := h.svc.SetConfig(ctx, "globex", apikey.SettingMaxKeys, "7", "tester"); err != nil {
			t.Fatal(err)
		}
		for _, rt := range adminRoutes(theirs, "globex")[2:] {
			r := h.do(rt[0], rt[1], withKey(admin), withPatch(`[{"op":"replace","path":"/name","value":"pwned"}]`))
			if strings.HasPrefix(rt[1], "/v1/api-keys/configs/") {
				r.wantError(t, http.StatusForbidden, "forbidden")
			} else {
				r.wantError(t, http.StatusNotFound, "not_found")
			}
			if strings.Contains(r.body, "globex-secret-project") {
				t.Fatalf("%s %s shows another tenant's data: %s", rt[0], rt[1], r.body)
			}
		}
		h.do("PATCH", "/v1/api-keys/configs/globex", withKey(admin),
			withPatch(`[{"op":"remove","path":"/max_keys_per_user"}]`)).wantError(t, http.StatusForbidden, "forbidden")
		if k := h.get(theirs); k.RevokedAt != nil || k.Name != "globex-secret-project" {
			t.Fatal("another tenant's key changed")
		}
		if cfg, _ := h.svc.Config(ctx, "globex"); cfg.MaxKeysPerUser() != 7 {
			t.Fatal("another tenant's config changed")
		}

		var page struct {
			Data []map[string]any `json:"data"`
		}
		h.do("GET", "/v1/api-keys", withKey(admin)).want(t, http.StatusOK, &page)
		for _, k := range page.Data {
			if k["tenantId"] != "acme" {
				t.Fatalf("the list shows %v", k)
			}
		}
		if len(page.Data) != 2 {
			t.Fatalf("%d keys listed, want the admin key and %s", len(page.Data), mine)
		}
		// Another tenant's key is no cursor either.
		h.do("GET", "/v1/api-keys?startingAfter="+theirs, withKey(admin)).wantError(t, http.StatusBadRequest, "invalid")

		h.do("POST", "/v1/api-keys", withKey(admin), withJSON(`{"name":"x","tenantId":"globex"}`)).
			wantError(t, http.StatusForbidden, "forbidden")
		var created map[string]any
		h.do("POST", "/v1/api-keys", withKey(admin), withJSON(`{"name":"x","tenantId":"acme"}`)).
			want(t, http.StatusCreated, &created)
		if created["tenantId"] != "acme" {
			t.Fatalf("created in %v", created["tenantId"])
		}
	})
}

// TestCreateValidationAndPolicy: bad input is 400, refusals by policy 422,
// and neither writes anything.
func TestCreateValidationAndPolicy(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		_, admin := h.admin("acme")
		for _, body := range []string{
			``, `{}`, `null`, `[]`, `"name"`, `{"name":`, `{"name":"x"} {"name":"y"}`, `{"name":"x"}]`,
			`{"name":"x","bogus":1}`, `{"name":"x","Name":"y","extra":{}}`, `{"name":7}`,
			`{"name":"x","permissions":["BAD"]}`, `{"name":"x","permissions":"read"}`,
			`{"name":"x","expiresIn":"P1D","expiresAt":"2030-01-01"}`, `{"name":"x","expiresIn":"soon"}`,
			`{"name":"x","expiresIn":"0"}`, `{"name":"x","expiresAt":"2020-01-01"}`, `{"name":"x","expiresAt":"tomorrow"}`,
			`{"name":"x","teamId":"bad team!"}`, `{"name":"x","metadata":{"bad key!":"v"}}`,
			`{"name":"` + strings.Repeat("n", 101) + `"}`, `{"name":"a\u0007b"}`,
		} {
			r := h.do("POST", "/v1/api-keys", withKey(admin), withJSON(body))
			p := r.wantError(t, http.StatusBadRequest, "invalid")
			if strings.Contains(p.Detail, "--") {
				t.Errorf("%s: the detail names a command-line flag: %s", body, p.Detail)
			}
		}
		h.do("POST", "/v1/api-keys", withKey(admin), withBody("text/plain", `{"name":"x"}`)).
			wantError(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
		h.do("POST", "/v1/api-keys", withKey(admin), withBody("application/x-www-form-urlencoded", `name=x`)).
			wantError(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
		h.do("POST", "/v1/api-keys", withKey(admin)).wantError(t, http.StatusUnsupportedMediaType, "unsupported_media_type")

		for name, value := range map[string]string{apikey.SettingMaxKeys: "1", apikey.SettingMaxExpiry: "P30D"} {
			if _, err := h.svc.SetConfig(ctx, "acme", name, value, "tester"); err != nil {
				t.Fatal(err)
			}
		}
		h.do("POST", "/v1/api-keys", withKey(admin), withJSON(`{"name":"a","ownerId":"o"}`)).want(t, http.StatusCreated, nil)
		h.do("POST", "/v1/api-keys", withKey(admin), withJSON(`{"name":"b","ownerId":"o"}`)).
			wantError(t, http.StatusUnprocessableEntity, "policy")
		h.do("POST", "/v1/api-keys", withKey(admin), withJSON(`{"name":"c","ownerId":"p","expiresIn":"P90D"}`)).
			wantError(t, http.StatusUnprocessableEntity, "policy")
		p, err := h.svc.List(ctx, apikey.ListInput{})
		if err != nil || len(p.Keys) != 2 {
			t.Fatalf("%d keys, want the admin key and one created: %v", len(p.Keys), err)
		}
	})
}

// TestPatchKeyValidation: only replace on /name and /description; anything
// else is 400 and changes nothing.
func TestPatchKeyValidation(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		_, admin := h.admin("acme")
		id, _ := h.key(apikey.CreateInput{TenantID: "acme", Name: "steady", Description: "kept"})
		for _, body := range []string{
			``, `[]`, `{}`, `null`, `[{}]`, `[{"op":"replace"}]`,
			`[{"op":"add","path":"/name","value":"x"}]`,
			`[{"op":"remove","path":"/description"}]`,
			`[{"op":"test","path":"/name","value":"steady"}]`,
			`[{"op":"move","from":"/name","path":"/description"}]`,
			`[{"op":"replace","path":"/permissions","value":["admin"]}]`,
			`[{"op":"replace","path":"/tenantId","value":"globex"}]`,
			`[{"op":"replace","path":"name","value":"x"}]`,
			`[{"op":"replace","path":"/name/0","value":"x"}]`,
			`[{"op":"replace","path":"/name"}]`,
			`[{"op":"replace","path":"/name","value":null}]`,
			`[{"op":"replace","path":"/name","value":42}]`,
			`[{"op":"replace","path":"/name","value":""}]`,
			`[{"op":"replace","path":"/description","value":{"a":1}}]`,
			`[{"op":"replace","path":"/name","value":"x","extra":1}]`,
			`[{"op":"replace","path":"/name","value":"ok"},{"op":"replace","path":"/expiresAt","value":null}]`,
		} {
			h.do("PATCH", "/v1/api-keys/"+id, withKey(admin), withPatch(body)).wantError(t, http.StatusBadRequest, "invalid")
		}
		h.do("PATCH", "/v1/api-keys/"+id, withKey(admin), withBody("application/merge-patch+json", `{"name":"x"}`)).
			wantError(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
		if k := h.get(id); k.Name != "steady" || k.Description == nil || *k.Description != "kept" {
			t.Fatalf("a refused patch changed the key: %+v", k)
		}
	})
}

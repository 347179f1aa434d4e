package server_test

import (
	"context"
	"encoding/json"
	"fmt"
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

// wantRecord checks that a body is exactly the key as the seed's wire
// format words it (plus the secret as token, when given): the seed's names
// where it has the field, the data model's otherwise.
func (h *harness) wantRecord(t *testing.T, body map[string]any, id, secret string) {
	t.Helper()
	k := h.get(id)
	rec := output.NewKeyRecord(k, h.clock.Now(), secret)
	m := asJSON(t, rec)
	// The seed's names for the fields it has.
	for data, seed := range map[string]string{"ownerId": "sub", "expiresAt": "expiry", "createdAt": "created",
		"updatedAt": "lastUpdated", "createdBy": "createdByUser", "key": "token"} {
		if v, ok := m[data]; ok {
			m[seed] = v
			delete(m, data)
		}
	}
	if m["description"] == nil {
		m["description"] = ""
	}
	m["subType"] = "user"
	if k.SubType != "" {
		m["subType"] = k.SubType
	}
	if !reflect.DeepEqual(body, m) {
		t.Fatalf("record\n%v\nwant\n%v", body, m)
	}
}

// TestAdminKeyLifecycle: create, show, rename, revoke through the API, with
// the seed's record shape and audit events whose actor is the admin key.
func TestAdminKeyLifecycle(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		adminID, admin := h.admin("acme")
		var created map[string]any
		r := h.do("POST", "/api/v1/api-keys", withKey(admin), withJSON(`{"name":"billing-sync","description":"nightly",
			"teamId":"billing","sub":"svc@example.com","permissions":["read","write"],"expiry":"P90D",
			"metadata":{"env":"prod"}}`))
		r.want(t, http.StatusCreated, &created)
		id, _ := created["id"].(string)
		secret, _ := created["token"].(string)
		if r.header.Get("Location") != "/api/v1/api-keys/"+id || !strings.HasPrefix(secret, "qapi_") {
			t.Fatalf("Location %q, token %q", r.header.Get("Location"), secret)
		}
		h.wantRecord(t, created, id, secret)
		if created["createdByUser"] != "key:"+adminID || created["tenantId"] != "acme" || created["expiry"] != "2026-05-30T12:00:00Z" ||
			created["sub"] != "svc@example.com" || created["subType"] != "user" {
			t.Fatalf("created %v", created)
		}
		h.do("POST", "/v1/verify", withKey(secret)).want(t, http.StatusOK, nil)

		var shown map[string]any
		h.do("GET", "/v1/api-keys/"+id, withBearer(admin)).want(t, http.StatusOK, &shown)
		h.wantRecord(t, shown, id, "")

		r = h.do("PATCH", "/v1/api-keys/"+id, withKey(admin), withPatch(`[
			{"op":"replace","path":"/name","value":"billing-nightly"},
			{"op":"replace","path":"/description","value":null}]`))
		if r.want(t, http.StatusNoContent, nil); r.body != "" {
			t.Fatalf("204 with a body: %q", r.body)
		}
		if k := h.get(id); k.Name != "billing-nightly" || k.Description != nil {
			t.Fatalf("patched %+v", k)
		}
		// application/json is taken for a patch too, as the seed sends it.
		h.do("PATCH", "/api/v1/api-keys/"+id, withKey(admin), withJSON(`[{"op":"replace","path":"/description","value":"again"}]`)).
			want(t, http.StatusNoContent, nil)

		// An admin's DELETE revokes, keeping the record.
		r = h.do("DELETE", "/v1/api-keys/"+id, withKey(admin))
		if r.want(t, http.StatusNoContent, nil); r.body != "" {
			t.Fatalf("204 with a body: %q", r.body)
		}
		if k := h.get(id); k.RevokedAt == nil || k.RevokedBy == nil || *k.RevokedBy != "key:"+adminID {
			t.Fatalf("revoked %+v", k)
		}
		// Revoking again is harmless.
		h.do("DELETE", "/v1/api-keys/"+id, withKey(admin)).want(t, http.StatusNoContent, nil)
		var revoked map[string]any
		h.do("GET", "/v1/api-keys/"+id, withKey(admin)).want(t, http.StatusOK, &revoked)
		h.wantRecord(t, revoked, id, "")
		if revoked["status"] != "revoked" {
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

// TestOwnerManagesOwnKeys: a key without the admin permission lists,
// reads, patches and deletes (removes, not revokes) its own owner's keys
// only, and makes keys for its owner only.
func TestOwnerManagesOwnKeys(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		_, mine := h.key(apikey.CreateInput{TenantID: "acme", OwnerID: "alice", Name: "alice-main"})
		own, _ := h.key(apikey.CreateInput{TenantID: "acme", OwnerID: "alice", Name: "alice-old"})
		other, _ := h.key(apikey.CreateInput{TenantID: "acme", OwnerID: "bob", Name: "bob-secret"})
		var page struct {
			Data []map[string]any `json:"data"`
		}
		h.do("GET", "/api/v1/api-keys", withKey(mine)).want(t, http.StatusOK, &page)
		if len(page.Data) != 2 || strings.Contains(fmt.Sprint(page.Data), "bob") {
			t.Fatalf("alice's key lists %v", page.Data)
		}
		h.do("GET", "/api/v1/api-keys?sub=bob", withKey(mine)).wantError(t, http.StatusForbidden, "forbidden")
		h.do("GET", "/api/v1/api-keys/"+other, withKey(mine)).wantError(t, http.StatusForbidden, "forbidden")
		h.do("DELETE", "/api/v1/api-keys/"+other, withKey(mine)).wantError(t, http.StatusForbidden, "forbidden")
		h.do("PATCH", "/api/v1/api-keys/"+other, withKey(mine), withJSON(`[{"op":"replace","path":"/description","value":"x"}]`)).
			wantError(t, http.StatusForbidden, "forbidden")
		h.do("POST", "/api/v1/api-keys", withKey(mine), withJSON(`{"description":"for bob","sub":"bob"}`)).
			wantError(t, http.StatusForbidden, "forbidden")
		h.do("GET", "/api/v1/api-keys/configs/acme", withKey(mine)).wantError(t, http.StatusForbidden, "forbidden")
		if k := h.get(other); k.RevokedAt != nil || k.Description != nil {
			t.Fatal("alice's key changed bob's")
		}

		var created map[string]any
		h.do("POST", "/api/v1/api-keys", withKey(mine), withJSON(`{"description":"ci"}`)).want(t, http.StatusCreated, &created)
		if created["sub"] != "alice" || created["name"] != "ci" {
			t.Fatalf("created %v", created)
		}
		h.do("DELETE", "/api/v1/api-keys/"+own, withKey(mine)).want(t, http.StatusNoContent, nil)
		if _, _, err := h.svc.Get(context.Background(), "", own); apikey.ErrorCode(err) != apikey.ENOTFOUND {
			t.Fatalf("the owner's DELETE left the key: %v", err)
		}
	})
}

// adminRoutes are a request on every admin route.
func adminRoutes(id, tenant string) [][2]string {
	return [][2]string{
		{"GET", "/v1/api-keys"}, {"POST", "/v1/api-keys"},
		{"GET", "/v1/api-keys/" + id}, {"PATCH", "/v1/api-keys/" + id}, {"DELETE", "/v1/api-keys/" + id},
		{"GET", "/v1/api-keys/configs/" + tenant}, {"PATCH", "/v1/api-keys/configs/" + tenant},
		{"GET", "/api/v1/api-keys"}, {"DELETE", "/api/v1/api-keys/" + id},
		{"GET", "/qsi/gather/credentials"}, {"POST", "/qsi/gather/credentials"},
		{"DELETE", "/qsi/gather/credentials/" + id},
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
			if rt[1] == "/api/v1/api-keys" || rt[1] == "/qsi/gather/credentials" {
				continue // a list or a create, which name no key
			}
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
			`{"name":"x","expiry":"P1D","expiresAt":"2030-01-01"}`, `{"name":"x","expiry":"soon"}`,
			`{"name":"x","expiry":"0"}`, `{"name":"x","expiry":"-P1D"}`, `{"name":"x","expiry":"2030-01-01"}`,
			`{"name":"x","subType":"robot"}`, `{"name":"x","ownerId":"o"}`, `{"description":"x","sub":7}`,
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
		h.do("POST", "/v1/api-keys", withKey(admin), withJSON(`{"name":"a","sub":"o"}`)).want(t, http.StatusCreated, nil)
		h.do("POST", "/v1/api-keys", withKey(admin), withJSON(`{"name":"b","sub":"o"}`)).
			wantError(t, http.StatusUnprocessableEntity, "policy")
		h.do("POST", "/v1/api-keys", withKey(admin), withJSON(`{"name":"c","sub":"p","expiry":"P90D"}`)).
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

package server_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/keyadm/keyadm/internal/apikey"
)

// configDoc is the config document, its values typed as the seed's.
type configDoc struct {
	TenantID          string            `json:"tenantId"`
	APIKeysEnabled    bool              `json:"api_keys_enabled"`
	MaxKeysPerUser    int               `json:"max_keys_per_user"`
	MaxAPIKeyExpiry   string            `json:"max_api_key_expiry"`
	DefaultExpiry     string            `json:"default_expiry"`
	KeyPrefix         string            `json:"key_prefix"`
	Permissions       string            `json:"permissions"`
	ExternalClientExp string            `json:"scim_externalClient_expiry"`
	Sources           map[string]string `json:"sources"`
}

// TestConfigAPI: the tenant's effective settings with their sources; a
// JSON Patch sets (replace) and unsets (remove) them as `keyadm config`
// does, validated whole before anything changes, with audit events.
func TestConfigAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		adminID, admin := h.admin("acme")
		if _, err := h.svc.SetConfig(ctx, "", apikey.SettingMaxExpiry, "P365D", "tester"); err != nil {
			t.Fatal(err)
		}
		var doc configDoc
		var members map[string]any
		r := h.do("GET", "/api/v1/api-keys/configs/acme", withKey(admin))
		r.want(t, http.StatusOK, &doc)
		if r.want(t, http.StatusOK, &members); len(members) != 11 {
			t.Fatalf("config members: %v", members)
		}
		if !strings.HasPrefix(r.body, `{"tenantId":"acme","admin_read_rate":"1000/1m","admin_write_rate":"100/1m","api_keys_enabled":true,`) ||
			!strings.Contains(r.body, `"key_prefix":"qapi","max_api_key_expiry":"P365D","max_keys_per_user":0,"permissions":"*","scim_externalClient_expiry":"P365D","sources"`) {
			t.Fatalf("members not in order (tenantId, settings by name, sources) or not typed: %s", r.body)
		}
		want := configDoc{TenantID: "acme", APIKeysEnabled: true, MaxKeysPerUser: 0, MaxAPIKeyExpiry: "P365D",
			DefaultExpiry: "none", KeyPrefix: "qapi", Permissions: "*", ExternalClientExp: "P365D", Sources: map[string]string{
				"api_keys_enabled": "default", "max_keys_per_user": "default", "max_api_key_expiry": "global",
				"default_expiry": "default", "key_prefix": "default", "permissions": "default",
				"scim_externalClient_expiry": "default", "admin_read_rate": "default", "admin_write_rate": "default"}}
		if !reflect.DeepEqual(doc, want) {
			t.Fatalf("config %+v\nwant %+v", doc, want)
		}
		getDoc := func() configDoc {
			t.Helper()
			var d configDoc
			h.do("GET", "/v1/api-keys/configs/acme", withKey(admin)).want(t, http.StatusOK, &d)
			return d
		}

		r = h.do("PATCH", "/v1/api-keys/configs/acme", withKey(admin), withPatch(`[
			{"op":"replace","path":"/max_keys_per_user","value":3},
			{"op":"replace","path":"/default_expiry","value":"30d"},
			{"op":"replace","path":"/api_keys_enabled","value":true},
			{"op":"replace","path":"/key_prefix","value":"acme"}]`))
		if r.want(t, http.StatusNoContent, nil); r.body != "" {
			t.Fatalf("204 with a body: %q", r.body)
		}
		doc = getDoc()
		want.MaxKeysPerUser, want.DefaultExpiry, want.KeyPrefix = 3, "P30D", "acme"
		for _, name := range []string{"max_keys_per_user", "default_expiry", "api_keys_enabled", "key_prefix"} {
			want.Sources[name] = "tenant"
		}
		if !reflect.DeepEqual(doc, want) {
			t.Fatalf("patched %+v\nwant %+v", doc, want)
		}
		cfg, err := h.svc.Config(ctx, "acme")
		if err != nil || cfg.MaxKeysPerUser() != 3 || cfg.KeyPrefix() != "acme" {
			t.Fatalf("stored config %+v %v", cfg, err)
		}
		// The new prefix and default expiry apply to keys made through the API.
		var created map[string]any
		h.do("POST", "/v1/api-keys", withKey(admin), withJSON(`{"name":"k"}`)).want(t, http.StatusCreated, &created)
		if key, _ := created["token"].(string); !strings.HasPrefix(key, "acme_") || created["expiry"] != "2026-03-31T12:00:00Z" {
			t.Fatalf("created %v", created)
		}

		h.do("PATCH", "/v1/api-keys/configs/acme", withKey(admin), withPatch(`[
			{"op":"remove","path":"/max_keys_per_user"},
			{"op":"remove","path":"/max_api_key_expiry"}]`)).want(t, http.StatusNoContent, nil)
		doc = getDoc()
		want.MaxKeysPerUser, want.Sources["max_keys_per_user"] = 0, "default"
		if !reflect.DeepEqual(doc, want) { // max_api_key_expiry still comes from the global value
			t.Fatalf("after remove %+v\nwant %+v", doc, want)
		}

		var events []string
		err = h.svc.Events(ctx, apikey.EventQuery{TenantID: "acme", Actor: "key:" + adminID}, func(e *apikey.AuditEvent) error {
			if strings.HasPrefix(e.Action, "config.") {
				events = append([]string{e.Action + " " + e.Details["name"].(string)}, events...)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		wantEvents := []string{"config.set max_keys_per_user", "config.set default_expiry", "config.set api_keys_enabled",
			"config.set key_prefix", "config.unset max_keys_per_user"}
		if !reflect.DeepEqual(events, wantEvents) {
			t.Fatalf("audit %v\nwant %v", events, wantEvents)
		}

		before := h.do("GET", "/v1/api-keys/configs/acme", withKey(admin)).body
		for _, body := range []string{
			``, `[]`, `{}`, `[{"op":"add","path":"/key_prefix","value":"x"}]`,
			`[{"op":"replace","path":"/max_keys_per_user","value":5},{"op":"replace","path":"/key_prefix","value":"BAD"}]`,
			`[{"op":"replace","path":"/max_keys_per_user","value":5},{"op":"remove","path":"/no_such_setting"}]`,
			`[{"op":"replace","path":"/max_keys_per_user","value":1001}]`,
			`[{"op":"replace","path":"/max_keys_per_user","value":null}]`,
			`[{"op":"replace","path":"/max_keys_per_user"}]`,
			`[{"op":"replace","path":"/max_api_key_expiry","value":"forever"}]`,
			`[{"op":"replace","path":"/api_keys_enabled","value":{"on":true}}]`,
			`[{"op":"replace","path":"/sources","value":{}}]`,
			`[{"op":"replace","path":"/tenantId","value":"globex"}]`,
			`[{"op":"replace","path":"/","value":"x"}]`,
			`[{"op":"replace","path":"/max_keys_per_user","value":"5"}]`,
			`[{"op":"replace","path":"/api_keys_enabled","value":"false"}]`,
			`[{"op":"replace","path":"/max_api_key_expiry","value":24}]`,
			`[{"op":"replace","path":"/scim_externalClient_expiry","value":"P0D"}]`,
			`[{"op":"replace","path":"/scim_externalClient_expiry","value":true}]`,
		} {
			h.do("PATCH", "/v1/api-keys/configs/acme", withKey(admin), withPatch(body)).wantError(t, http.StatusBadRequest, "invalid")
		}
		if after := h.do("GET", "/v1/api-keys/configs/acme", withKey(admin)).body; after != before {
			t.Fatalf("a refused patch changed the config:\n%s\n%s", before, after)
		}
		h.do("PUT", "/v1/api-keys/configs/acme", withKey(admin)).wantError(t, http.StatusMethodNotAllowed, "method_not_allowed")

		// Keys disabled through the API: the tenant's keys, the admin's
		// own included, are refused from the next request on.
		h.do("PATCH", "/v1/api-keys/configs/acme", withKey(admin),
			withPatch(`[{"op":"replace","path":"/api_keys_enabled","value":false}]`)).want(t, http.StatusNoContent, nil)
		h.do("GET", "/v1/api-keys/configs/acme", withKey(admin)).wantError(t, http.StatusUnauthorized, "disabled")
	})
}

// TestExternalClientExpiry: scim_externalClient_expiry, set through the
// API, is the default and the maximum expiry of externalClient keys, and
// leaves user keys to max_api_key_expiry.
func TestExternalClientExpiry(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		_, admin := h.admin("acme")
		h.do("PATCH", "/api/v1/api-keys/configs/acme", withKey(admin),
			withJSON(`[{"op":"replace","path":"/scim_externalClient_expiry","value":"P30D"}]`)).want(t, http.StatusNoContent, nil)
		var created map[string]any
		h.do("POST", "/api/v1/api-keys", withKey(admin), withJSON(`{"description":"scim","sub":"SCIM\\\\idp1","subType":"externalClient"}`)).
			want(t, http.StatusCreated, &created)
		if created["subType"] != "externalClient" || created["expiry"] != "2026-03-31T12:00:00Z" || created["sub"] != `SCIM\\idp1` {
			t.Fatalf("created %v", created)
		}
		h.do("POST", "/api/v1/api-keys", withKey(admin), withJSON(`{"description":"scim","subType":"externalClient","expiry":"P31D"}`)).
			wantError(t, http.StatusUnprocessableEntity, "policy")
		h.do("POST", "/api/v1/api-keys", withKey(admin), withJSON(`{"description":"user","expiry":"P31D"}`)).
			want(t, http.StatusCreated, &created)
		if created["subType"] != "user" || created["expiry"] != "2026-04-01T12:00:00Z" {
			t.Fatalf("created %v", created)
		}
	})
}

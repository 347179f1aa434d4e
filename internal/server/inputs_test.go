package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/keyadm/keyadm/internal/apikey"
)

// TestSecretsAndInvisibleCharactersRefused: over HTTP as on the command
// line, a key's secret in a name, a description, an owner, a team or a
// metadata value, and an invisible character in text, are refused (400)
// without being echoed, and nothing is written.
func TestSecretsAndInvisibleCharactersRefused(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		_, admin := h.admin("acme")
		id, secret := h.key(apikey.CreateInput{TenantID: "acme", Name: "keep"})
		for _, body := range []string{
			`{"name":"` + secret + `"}`,
			`{"name":"ok","description":"replaces ` + secret + `"}`,
			`{"name":"ok","sub":"` + secret + `"}`,
			`{"name":"ok","teamId":"` + secret + `"}`,
			`{"name":"ok","metadata":{"token":"` + secret + `"}}`,
			`{"name":"ok","metadata":{"` + secret[5:] + `":"v"}}`,
			`{"name":"bill\u200bing"}`,
			`{"name":"ok","description":"\ufeffnightly"}`,
		} {
			r := h.do("POST", "/v1/api-keys", withKey(admin), withJSON(body))
			p := r.wantError(t, http.StatusBadRequest, "invalid")
			if strings.Contains(r.body, secret[5:17]) {
				t.Errorf("POST %s: the answer holds the secret: %s", body, r.body)
			}
			if !strings.Contains(p.Detail, "secret") && !strings.Contains(p.Detail, "invisible") {
				t.Errorf("POST %s: detail %q says neither secret nor invisible", body, p.Detail)
			}
		}
		for _, value := range []string{`"` + secret + `"`, `"bill\u202eing"`} {
			for _, path := range []string{"/name", "/description"} {
				h.do("PATCH", "/v1/api-keys/"+id, withKey(admin), withPatch(`[{"op":"replace","path":"`+path+`","value":`+value+`}]`)).
					wantError(t, http.StatusBadRequest, "invalid")
			}
		}

		page, err := h.svc.List(context.Background(), apikey.ListInput{Filter: apikey.KeyFilter{TenantID: "acme"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Keys) != 2 {
			t.Errorf("%d keys in the tenant, want the 2 made before", len(page.Keys))
		}
		if k := h.get(id); k.Name != "keep" || k.Description != nil {
			t.Errorf("the key changed: %+v", k)
		}
		events := 0
		err = h.svc.Events(context.Background(), apikey.EventQuery{}, func(*apikey.AuditEvent) error { events++; return nil })
		if err != nil {
			t.Fatal(err)
		}
		if events != 2 {
			t.Errorf("%d audit events, want the 2 creations", events)
		}
	})
}

// TestLongInputQuoted: a long input quoted back in an error is cut on a
// character, never inside one, and the detail gives its length, as the
// CLI's messages do (apikey.Quote).
func TestLongInputQuoted(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		_, admin := h.admin("acme")
		id, _ := h.key(apikey.CreateInput{TenantID: "acme", Name: "steady"})
		long := strings.Repeat("é", 60)
		for _, c := range []struct {
			r      response
			status int
			want   string
		}{
			{h.do("POST", "/v1/api-keys", withKey(admin), withJSON(`{"name":"x","`+long+`":"v"}`)), http.StatusBadRequest, `unknown field "é`},
			{h.do("POST", "/v1/api-keys", withKey(admin), withJSON(`{"name":"x","metadata":{"`+long+`":"a","`+long+`":"b"}}`)), http.StatusBadRequest, `duplicate field "metadata.é`},
			{h.do("POST", "/v1/api-keys", withKey(admin), withBody("text/"+long, `{}`)), http.StatusUnsupportedMediaType, `Content-Type "text/é`},
			{h.do("GET", "/v1/api-keys?limit="+long, withKey(admin)), http.StatusBadRequest, `invalid limit "é`},
			{h.do("GET", "/v1/api-keys?"+long+"=1", withKey(admin)), http.StatusBadRequest, `unknown query parameter "é`},
			{h.do("PATCH", "/v1/api-keys/"+id, withKey(admin), withPatch(`[{"op":"`+long+`","path":"/name","value":"x"}]`)), http.StatusBadRequest, `unsupported patch op "é`},
			{h.do("PATCH", "/v1/api-keys/"+id, withKey(admin), withPatch(`[{"op":"replace","path":"/`+long+`","value":"x"}]`)), http.StatusBadRequest, `unsupported patch path "/é`},
		} {
			var p problem
			switch c.status {
			case http.StatusUnsupportedMediaType:
				p = c.r.wantError(t, c.status, "unsupported_media_type")
			default:
				p = c.r.wantError(t, c.status, "invalid")
			}
			if !strings.Contains(p.Detail, c.want) || !strings.Contains(p.Detail, ` characters)`) ||
				!utf8.ValidString(p.Detail) || strings.ContainsAny(p.Detail, "\uFFFD\\") {
				t.Errorf("detail %q: want it to quote %s… whole characters and give the length", p.Detail, c.want)
			}
		}
		// Where the input is not quoted, it is still cut on a character.
		p := h.do("GET", "/v1/nope/"+strings.Repeat("é", 120), withKey(admin)).wantError(t, http.StatusNotFound, "not_found")
		if !strings.HasSuffix(p.Detail, "GET /v1/nope/"+strings.Repeat("é", 91)+"…") || strings.Contains(p.Detail, "\uFFFD") {
			t.Errorf("detail %q", p.Detail)
		}
	})
}

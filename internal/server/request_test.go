package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/keyadm/keyadm/internal/apikey"
)

// snapshot is everything a request could have written: every key as it
// stands, every audit event, and the tenant's config.
func (h *harness) snapshot(t *testing.T, tenant string) string {
	t.Helper()
	ctx := context.Background()
	page, err := h.svc.List(ctx, apikey.ListInput{})
	if err != nil {
		t.Fatal(err)
	}
	var events []*apikey.AuditEvent
	if err := h.svc.Events(ctx, apikey.EventQuery{}, func(e *apikey.AuditEvent) error {
		events = append(events, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	cfg, err := h.svc.Config(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal([]any{page.Keys, events, cfg})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// send sends one request and answers its response.
type send func(method, path string, opts ...opt) response

// refused sends requests that must each be 400 invalid, with a detail
// holding want, and checks that none of them wrote anything.
func (h *harness) refused(t *testing.T, want string, reqs func(do send)) {
	t.Helper()
	before := h.snapshot(t, "acme")
	reqs(func(method, path string, opts ...opt) response {
		t.Helper()
		r := h.do(method, path, opts...)
		if p := r.wantError(t, http.StatusBadRequest, "invalid"); !strings.Contains(p.Detail, want) {
			t.Errorf("%s %s: detail %q, want it to say %q", method, path, p.Detail, want)
		}
		return r
	})
	if after := h.snapshot(t, "acme"); after != before {
		t.Fatalf("a refused request wrote:\nbefore %s\nafter  %s", before, after)
	}
}

// TestBodyNotUTF8: invalid UTF-8 anywhere in a body, in a value or a
// member name, or an escape that stands for no character (a lone
// surrogate), is 400 on every route that reads a body: encoding/json
// would store U+FFFD in its place, where the CLI refuses the text.
func TestBodyNotUTF8(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		_, admin := h.admin("acme")
		id, _ := h.key(apikey.CreateInput{TenantID: "acme", Name: "steady"})
		h.refused(t, "UTF-8", func(do send) {
			for _, body := range []string{
				"{\"name\":\"\xff\xfe\"}",
				"{\"name\":\"ok\",\"description\":\"caf\xe9\"}",
				"{\"name\":\"ok\",\"metadata\":{\"env\":\"\xc3\"}}",
				"{\"name\":\"ok\",\"metadata\":{\"\xed\xa0\x80\":\"v\"}}",
				"{\"na\xffme\":\"ok\"}",
				`{"name":"\ud800"}`,
				`{"name":"ok","description":"a\udc00b"}`,
				`{"name":"ok","metadata":{"env":"\ud83d"}}`,
			} {
				do("POST", "/v1/api-keys", withKey(admin), withJSON(body))
			}
			do("PATCH", "/v1/api-keys/"+id, withKey(admin), withPatch("[{\"op\":\"replace\",\"path\":\"/name\",\"value\":\"\xff\xfe\"}]"))
			do("PATCH", "/v1/api-keys/"+id, withKey(admin), withPatch(`[{"op":"replace","path":"/description","value":"\udfff"}]`))
			do("PATCH", "/v1/api-keys/configs/acme", withKey(admin), withPatch("[{\"op\":\"replace\",\"path\":\"/key_prefix\",\"value\":\"q\xff\"}]"))
		})
		// Real characters, raw or escaped (a pair for one beyond the BMP),
		// and U+FFFD itself, go through.
		var made map[string]any
		h.do("POST", "/v1/api-keys", withKey(admin), withJSON(`{"name":"café \u00e9 \ud83d\ude00 😀 �"}`)).want(t, http.StatusCreated, &made)
		if made["name"] != "café é 😀 😀 �" {
			t.Fatalf("name %q", made["name"])
		}
	})
}

// TestDuplicateMembers: a member given twice in one object, at any depth,
// is 400 naming it, not "the last one wins".
func TestDuplicateMembers(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		_, admin := h.admin("acme")
		id, _ := h.key(apikey.CreateInput{TenantID: "acme", Name: "steady"})
		for _, c := range []struct{ method, path, body, field string }{
			{"POST", "/v1/api-keys", `{"name":"a","name":"b"}`, `"name"`},
			{"POST", "/v1/api-keys", `{"name":"a","Name":"b"}`, `"name"`},
			{"POST", "/v1/api-keys", `{"NAME":"a","nAmE":"b"}`, `"name"`},
			{"POST", "/v1/api-keys", `{"name":"a","description":"x","permissions":["read"],"description":"y"}`, `"description"`},
			{"POST", "/v1/api-keys", `{"name":"a","metadata":{"env":"dev","env":"prod"}}`, `"metadata.env"`},
			{"POST", "/v1/api-keys", `{"name":"a","metadata":{},"metadata":{"env":"prod"}}`, `"metadata"`},
			{"PATCH", "/v1/api-keys/" + id, `[{"op":"replace","path":"/name","value":"x","value":"y"}]`, `"[0].value"`},
			{"PATCH", "/v1/api-keys/" + id, `[{"op":"replace","path":"/name","value":"x"},{"op":"replace","path":"/description","path":"/name","value":"y"}]`, `"[1].path"`},
			{"PATCH", "/v1/api-keys/configs/acme", `[{"op":"replace","op":"remove","path":"/max_keys_per_user","value":3}]`, `"[0].op"`},
			{"PATCH", "/v1/api-keys/configs/acme", `[{"op":"remove","path":"/key_prefix"},{"op":"replace","Op":"remove","path":"/key_prefix"}]`, `"[1].op"`},
		} {
			h.refused(t, "duplicate field "+c.field, func(do send) {
				do(c.method, c.path, withKey(admin), withJSON(c.body))
			})
		}
		// The same name in different objects is no duplicate, metadata
		// keys differ by case; unknown members are still refused.
		var made map[string]any
		h.do("POST", "/v1/api-keys", withKey(admin), withJSON(`{"name":"a","metadata":{"name":"b","description":"c","Env":"d","env":"e"}}`)).want(t, http.StatusCreated, &made)
		if meta := made["metadata"].(map[string]any); len(meta) != 4 {
			t.Fatalf("metadata %v", meta)
		}
		h.do("PATCH", "/v1/api-keys/"+id, withKey(admin), withPatch(`[{"op":"replace","path":"/name","value":"x"},{"op":"replace","path":"/description","value":"y"}]`)).want(t, http.StatusNoContent, nil)
		h.refused(t, `unknown field "nmae"`, func(do send) {
			do("POST", "/v1/api-keys", withKey(admin), withJSON(`{"name":"a","nmae":"b"}`))
		})
	})
}

// TestMalformedQuery: a query string that does not parse (a ";", a bad
// escape) is 400 on every route, where Go's URL.Query would drop the pair
// and answer with the wrong rows; a route that reads no parameter refuses
// any.
func TestMalformedQuery(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		_, admin := h.admin("acme")
		id, secret := h.key(apikey.CreateInput{TenantID: "acme", Name: "steady"})
		h.refused(t, "invalid query string", func(do send) {
			for _, q := range []string{"status=revoked;", "limit=500;", "limit=1;sort=name", ";", "status=revoked&sort=name;x", "limit=%zz", "st%tus=active"} {
				do("GET", "/v1/api-keys?"+q, withKey(admin))
			}
		})
		for _, rt := range []struct {
			method, path string
			opts         []opt
		}{
			{"POST", "/v1/verify", []opt{withKey(secret)}},
			{"GET", "/v1/api-keys", []opt{withKey(admin)}},
			{"POST", "/v1/api-keys", []opt{withKey(admin), withJSON(`{"name":"made"}`)}},
			{"GET", "/v1/api-keys/" + id, []opt{withKey(admin)}},
			{"PATCH", "/v1/api-keys/" + id, []opt{withKey(admin), withPatch(`[{"op":"replace","path":"/name","value":"x"}]`)}},
			{"DELETE", "/v1/api-keys/" + id, []opt{withKey(admin)}},
			{"GET", "/v1/api-keys/configs/acme", []opt{withKey(admin)}},
			{"PATCH", "/v1/api-keys/configs/acme", []opt{withKey(admin), withPatch(`[{"op":"remove","path":"/key_prefix"}]`)}},
		} {
			h.refused(t, "invalid query string", func(do send) {
				for _, q := range []string{"?a;b", "?tenant=acme;", "?%", "?x=%g0"} {
					do(rt.method, rt.path+q, rt.opts...)
				}
			})
			h.refused(t, "unknown query parameter", func(do send) {
				do(rt.method, rt.path+"?tenant=globex", rt.opts...)
			})
		}
		// An encoded ";" is a character of a value, and says so.
		p := h.do("GET", "/v1/api-keys?status=revoked%3B", withKey(admin)).wantError(t, http.StatusBadRequest, "invalid")
		if !strings.Contains(p.Detail, `"revoked;"`) {
			t.Fatalf("detail %q", p.Detail)
		}
		h.do("POST", "/v1/verify", withKey(secret)).want(t, http.StatusOK, nil)
		h.do("GET", "/v1/api-keys?status=active&limit=1", withKey(admin)).want(t, http.StatusOK, nil)
	})
}

// TestSecretInFreeText: a key's secret pasted into a name, a description
// or a metadata value is refused, as the CLI refuses it: it would show in
// every list, and the answer does not echo it.
func TestSecretInFreeText(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		_, admin := h.admin("acme")
		id, secret := h.key(apikey.CreateInput{TenantID: "acme", Name: "steady"})
		var bodies []response
		h.refused(t, "", func(do send) {
			for _, body := range []string{
				`{"name":"` + secret + `"}`,
				`{"name":"mine: ` + secret + `"}`,
				`{"name":"ok","description":"the key is ` + secret + `"}`,
				`{"name":"ok","metadata":{"token":"` + secret + `"}}`,
			} {
				bodies = append(bodies, do("POST", "/v1/api-keys", withKey(admin), withJSON(body)))
			}
			for _, member := range []string{"name", "description"} {
				body := `[{"op":"replace","path":"/` + member + `","value":"` + secret + `"}]`
				bodies = append(bodies, do("PATCH", "/v1/api-keys/"+id, withKey(admin), withPatch(body)))
			}
		})
		for _, r := range bodies {
			if strings.Contains(r.body, secret[5:20]) {
				t.Fatalf("the answer echoes the secret: %s", r.body)
			}
		}
	})
}

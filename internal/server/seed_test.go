package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/keyadm/keyadm/internal/apikey"
)

// seedHost is the host of the seed's examples, which the test swaps for
// the server's; seedKey stands for the caller's key.
const (
	seedHost = "https://your-tenant.us.qlikcloud.com"
	seedKey  = "<API-key>"
)

// The seed's curl examples, as qlik.dev's API reference for the API keys
// API shows them (https://qlik.dev/apis/rest/api-keys/), the request bodies
// filled with the seed's own example values (ApiKeyBody's P7D,
// ApiKeysPatchSchema's and ApiKeysConfigPatchSchema's examples); the
// credentials API's as docs/serve.md shows them. {id}, {tenantId} and
// {credentialId} stand for the ids the earlier answers gave.
const (
	seedList = `curl "https://your-tenant.us.qlikcloud.com/api/v1/api-keys" \
-H "Authorization: Bearer <API-key>"`
	seedCreateTemplate = `curl "https://your-tenant.us.qlikcloud.com/api/v1/api-keys" \
-X POST \
-H "Authorization: Bearer <API-key>" \
-H "Content-type: application/json" \
-d '{"description":"string","sub":"string","subType":"string","expiry":"string"}'`
	seedCreate = `curl "https://your-tenant.us.qlikcloud.com/api/v1/api-keys" \
-X POST \
-H "Authorization: Bearer <API-key>" \
-H "Content-type: application/json" \
-d '{"description":"string","sub":"string","subType":"user","expiry":"P7D"}'`
	seedGet = `curl "https://your-tenant.us.qlikcloud.com/api/v1/api-keys/{id}" \
-H "Authorization: Bearer <API-key>"`
	seedPatch = `curl "https://your-tenant.us.qlikcloud.com/api/v1/api-keys/{id}" \
-X PATCH \
-H "Authorization: Bearer <API-key>" \
-H "Content-type: application/json" \
-d '[{"op":"replace","path":"/description","value":"my new description"}]'`
	seedDelete = `curl "https://your-tenant.us.qlikcloud.com/api/v1/api-keys/{id}" \
-X DELETE \
-H "Authorization: Bearer <API-key>"`
	seedConfigGet = `curl "https://your-tenant.us.qlikcloud.com/api/v1/api-keys/configs/{tenantId}" \
-H "Authorization: Bearer <API-key>"`
	seedConfigPatch = `curl "https://your-tenant.us.qlikcloud.com/api/v1/api-keys/configs/{tenantId}" \
-X PATCH \
-H "Authorization: Bearer <API-key>" \
-H "Content-type: application/json" \
-d '[{"op":"replace","path":"/max_keys_per_user","value":10}]'`
	seedCredentialCreate = `curl "https://your-tenant.us.qlikcloud.com/qsi/gather/credentials" \
-X POST \
-H "Authorization: Bearer <API-key>" \
-H "Content-Type: application/json" \
-d '{"organizationId":"{tenantId}","teamId":"payments","name":"ci-deploy","permissions":["read","write"]}'`
	seedCredentialList = `curl "https://your-tenant.us.qlikcloud.com/qsi/gather/credentials" \
-H "Authorization: Bearer <API-key>"`
	seedCredentialRevoke = `curl "https://your-tenant.us.qlikcloud.com/qsi/gather/credentials/{credentialId}" \
-X DELETE \
-H "Authorization: Bearer <API-key>"`
)

// curlWords splits a curl command line as a POSIX shell would, for the
// quoting the examples use: "…", '…' and a backslash before a newline.
func curlWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	in, quote := false, rune(0)
	for _, c := range strings.ReplaceAll(line, "\\\n", " ") {
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			w.WriteRune(c)
		case c == '"' || c == '\'':
			quote, in = c, true
		case c == ' ' || c == '\n' || c == '\t':
			if in {
				words, in = append(words, w.String()), false
				w.Reset()
			}
		default:
			w.WriteRune(c)
			in = true
		}
	}
	if quote != 0 {
		t.Fatalf("unbalanced quote in %s", line)
	}
	if in {
		words = append(words, w.String())
	}
	return words
}

// curl sends a curl command line to the server: its method (-X), headers
// (-H), body (-d) and URL, with the seed's host swapped for the server's
// and the placeholders filled.
func (h *harness) curl(t *testing.T, line string, fill map[string]string) response {
	t.Helper()
	for k, v := range fill {
		line = strings.ReplaceAll(line, k, v)
	}
	words := curlWords(t, line)
	if words[0] != "curl" {
		t.Fatalf("not a curl line: %s", line)
	}
	method, url := "", ""
	var opts []opt
	var contentType, body string
	hasBody := false
	for i := 1; i < len(words); i++ {
		switch words[i] {
		case "-X":
			i++
			method = words[i]
		case "-H":
			i++
			name, value, _ := strings.Cut(words[i], ": ")
			if strings.EqualFold(name, "Content-Type") {
				contentType = value
				continue
			}
			opts = append(opts, withHeader(name, value))
		case "-d":
			i++
			body, hasBody = words[i], true
		default:
			url = words[i]
		}
	}
	if method == "" {
		method = "GET"
		if hasBody {
			method = "POST"
		}
	}
	if hasBody {
		opts = append(opts, withBody(contentType, body))
	}
	if !strings.HasPrefix(url, seedHost) {
		t.Fatalf("the example's URL %s is not on %s", url, seedHost)
	}
	return h.do(method, strings.TrimPrefix(url, seedHost), opts...)
}

// wantMembers checks that an object has the members the seed requires,
// each of the JSON type the seed gives it.
func wantMembers(t *testing.T, what string, obj map[string]any, members map[string]string) {
	t.Helper()
	for name, typ := range members {
		v, ok := obj[name]
		var got string
		switch v.(type) {
		case string:
			got = "string"
		case bool:
			got = "boolean"
		case float64:
			got = "number"
		case map[string]any:
			got = "object"
		case []any:
			got = "array"
		}
		if !ok || got != typ {
			t.Errorf("%s: %s is %v (%s), want a %s", what, name, v, got, typ)
		}
	}
}

// seedKeyMembers are the members of the seed's ApiKey, required there.
var seedKeyMembers = map[string]string{"id": "string", "tenantId": "string", "description": "string",
	"status": "string", "sub": "string", "subType": "string", "expiry": "string", "createdByUser": "string",
	"created": "string", "lastUpdated": "string"}

// TestSeedExamples: each example request of the seeds, sent as shown
// with only the host and key (and the ids earlier answers gave)
// substituted, gets the seed's status and an answer of the seed's shape.
// The harness also validates each answer against openapi.yaml.
func TestSeedExamples(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		// An admin with an owner (sub) and an expiry, as every seed key has;
		// keyadm's keys may lack both, and show null then.
		month := 30 * apikey.Day
		_, admin := h.key(apikey.CreateInput{TenantID: "acme", OwnerID: "admin@acme", Name: "admin",
			Permissions: []string{"admin"}, Expiry: apikey.Expiry{In: &month}})
		fill := map[string]string{seedKey: admin, "{tenantId}": "acme"}

		checkSeedError(t, h, fill)
		checkSeedKey(t, h, fill)
		checkSeedCredentials(t, h, fill)
	})
}

// checkSeedError: the reference's template, "string" in every member, is
// refused in the seed's error shape.
func checkSeedError(t *testing.T, h *harness, fill map[string]string) {
	t.Helper()
	var errs struct {
		Errors []map[string]any `json:"errors"`
	}
	h.curl(t, seedCreateTemplate, fill).want(t, http.StatusBadRequest, &errs)
	if len(errs.Errors) != 1 {
		t.Fatalf("errors %v", errs.Errors)
	}
	wantMembers(t, "error", errs.Errors[0], map[string]string{"code": "string", "title": "string", "detail": "string", "status": "number", "meta": "object"})
	if errs.Errors[0]["status"] != float64(400) {
		t.Fatalf("error %v", errs.Errors[0])
	}
}

// checkSeedKey: the seed's create, list, get, patch, config and delete
// examples; fill gets the created key's id.
func checkSeedKey(t *testing.T, h *harness, fill map[string]string) {
	t.Helper()
	var created map[string]any
	r := h.curl(t, seedCreate, fill)
	r.want(t, http.StatusCreated, &created)
	wantMembers(t, "create", created, seedKeyMembers)
	wantMembers(t, "create", created, map[string]string{"token": "string"})
	if created["sub"] != "string" || created["subType"] != "user" || created["description"] != "string" ||
		created["expiry"] != "2026-03-08T12:00:00Z" || created["status"] != "active" || !strings.HasPrefix(created["token"].(string), "qapi_") {
		t.Fatalf("created %v", created)
	}
	id := created["id"].(string)
	fill["{id}"] = id

	var page struct {
		Data  []map[string]any          `json:"data"`
		Links map[string]map[string]any `json:"links"`
	}
	h.curl(t, seedList, fill).want(t, http.StatusOK, &page)
	if len(page.Data) != 2 || page.Data[0]["id"] != id {
		t.Fatalf("list %v", page.Data)
	}
	for _, k := range page.Data {
		wantMembers(t, "list item", k, seedKeyMembers)
	}
	if page.Links["self"]["href"] != h.base+"/api/v1/api-keys?limit=20&sort=-created" {
		t.Fatalf("links %v", page.Links)
	}

	var got map[string]any
	h.curl(t, seedGet, fill).want(t, http.StatusOK, &got)
	wantMembers(t, "get", got, seedKeyMembers)
	if _, ok := got["token"]; ok || got["id"] != id {
		t.Fatalf("get %v", got)
	}

	r = h.curl(t, seedPatch, fill)
	if r.want(t, http.StatusNoContent, nil); r.body != "" {
		t.Fatalf("patch answered %q", r.body)
	}
	if k := h.get(id); k.Description == nil || *k.Description != "my new description" {
		t.Fatalf("patched %+v", k)
	}

	var cfg map[string]any
	h.curl(t, seedConfigGet, fill).want(t, http.StatusOK, &cfg)
	wantMembers(t, "config", cfg, map[string]string{"api_keys_enabled": "boolean", "max_keys_per_user": "number",
		"max_api_key_expiry": "string", "scim_externalClient_expiry": "string"})
	h.curl(t, seedConfigPatch, fill).want(t, http.StatusNoContent, nil)
	h.curl(t, seedConfigGet, fill).want(t, http.StatusOK, &cfg)
	if cfg["max_keys_per_user"] != float64(10) {
		t.Fatalf("config %v", cfg)
	}

	// The admin revokes: the key stays, revoked.
	h.curl(t, seedDelete, fill).want(t, http.StatusNoContent, nil)
	h.curl(t, seedGet, fill).want(t, http.StatusOK, &got)
	if got["status"] != "revoked" {
		t.Fatalf("after delete %v", got)
	}
}

// checkSeedCredentials: the seed's credential create, list and revoke
// examples, in their envelope; fill gets the credential's id.
func checkSeedCredentials(t *testing.T, h *harness, fill map[string]string) {
	t.Helper()
	type envelope struct {
		Data map[string]any `json:"data"`
		Meta map[string]any `json:"meta"`
	}
	var made envelope
	r := h.curl(t, seedCredentialCreate, fill)
	r.want(t, http.StatusCreated, &made)
	wantMembers(t, "credential", made.Data, map[string]string{"id": "string", "organizationId": "string",
		"teamId": "string", "name": "string", "permissions": "array", "key": "string"})
	wantMembers(t, "meta", made.Meta, map[string]string{"requestId": "string", "timestamp": "string"})
	if made.Meta["requestId"] != r.header.Get("X-Request-Id") || made.Data["organizationId"] != "acme" {
		t.Fatalf("created %v", made)
	}
	credID := made.Data["id"].(string)
	fill["{credentialId}"] = credID
	secret := made.Data["key"].(string)
	h.do("POST", "/v1/verify", withKey(secret)).want(t, http.StatusOK, nil)

	var list struct {
		Data []map[string]any `json:"data"`
		Meta map[string]any   `json:"meta"`
	}
	h.curl(t, seedCredentialList, fill).want(t, http.StatusOK, &list)
	if len(list.Data) != 3 || list.Data[0]["id"] != credID || list.Meta["requestId"] == nil {
		t.Fatalf("credentials %v", list)
	}
	for _, c := range list.Data {
		if _, ok := c["key"]; ok {
			t.Fatalf("a listed credential shows its secret: %v", c)
		}
	}

	var revoked envelope
	h.curl(t, seedCredentialRevoke, fill).want(t, http.StatusOK, &revoked)
	if revoked.Data["id"] != credID || revoked.Data["revokedAt"] != "2026-03-01T12:00:00Z" || len(revoked.Data) != 2 {
		t.Fatalf("revoked %v", revoked)
	}
	h.do("POST", "/v1/verify", withKey(secret)).wantError(t, http.StatusUnauthorized, "revoked")
}

package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/keyadm/keyadm/internal/server"
)

// spec is the server's OpenAPI document, loaded and validated once by
// kin-openapi, with a router that finds each request's operation.
var spec = sync.OnceValues(func() (*openapi3.T, error) {
	openapi3filter.RegisterBodyDecoder("application/yaml", openapi3filter.YamlBodyDecoder)
	doc, err := openapi3.NewLoader().LoadFromData(server.OpenAPI)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	return doc, nil
})

var specRouter = sync.OnceValues(func() (routers.Router, error) {
	doc, err := spec()
	if err != nil {
		return nil, err
	}
	return legacy.NewRouter(doc)
})

// specMismatch validates one response the tests received against the
// document: the operation's own response when the request names one
// (status, headers, body by its schema), else, for a route or method the
// server does not have, an Errors body with 404, 405 or 413. HEAD answers
// are GET's without a body. Every answer must carry X-Request-Id.
func specMismatch(req *http.Request, status int, header http.Header, body []byte) error {
	if header.Get("X-Request-Id") == "" {
		return fmt.Errorf("%d without X-Request-Id", status)
	}
	doc, err := spec()
	if err != nil {
		return fmt.Errorf("openapi.yaml: %w", err)
	}
	router, err := specRouter()
	if err != nil {
		return fmt.Errorf("openapi.yaml router: %w", err)
	}
	find := req
	if req.Method == http.MethodHead {
		find = req.Clone(req.Context())
		find.Method = http.MethodGet
	}
	route, params, err := router.FindRoute(find)
	if err != nil {
		if !slices.Contains([]int{http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusRequestEntityTooLarge}, status) {
			return fmt.Errorf("%d, but the document has no such operation: %w", status, err)
		}
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			return fmt.Errorf("%d with a body that is not JSON: %q", status, body)
		}
		if err := doc.Components.Schemas["Errors"].Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
			return fmt.Errorf("%d: not an Errors body: %w", status, err)
		}
		return nil
	}
	if req.Method == http.MethodHead {
		return nil
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("the %d answer does not match openapi.yaml: %w", status, err)
	}
	return nil
}

// TestOpenAPIDocument: the document loads and validates with kin-openapi
// as OpenAPI 3.1, docs/openapi.yaml is the same file, GET /openapi.yaml
// serves it, and every route the server answers is described (each path
// at each method), and nothing more.
func TestOpenAPIDocument(t *testing.T) {
	doc, err := spec()
	if err != nil {
		t.Fatal(err)
	}
	if !doc.IsOpenAPI31OrLater() || strings.HasPrefix(doc.OpenAPI, "3.2") {
		t.Fatalf("openapi %s, want 3.1", doc.OpenAPI)
	}
	docs, err := os.ReadFile("../../docs/openapi.yaml")
	if err != nil || !bytes.Equal(docs, server.OpenAPI) {
		t.Fatalf("docs/openapi.yaml differs from internal/server/openapi.yaml (%v): copy it over", err)
	}
	described := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			described[method+" "+path] = true
		}
	}
	served := map[string]bool{}
	for _, r := range server.Routes() {
		served[r] = true
		if !described[r] {
			t.Errorf("the server answers %s, which openapi.yaml does not describe", r)
		}
	}
	for r := range described {
		if !served[r] {
			t.Errorf("openapi.yaml describes %s, which the server does not answer", r)
		}
	}
	eachEngine(t, func(t *testing.T, h *harness) {
		r := h.do("GET", "/openapi.yaml")
		r.want(t, http.StatusOK, nil)
		if r.body != string(server.OpenAPI) || r.header.Get("Content-Type") != "application/yaml" {
			t.Fatalf("GET /openapi.yaml: %s, %d bytes", r.header.Get("Content-Type"), len(r.body))
		}
	})
}

// TestSpecCatchesDrift: the validation the harness runs on every answer
// fails on answers that stray from the document: a config value of the
// wrong type, an error status as a string, a member the document lacks or
// requires, a status an operation does not have, no X-Request-Id.
func TestSpecCatchesDrift(t *testing.T) {
	json := http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"x"}}
	for _, c := range []struct {
		method, path string
		status       int
		header       http.Header
		body         string
	}{
		{"GET", "/v1/api-keys/configs/acme", 200, json, `{"tenantId":"acme","api_keys_enabled":"true","default_expiry":"none","key_prefix":"qapi","max_api_key_expiry":"none","max_keys_per_user":0,"scim_externalClient_expiry":"P365D","sources":{}}`},
		{"GET", "/v1/api-keys/configs/acme", 400, json, `{"errors":[{"code":"invalid","title":"t","detail":"d","status":"400","meta":{}}]}`},
		{"GET", "/api/v1/api-keys", 200, json, `{"data":[],"links":{"self":"http://h/api/v1/api-keys"}}`},
		{"DELETE", "/v1/api-keys/x", 200, json, `{}`},
		{"GET", "/healthz", 200, http.Header{"Content-Type": {"application/json"}}, `{"status":"ok"}`},
		{"GET", "/nowhere", 200, json, `{}`},
		// issue 13: verify's identity without its effective permissions, a
		// 403 insufficient_permissions without meta.missing, a key record
		// without disabledAt.
		{"POST", "/v1/verify", 200, json, `{"id":"01a21737-4792-70a1-a598-386a3e2cc937","name":"n","tenantId":"t","teamId":null,"ownerId":null,"permissions":[],"expiresAt":null}`},
		{"POST", "/v1/verify", 403, json, `{"errors":[{"code":"insufficient_permissions","title":"t","detail":"d","status":403,"meta":{"requestId":"x"}}]}`},
		{"POST", "/v1/verify", 403, json, `{"errors":[{"code":"forbidden","title":"t","detail":"d","status":403,"meta":{"requestId":"x","missing":["a"]}}]}`},
		{"GET", "/v1/api-keys/x", 200, json, `{"id":"01a21737-4792-70a1-a598-386a3e2cc937","tenantId":"t","description":"","sub":null,"subType":"user","status":"disabled","expiry":null,"createdByUser":"c","created":"2026-03-01T11:00:00Z","lastUpdated":"2026-03-01T11:00:00Z","name":"n","teamId":null,"permissions":[],"metadata":{},"hint":"h","lastUsedAt":null,"revokedAt":null,"revokedBy":null,"revokeReason":null,"rotatedFrom":null}`},
		// issue 14 beside issue 13: an ip_not_allowed 403 with a missing
		// list, a key record with disabledAt but without its limits.
		{"POST", "/v1/verify", 403, json, `{"errors":[{"code":"ip_not_allowed","title":"t","detail":"d","status":403,"meta":{"requestId":"x","missing":["a"]}}]}`},
		{"GET", "/v1/api-keys/x", 200, json, `{"id":"01a21737-4792-70a1-a598-386a3e2cc937","tenantId":"t","description":"","sub":null,"subType":"user","status":"disabled","expiry":null,"createdByUser":"c","created":"2026-03-01T11:00:00Z","lastUpdated":"2026-03-01T11:00:00Z","name":"n","teamId":null,"permissions":[],"metadata":{},"hint":"h","lastUsedAt":null,"revokedAt":null,"revokedBy":null,"revokeReason":null,"rotatedFrom":null,"disabledAt":null}`},
	} {
		req, _ := http.NewRequest(c.method, "http://127.0.0.1"+c.path, nil)
		if err := specMismatch(req, c.status, c.header, []byte(c.body)); err == nil {
			t.Errorf("%s %s %d %s: passed the document", c.method, c.path, c.status, c.body)
		}
	}
	req, _ := http.NewRequest("GET", "http://127.0.0.1/healthz", nil)
	if err := specMismatch(req, 200, json, []byte(`{"status":"ok"}`)); err != nil {
		t.Fatalf("a good answer: %v", err)
	}
	req, _ = http.NewRequest("POST", "http://127.0.0.1/v1/verify?permission=a", nil)
	if err := specMismatch(req, 403, json, []byte(`{"errors":[{"code":"insufficient_permissions","title":"t","detail":"d","status":403,"meta":{"requestId":"x","missing":["a"]}}]}`)); err != nil {
		t.Fatalf("a good 403: %v", err)
	}
	if err := specMismatch(req, 403, json, []byte(`{"errors":[{"code":"ip_not_allowed","title":"t","detail":"d","status":403,"meta":{"requestId":"x"}}]}`)); err != nil {
		t.Fatalf("a good 403 ip_not_allowed: %v", err)
	}
}

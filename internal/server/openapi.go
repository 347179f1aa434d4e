package server

import (
	_ "embed"
	"net/http"
)

// OpenAPI is the OpenAPI 3.1 document of every route the server answers;
// docs/openapi.yaml is a copy (a test holds them equal).
//
//go:embed openapi.yaml
var OpenAPI []byte

// serveOpenAPI answers the document.
func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/yaml")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(OpenAPI)
}

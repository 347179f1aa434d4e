package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/keyadm/keyadm/internal/apikey"
)

// Media types of request bodies.
const (
	mediaJSON      = "application/json"
	mediaJSONPatch = "application/json-patch+json"
)

// decodeJSON reads the request body, of one of the given media types, into
// v: exactly one JSON value, no unknown fields, within the body limit.
func decodeJSON(r *http.Request, v any, media ...string) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || !slices.Contains(media, mt) {
		return apikey.Errorf(codeMediaType, "Content-Type %q: want %s", clip(ct, 100), strings.Join(media, " or "))
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			return jsonError(err)
		}
		return apikey.Errorf(apikey.EINVALID, "invalid JSON: more than one value in the body")
	}
	return nil
}

// jsonError describes a decoding failure without echoing the body.
func jsonError(err error) error {
	var tooLarge *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooLarge):
		return apikey.Errorf(codeTooLarge, "request body over the limit of %d bytes", tooLarge.Limit)
	case errors.Is(err, io.EOF):
		return apikey.Errorf(apikey.EINVALID, "empty body: want a JSON value")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apikey.Errorf(apikey.EINVALID, "invalid JSON: the body ends too soon")
	case errors.As(err, &syntax):
		return apikey.Errorf(apikey.EINVALID, "invalid JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return apikey.Errorf(apikey.EINVALID, "invalid JSON: %s must be %s, not %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
		}
		return apikey.Errorf(apikey.EINVALID, "invalid JSON: want %s, not %s", jsonKind(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return apikey.Errorf(apikey.EINVALID, "unknown field %s", clip(strings.TrimPrefix(err.Error(), "json: unknown field "), 100))
	}
	return apikey.Errorf(apikey.EINVALID, "invalid JSON")
}

// jsonKind names a Go kind the way a JSON client thinks of it.
func jsonKind(kind string) string {
	switch kind {
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "ptr", "interface":
		return "a value"
	}
	return "a number"
}

// queryParams checks a query string: only the allowed names, each once.
// Unknown names are refused, so a misspelt cursor is not silently ignored.
func queryParams(q url.Values, allowed ...string) (map[string]string, error) {
	out := make(map[string]string, len(q))
	for name, vals := range q {
		if !slices.Contains(allowed, name) {
			return nil, apikey.Errorf(apikey.EINVALID, "unknown query parameter %q: want %s", clip(name, 64), strings.Join(allowed, ", "))
		}
		if len(vals) != 1 {
			return nil, apikey.Errorf(apikey.EINVALID, "query parameter %s given %d times", name, len(vals))
		}
		out[name] = vals[0]
	}
	return out, nil
}

// clip shortens client text quoted back in a message or a log line,
// with anything key-like in it redacted.
func clip(s string, n int) string {
	// Redact first: a clipped key is still most of a key.
	s = apikey.RedactSecrets(s)
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// patchOp is one operation of a JSON Patch (RFC 6902). Value is nil when
// absent, "null" when null. From is read only so that a well-formed move
// or copy is refused for its op, not as an unknown field.
type patchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
	From  string          `json:"from"`
}

// decodePatch reads a JSON Patch document: a non-empty array of operations.
func decodePatch(r *http.Request) ([]patchOp, error) {
	var ops []patchOp
	if err := decodeJSON(r, &ops, mediaJSONPatch, mediaJSON); err != nil {
		return nil, err
	}
	if len(ops) == 0 {
		return nil, apikey.Errorf(apikey.EINVALID, "empty patch: want an array of at least one operation")
	}
	return ops, nil
}

// member checks an operation against the allowed ops and top-level
// members, and returns the member its path names.
func (op patchOp) member(allowedOps, members []string) (string, error) {
	if !slices.Contains(allowedOps, op.Op) {
		return "", apikey.Errorf(apikey.EINVALID, "unsupported patch op %q: want %s", clip(op.Op, 32), strings.Join(allowedOps, " or "))
	}
	name, ok := strings.CutPrefix(op.Path, "/")
	if !ok || !slices.Contains(members, name) {
		return "", apikey.Errorf(apikey.EINVALID, "unsupported patch path %q: want one of /%s", clip(op.Path, 64), strings.Join(members, ", /"))
	}
	if op.Op != "remove" && op.Value == nil {
		return "", apikey.Errorf(apikey.EINVALID, "patch op %s %s: missing value", op.Op, op.Path)
	}
	return name, nil
}

// value decodes an operation's value: a string, bool, json.Number, nil
// for null, or a map or slice.
func (op patchOp) value() (any, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(op.Value))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, jsonError(err)
	}
	return v, nil
}

// badValue refuses an operation's value.
func (op patchOp) badValue(want string) error {
	return apikey.Errorf(apikey.EINVALID, "patch op %s %s: the value must be %s", op.Op, op.Path, want)
}

package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/keyadm/keyadm/internal/apikey"
)

// Media types of request bodies.
const (
	mediaJSON      = "application/json"
	mediaJSONPatch = "application/json-patch+json"
)

// decodeJSON reads the request body, of one of the given media types, into
// v: exactly one JSON value, in UTF-8, no member twice in an object, no
// unknown fields, within the body limit. It is the one place bodies are
// read, so every route holds to these rules.
func decodeJSON(r *http.Request, v any, media ...string) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || !slices.Contains(media, mt) {
		return apikey.Errorf(codeMediaType, "Content-Type %s: want %s", apikey.Quote(ct), strings.Join(media, " or "))
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return jsonError(err)
	}
	// encoding/json would put U+FFFD where the text is not UTF-8, and let
	// the last of two same-named members win: a client would get 201 for
	// what the CLI refuses.
	if i := invalidUTF8(body); i >= 0 {
		return apikey.Errorf(apikey.EINVALID, "invalid JSON at byte %d: not UTF-8", i)
	}
	if err := checkMembers(body, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
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

// invalidUTF8 is the offset of the first byte of b that is not part of a
// UTF-8 character, or -1.
func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		c, n := utf8.DecodeRune(b[i:])
		if c == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// container is an object or array that checkMembers is inside.
type container struct {
	path    string          // where it is, as "metadata" or "[0]"
	typ     reflect.Type    // what it decodes into; nil when not known
	names   map[string]bool // an object's members so far; nil for an array
	member  string          // the member whose value comes next
	field   reflect.Type    // what that member decodes into, in a struct
	wantKey bool            // an object's next token is a member name
	index   int             // an array's next element
}

// child is the path of the value that comes next in c.
func (c *container) child() string {
	if c.names == nil {
		return c.path + "[" + strconv.Itoa(c.index) + "]"
	}
	if c.path == "" {
		return c.member
	}
	return c.path + "." + c.member
}

// childType is what the value that comes next in c decodes into, or nil.
func (c *container) childType() reflect.Type {
	if c.typ == nil {
		return nil
	}
	switch c.typ.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map:
		return deref(c.typ.Elem())
	case reflect.Struct:
		return c.field
	}
	return nil
}

// valueDone moves c past a value.
func (c *container) valueDone() {
	if c.names == nil {
		c.index++
	} else {
		c.wantKey = true
	}
}

// structField resolves a member of an object that decodes into t as
// encoding/json does, regardless of case: to its field's JSON name and
// type. Other names, and members of maps, stay as they are.
func structField(t reflect.Type, name string) (string, reflect.Type) {
	if t == nil || t.Kind() != reflect.Struct {
		return name, nil
	}
	for f := range t.Fields() {
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "" {
			tag = f.Name
		}
		if f.IsExported() && tag != "-" && strings.EqualFold(tag, name) {
			return tag, deref(f.Type)
		}
	}
	return name, nil
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// checkMembers walks the body's first value once and refuses a member
// given twice in one object (for a struct, in any case, as encoding/json
// matches them), naming it, and a \u escape of half a surrogate pair,
// which encoding/json turns into U+FFFD. v is what the body decodes into.
// Syntax errors are left to the decoder, which words them.
func checkMembers(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // no number is out of range here
	var stack []*container
	var prev int64
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		var top *container
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if s, ok := tok.(string); ok && loneSurrogate(s, body[prev:dec.InputOffset()]) {
			return apikey.Errorf(apikey.EINVALID, "invalid JSON after byte %d: a \\u escape of half a surrogate pair is no character; want UTF-8 text", prev)
		}
		prev = dec.InputOffset()
		switch {
		case top != nil && top.wantKey && tok != json.Delim('}'):
			name, _ := tok.(string)
			top.member, top.field = structField(top.typ, name)
			top.wantKey = false
			if top.names[top.member] {
				return apikey.Errorf(apikey.EINVALID, "duplicate field %s: give each member of an object once", apikey.Quote(top.child()))
			}
			top.names[top.member] = true
		case tok == json.Delim('{') || tok == json.Delim('['):
			c := &container{typ: deref(reflect.TypeOf(v))}
			if top != nil {
				c.path, c.typ = top.child(), top.childType()
			}
			if tok == json.Delim('{') {
				c.names, c.wantKey = map[string]bool{}, true
			}
			stack = append(stack, c)
		case tok == json.Delim('}') || tok == json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return nil
			}
			stack[len(stack)-1].valueDone()
		case top == nil:
			return nil // a lone scalar
		default:
			top.valueDone()
		}
	}
}

// loneSurrogate reports whether the decoded string s holds a U+FFFD that
// its raw text neither holds nor escapes, one encoding/json put there.
func loneSurrogate(s string, raw []byte) bool {
	n := strings.Count(s, "\uFFFD")
	if n == 0 {
		return false
	}
	return n > bytes.Count(raw, []byte("\uFFFD"))+bytes.Count(bytes.ToLower(raw), []byte(`\ufffd`))
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
		// encoding/json quotes the name with %q.
		name, err := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		if err != nil {
			return apikey.Errorf(apikey.EINVALID, "unknown field")
		}
		return apikey.Errorf(apikey.EINVALID, "unknown field %s", apikey.Quote(name))
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

// query is a request's query parameters, each given once.
type query map[string]string

// queryParams reads a request's query string: only the allowed names,
// each once. It is the one place query strings are read. Unknown names
// are refused, so a misspelt cursor is not silently ignored, and so is a
// query that does not parse: URL.Query would drop a pair holding a ";" or
// a bad escape, and the answer would hold the wrong rows.
func queryParams(r *http.Request, allowed ...string) (query, error) {
	q, err := queryValues(r, allowed...)
	if err != nil {
		return nil, err
	}
	out := make(query, len(q))
	for name, vals := range q {
		if len(vals) != 1 {
			return nil, apikey.Errorf(apikey.EINVALID, "query parameter %s given %d times", name, len(vals))
		}
		out[name] = vals[0]
	}
	return out, nil
}

// queryValues is queryParams for routes whose parameters may repeat
// (verify's permission): only the allowed names, each with its values.
func queryValues(r *http.Request, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, apikey.Errorf(apikey.EINVALID, "invalid query string: %s; separate parameters with &, and percent-encode ; and %% in a value", shorten(err.Error(), 100))
	}
	for name := range q {
		if !slices.Contains(allowed, name) {
			if len(allowed) == 0 {
				return nil, apikey.Errorf(apikey.EINVALID, "unknown query parameter %s: this route takes none", apikey.Quote(name))
			}
			return nil, apikey.Errorf(apikey.EINVALID, "unknown query parameter %s: want %s", apikey.Quote(name), strings.Join(allowed, ", "))
		}
	}
	return q, nil
}

// shorten cuts text that holds client input, for a log line or a
// message that already words it, to n characters and a "…", with
// anything key-like in it redacted. A quoted input goes through
// apikey.Quote instead, which also gives its length.
func shorten(s string, n int) string {
	// Redact first: a clipped key is still most of a key.
	s = apikey.RedactSecrets(s)
	count := 0
	for i := range s {
		if count == n {
			return s[:i] + "…"
		}
		count++
	}
	return s
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
		return "", apikey.Errorf(apikey.EINVALID, "unsupported patch op %s: want %s", apikey.Quote(op.Op), strings.Join(allowedOps, " or "))
	}
	name, ok := strings.CutPrefix(op.Path, "/")
	if !ok || !slices.Contains(members, name) {
		return "", apikey.Errorf(apikey.EINVALID, "unsupported patch path %s: want one of /%s", apikey.Quote(op.Path), strings.Join(members, ", /"))
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

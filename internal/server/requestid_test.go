package server

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRequestIDEchoedOnlyWhenSane: a client's X-Request-Id comes back only
// when it is one id of 1 to 128 of [A-Za-z0-9._:-]; anything else gets a
// new UUID, so nothing odd reaches a header or a log line.
func TestRequestIDEchoedOnlyWhenSane(t *testing.T) {
	for id, echoed := range map[string]bool{
		"abc-123":                  true,
		"req_1.2:3":                true,
		strings.Repeat("a", 128):   true,
		strings.Repeat("a", 129):   false,
		"":                         false,
		"a b":                      false,
		"a\nb":                     false,
		"é":                        false,
		"<script>":                 false,
		"8c3e-4b: ok; rm -rf /tmp": false,
	} {
		r := httptest.NewRequest("GET", "/healthz", nil)
		if id != "" {
			r.Header.Set(headerRequestID, id)
		}
		got := requestID(r)
		if (got == id) != echoed {
			t.Errorf("X-Request-Id %q: got %q, want echoed=%v", id, got, echoed)
		}
		if !echoed && len(got) != 36 {
			t.Errorf("X-Request-Id %q: got %q, want a new UUID", id, got)
		}
	}
	r := httptest.NewRequest("GET", "/healthz", nil)
	r.Header.Add(headerRequestID, "one")
	r.Header.Add(headerRequestID, "two")
	if got := requestID(r); got == "one" || got == "two" {
		t.Errorf("two X-Request-Id headers: got %q, want a new UUID", got)
	}
}

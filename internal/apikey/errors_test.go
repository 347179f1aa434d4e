package apikey_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// TestErrorsNameFields: a domain error names input fields by the data
// model's names, and each caller words them its own way; nothing else in
// the message changes, and quoted input cannot pose as a field.
func TestErrorsNameFields(t *testing.T) {
	in := apikey.CreateInput{Name: "n", Expiry: apikey.Expiry{In: new(time.Duration), At: &time.Time{}}}
	err := in.Validate()
	var e *apikey.Error
	if !errors.As(err, &e) {
		t.Fatalf("Validate = %v, want an *apikey.Error", err)
	}
	if got, want := e.Error(), "give expiresIn or expiresAt, not both"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	flag := func(f string) string { return "--" + strings.ToLower(f) }
	if got, want := e.Worded(flag), "give --expiresin or --expiresat, not both"; got != want {
		t.Errorf("Worded = %q, want %q", got, want)
	}
	// Input that holds the marks is quoted, so it stays text.
	bad := apikey.Errorf(apikey.EINVALID, "invalid %s %s", apikey.Field("metadata"), apikey.Quote(apikey.Field("x")))
	if got := bad.Worded(flag); got != `invalid --metadata "\x1ex\x1f"` {
		t.Errorf("Worded = %q: quoted input was worded as a field", got)
	}
}

// TestQuotePath: a store message names a usual path as it is, but a huge
// one (a --db of 100 KB once came back whole) is clipped, keeping the
// file's name, and one with a newline stays on one line.
func TestQuotePath(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/var/lib/keyadm/keyadm.db", "/var/lib/keyadm/keyadm.db"},
		{`C:\Users\me\keyadm.db`, `C:\Users\me\keyadm.db`},
		{"/tmp/my keys.db", "/tmp/my keys.db"},
		{"/tmp/a\nb.db", `"/tmp/a\nb.db"`},
	} {
		if got := apikey.QuotePath(c.in); got != c.want {
			t.Errorf("QuotePath(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	long := "/" + strings.Repeat("d/", 50_000) + "typo.db"
	got := apikey.QuotePath(long)
	if len(got) > 2*apikey.MaxPath || !strings.HasSuffix(got, "typo.db (100008 characters)") || !strings.HasPrefix(got, "/d/d/") {
		t.Errorf("QuotePath(100 KB path) = %q (%d bytes)", got, len(got))
	}
}

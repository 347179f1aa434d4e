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

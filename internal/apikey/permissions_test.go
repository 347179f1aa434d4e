package apikey_test

import (
	"slices"
	"testing"

	"github.com/keyadm/keyadm/internal/apikey"
)

// TestWildcards: x:* grants every x:..., * grants all, and neither is
// granted by less.
func TestWildcards(t *testing.T) {
	for _, c := range []struct {
		set  []string
		perm string
		want bool
	}{
		{[]string{"billing:*"}, "billing:read", true},
		{[]string{"billing:*"}, "billing:invoices:read", true},
		{[]string{"billing:*"}, "billing", false},
		{[]string{"billing:*"}, "billingx:read", false},
		{[]string{"*"}, "anything", true},
		{[]string{"billing:read"}, "billing:*", false},
		{[]string{"read"}, "*", false},
	} {
		if got := apikey.Grants(c.set, c.perm); got != c.want {
			t.Errorf("Grants(%q, %q) = %v, want %v", c.set, c.perm, got, c.want)
		}
	}
	for _, c := range []struct{ a, b, want []string }{
		{[]string{"*"}, []string{"billing:*", "read"}, []string{"billing:*", "read"}},
		{[]string{"billing:*", "write"}, []string{"billing:read", "read"}, []string{"billing:read"}},
		{[]string{"billing:*", "billing:read"}, []string{"*"}, []string{"billing:*"}},
		{[]string{"read"}, []string{"write"}, nil},
	} {
		if got := apikey.Narrow(c.a, c.b); !slices.Equal(got, c.want) {
			t.Errorf("Narrow(%q, %q) = %q, want %q", c.a, c.b, got, c.want)
		}
	}
	for _, p := range []string{"*", "billing:*", "a:b:*"} {
		if _, err := apikey.ValidatePermissions([]string{p}); err != nil {
			t.Errorf("ValidatePermissions(%q): %v", p, err)
		}
	}
	for _, p := range []string{"**", "billing*", "*:read", ":*", "Billing:*", "billing:*:read"} {
		if _, err := apikey.ValidatePermissions([]string{p}); apikey.ErrorCode(err) != apikey.EINVALID {
			t.Errorf("ValidatePermissions(%q): %v, want invalid", p, err)
		}
	}
}

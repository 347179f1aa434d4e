package cli

import (
	"testing"

	"github.com/keyadm/keyadm/internal/apikey"
)

// TestFieldsWordedAsFlags: the domain names fields by the data model's
// names; the command line says them as the flags a user types.
func TestFieldsWordedAsFlags(t *testing.T) {
	for field, flag := range map[string]string{
		"expiresIn": "--expires-in", "expiresAt": "--expires-at", "noExpiry": "--no-expiry",
		"unusedFor": "--unused-for", "expiringWithin": "--expiring-within", "after": "--after",
		"name": "--name", "permissions": "--permission", "metadata": "--meta",
	} {
		if got := flagName(field); got != flag {
			t.Errorf("flagName(%q) = %q, want %q", field, got, flag)
		}
	}
	err := apikey.Errorf(apikey.EINVALID, "give %s or %s, not both", apikey.Field("expiresIn"), apikey.Field("expiresAt"))
	if got, want := message(err), "give --expires-in or --expires-at, not both"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}

package apikey_test

import (
	"testing"

	"github.com/keyadm/keyadm/internal/apikey"
)

// TestExternalClientSetting: the seed's mixed-case setting name is no
// secret to redact, while a key with its prefix still is; its value is
// the default and maximum expiry of externalClient keys only.
func TestExternalClientSetting(t *testing.T) {
	if got := apikey.RedactSecrets("max 5 for scim_externalClient_expiry"); got != "max 5 for scim_externalClient_expiry" {
		t.Fatalf("redacted the setting name: %q", got)
	}
	if got := apikey.RedactSecrets("scim_externalClientAb12Cd34Ef56"); got != "scim_[redacted]" {
		t.Fatalf("a key-like word stays: %q", got)
	}
	cfg := apikey.ResolveConfig("t", nil, map[string]string{apikey.SettingExternalClientExpiry: "P30D", apikey.SettingMaxExpiry: "P7D"})
	if ext := cfg.ForSubType(apikey.SubTypeExternalClient); ext.MaxExpiry() != 30*apikey.Day || ext.DefaultExpiry() != 30*apikey.Day {
		t.Fatalf("externalClient: max %v, default %v", ext.MaxExpiry(), ext.DefaultExpiry())
	}
	if user := cfg.ForSubType(apikey.SubTypeUser); user.MaxExpiry() != 7*apikey.Day || user.DefaultExpiry() != 0 {
		t.Fatalf("user: max %v, default %v", user.MaxExpiry(), user.DefaultExpiry())
	}
	for _, s := range []string{"", "user", "externalClient"} {
		if _, err := apikey.ParseSubType(s); err != nil {
			t.Errorf("ParseSubType(%q): %v", s, err)
		}
	}
	if _, err := apikey.ParseSubType("User"); apikey.ErrorCode(err) != apikey.EINVALID {
		t.Fatalf("ParseSubType(User): %v", err)
	}
}

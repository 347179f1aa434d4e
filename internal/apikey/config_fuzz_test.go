package apikey_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/keyadm/keyadm/internal/apikey"
)

// FuzzNormalizeSetting: for any name and value, NormalizeSetting never
// panics; it refuses with a one-line EINVALID message, or returns a
// canonical form that is a fixed point (normalising it again gives it
// back) and that the typed getters of a resolved config read as meant.
// Each value is tried against every setting, and against the fuzzed name.
func FuzzNormalizeSetting(f *testing.F) {
	for _, s := range []string{
		"true", "FALSE", "1", "0", "t", "yes", "", " true", "3", "007", "+5", "-1", "1000", "1001", "1e3", "0x10",
		"99999999999999999999", "none", "NONE", "None", "P90D", "p90d", "90d", "24h", "PT24H", "P1W", "P1Y", "P0D",
		"0s", "101y", "PT0.5S", "qapi", "acme2", "Acme", "a", "abcdefghijklmnopq", "qapi_", "key\nprefix", "\x00",
		"none\n", "ＰＴ1H", "١٢", "1000/1m", "1/1y", "0/1m", "5/0s", "100/60s",
	} {
		f.Add(apikey.SettingMaxKeys, s)
	}
	f.Add("max_keys", "3")
	f.Add("", "")
	f.Add("API_KEYS_ENABLED", "true")
	f.Fuzz(func(t *testing.T, name, value string) {
		for _, n := range append(apikey.SettingNames(), name) {
			checkSetting(t, n, value)
		}
	})
}

func checkSetting(t *testing.T, name, value string) {
	t.Helper()
	v, err := apikey.NormalizeSetting(name, value)
	if err != nil {
		if code := apikey.ErrorCode(err); code != apikey.EINVALID {
			t.Fatalf("NormalizeSetting(%q, %q): code %q, want %q", name, value, code, apikey.EINVALID)
		}
		if v != "" {
			t.Fatalf("NormalizeSetting(%q, %q) = %q with an error", name, value, v)
		}
		if msg := err.Error(); strings.IndexFunc(msg, unicode.IsControl) >= 0 {
			t.Fatalf("NormalizeSetting(%q, %q): the message %q holds a control character", name, value, msg)
		}
		return
	}
	if again, err := apikey.NormalizeSetting(name, v); err != nil || again != v {
		t.Fatalf("NormalizeSetting(%q, %q) = %q, which normalises to %q, %v: not a fixed point", name, value, v, again, err)
	}
	cfg := apikey.ResolveConfig("t", nil, map[string]string{name: v})
	if got := cfg.Get(name); got != v {
		t.Fatalf("resolved %s = %q, want %q", name, got, v)
	}
	switch name {
	case apikey.SettingKeysEnabled:
		if cfg.KeysEnabled() != (v == "true") || (v != "true" && v != "false") {
			t.Fatalf("%s = %q reads as %v", name, v, cfg.KeysEnabled())
		}
	case apikey.SettingMaxKeys:
		if n, err := strconv.Atoi(v); err != nil || n != cfg.MaxKeysPerUser() || n < 0 || n > apikey.MaxKeysLimit {
			t.Fatalf("%s = %q reads as %d", name, v, cfg.MaxKeysPerUser())
		}
	case apikey.SettingMaxExpiry, apikey.SettingDefaultExpiry, apikey.SettingExternalClientExpiry:
		d := cfg.MaxExpiry()
		switch name {
		case apikey.SettingDefaultExpiry:
			d = cfg.DefaultExpiry()
		case apikey.SettingExternalClientExpiry:
			// It stands for both for externalClient keys.
			ext := cfg.ForSubType(apikey.SubTypeExternalClient)
			if d = ext.MaxExpiry(); ext.DefaultExpiry() != d {
				t.Fatalf("%s = %q: default %v, max %v", name, v, ext.DefaultExpiry(), d)
			}
		}
		if (v == "none") != (d == 0) || d < 0 || d > apikey.MaxDuration {
			t.Fatalf("%s = %q reads as %v", name, v, d)
		}
		if v != "none" && apikey.FormatDuration(d) != v {
			t.Fatalf("%s = %q reads as %v, which formats as %q", name, v, d, apikey.FormatDuration(d))
		}
	case apikey.SettingKeyPrefix:
		if !apikey.ValidPrefix(v) || cfg.KeyPrefix() != v {
			t.Fatalf("%s = %q reads as %q", name, v, cfg.KeyPrefix())
		}
	case apikey.SettingPermissions:
		got := cfg.Ceiling()
		if strings.Join(got, ",") != v || !slices.IsSorted(got) {
			t.Fatalf("%s = %q reads as %q", name, v, got)
		}
		if _, err := apikey.ValidatePermissions(got); err != nil {
			t.Fatalf("%s = %q holds an invalid permission: %v", name, v, err)
		}
	case apikey.SettingAdminReadRate, apikey.SettingAdminWriteRate:
		r := cfg.Rate(name)
		if r.Limit <= 0 || r.Per <= 0 || r.String() != v {
			t.Fatalf("%s = %q reads as %+v", name, v, r)
		}
	default:
		t.Fatalf("NormalizeSetting accepted the unknown name %q", name)
	}
}

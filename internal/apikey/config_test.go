package apikey_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

var allSettings = []string{
	apikey.SettingKeysEnabled,
	apikey.SettingMaxKeys,
	apikey.SettingMaxExpiry,
	apikey.SettingDefaultExpiry,
	apikey.SettingKeyPrefix,
	apikey.SettingExternalClientExpiry,
	apikey.SettingAdminReadRate,
	apikey.SettingAdminWriteRate,
	apikey.SettingPermissions,
}

func TestSettingNames(t *testing.T) {
	want := []string{"admin_read_rate", "admin_write_rate", "api_keys_enabled", "default_expiry", "key_prefix", "max_api_key_expiry", "max_keys_per_user", "permissions", "scim_externalClient_expiry"}
	got := apikey.SettingNames()
	if !slices.Equal(got, want) {
		t.Fatalf("SettingNames() = %q, want %q", got, want)
	}
	sorted := slices.Clone(allSettings)
	slices.Sort(sorted)
	if !slices.Equal(sorted, want) {
		t.Fatalf("setting constants %q do not match the contract's names %q", sorted, want)
	}
}

func TestNormalizeSetting(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{apikey.SettingKeysEnabled, "true", "true"},
		{apikey.SettingKeysEnabled, "false", "false"},
		{apikey.SettingKeysEnabled, "TRUE", "true"},
		{apikey.SettingKeysEnabled, "True", "true"},
		{apikey.SettingKeysEnabled, "FALSE", "false"},
		{apikey.SettingKeysEnabled, "fAlSe", "false"},
		{apikey.SettingKeysEnabled, "1", "true"},
		{apikey.SettingKeysEnabled, "0", "false"},
		{apikey.SettingKeysEnabled, "t", "true"},
		{apikey.SettingKeysEnabled, "F", "false"},

		{apikey.SettingMaxKeys, "0", "0"},
		{apikey.SettingMaxKeys, "1", "1"},
		{apikey.SettingMaxKeys, "5", "5"},
		{apikey.SettingMaxKeys, "999", "999"},
		{apikey.SettingMaxKeys, "1000", "1000"},
		{apikey.SettingMaxKeys, "007", "7"},
		{apikey.SettingMaxKeys, "+5", "5"},

		{apikey.SettingMaxExpiry, "none", "none"},
		{apikey.SettingMaxExpiry, "NONE", "none"},
		{apikey.SettingMaxExpiry, "None", "none"},
		{apikey.SettingMaxExpiry, "P90D", "P90D"},
		{apikey.SettingMaxExpiry, "90d", "P90D"},
		{apikey.SettingMaxExpiry, "PT24H", "P1D"},
		{apikey.SettingMaxExpiry, "24h", "P1D"},
		{apikey.SettingMaxExpiry, "36h", "P1DT12H"},
		{apikey.SettingMaxExpiry, "P365D", "P365D"},
		{apikey.SettingMaxExpiry, "P1Y", "P365D"},
		{apikey.SettingMaxExpiry, "P1W", "P7D"},
		{apikey.SettingMaxExpiry, "30m", "PT30M"},
		{apikey.SettingMaxExpiry, "1s", "PT1S"},
		{apikey.SettingMaxExpiry, "100y", "P36500D"},

		{apikey.SettingDefaultExpiry, "none", "none"},
		{apikey.SettingDefaultExpiry, "nOnE", "none"},
		{apikey.SettingDefaultExpiry, "P30D", "P30D"},
		{apikey.SettingDefaultExpiry, "2w", "P14D"},
		{apikey.SettingDefaultExpiry, "1d12h", "P1DT12H"},

		{apikey.SettingKeyPrefix, "qapi", "qapi"},
		{apikey.SettingKeyPrefix, "ab", "ab"},
		{apikey.SettingKeyPrefix, "acme2", "acme2"},
		{apikey.SettingKeyPrefix, "abcdefghijklmnop", "abcdefghijklmnop"},
	}
	for _, tt := range tests {
		got, err := apikey.NormalizeSetting(tt.name, tt.value)
		if err != nil {
			t.Errorf("NormalizeSetting(%q, %q) = %v, want %q", tt.name, tt.value, err, tt.want)
			continue
		}
		if got != tt.want {
			t.Errorf("NormalizeSetting(%q, %q) = %q, want %q", tt.name, tt.value, got, tt.want)
		}
		// The canonical form is a fixed point.
		again, err := apikey.NormalizeSetting(tt.name, got)
		if err != nil || again != got {
			t.Errorf("NormalizeSetting(%q, %q) = %q, %v; the canonical form must normalize to itself", tt.name, got, again, err)
		}
	}
}

func TestNormalizeSettingInvalid(t *testing.T) {
	tests := []struct {
		name, value string
	}{
		{apikey.SettingKeysEnabled, ""},
		{apikey.SettingKeysEnabled, "yes"},
		{apikey.SettingKeysEnabled, "no"},
		{apikey.SettingKeysEnabled, "on"},
		{apikey.SettingKeysEnabled, "off"},
		{apikey.SettingKeysEnabled, "2"},
		{apikey.SettingKeysEnabled, " true"},
		{apikey.SettingKeysEnabled, "true "},
		{apikey.SettingKeysEnabled, "enabled"},

		{apikey.SettingMaxKeys, ""},
		{apikey.SettingMaxKeys, "-1"},
		{apikey.SettingMaxKeys, "1001"},
		{apikey.SettingMaxKeys, "10000"},
		{apikey.SettingMaxKeys, "99999999999999999999"},
		{apikey.SettingMaxKeys, "1.5"},
		{apikey.SettingMaxKeys, "1e3"},
		{apikey.SettingMaxKeys, "ten"},
		{apikey.SettingMaxKeys, " 5"},
		{apikey.SettingMaxKeys, "5 "},
		{apikey.SettingMaxKeys, "0x10"},
		{apikey.SettingMaxKeys, "none"},

		{apikey.SettingMaxExpiry, ""},
		{apikey.SettingMaxExpiry, "0"},
		{apikey.SettingMaxExpiry, "PT0S"},
		{apikey.SettingMaxExpiry, "0d"},
		{apikey.SettingMaxExpiry, "P0D"},
		{apikey.SettingMaxExpiry, "-1d"},
		{apikey.SettingMaxExpiry, "forever"},
		{apikey.SettingMaxExpiry, "never"},
		{apikey.SettingMaxExpiry, "nonee"},
		{apikey.SettingMaxExpiry, " none"},
		{apikey.SettingMaxExpiry, "101y"},
		{apikey.SettingMaxExpiry, "P1H"},
		{apikey.SettingMaxExpiry, "90"},

		{apikey.SettingDefaultExpiry, ""},
		{apikey.SettingDefaultExpiry, "0"},
		{apikey.SettingDefaultExpiry, "PT0S"},
		{apikey.SettingDefaultExpiry, "P"},
		{apikey.SettingDefaultExpiry, "1x"},
		{apikey.SettingDefaultExpiry, "36501d"},

		{apikey.SettingKeyPrefix, ""},
		{apikey.SettingKeyPrefix, "q"},
		{apikey.SettingKeyPrefix, "QAPI"},
		{apikey.SettingKeyPrefix, "Qapi"},
		{apikey.SettingKeyPrefix, "1abc"},
		{apikey.SettingKeyPrefix, "q_a"},
		{apikey.SettingKeyPrefix, "qapi_"},
		{apikey.SettingKeyPrefix, "qa-pi"},
		{apikey.SettingKeyPrefix, "abcdefghijklmnopq"},
		{apikey.SettingKeyPrefix, " qapi"},
		{apikey.SettingKeyPrefix, "qäpi"},
	}
	for _, tt := range tests {
		got, err := apikey.NormalizeSetting(tt.name, tt.value)
		if err == nil {
			t.Errorf("NormalizeSetting(%q, %q) = %q, want an error", tt.name, tt.value, got)
			continue
		}
		if code := apikey.ErrorCode(err); code != apikey.EINVALID {
			t.Errorf("NormalizeSetting(%q, %q): code %q, want %q", tt.name, tt.value, code, apikey.EINVALID)
		}
		if got != "" {
			t.Errorf("NormalizeSetting(%q, %q) returned %q with its error", tt.name, tt.value, got)
		}
		if !strings.Contains(err.Error(), tt.name) {
			t.Errorf("NormalizeSetting(%q, %q): message %q does not name the setting", tt.name, tt.value, err)
		}
	}
}

func TestUnknownSetting(t *testing.T) {
	for _, name := range []string{"", "API_KEYS_ENABLED", "api-keys-enabled", "max_keys", "prefix", " key_prefix", "key_prefix "} {
		if _, err := apikey.NormalizeSetting(name, "true"); apikey.ErrorCode(err) != apikey.EINVALID {
			t.Errorf("NormalizeSetting(%q) = %v, want EINVALID", name, err)
		} else if !strings.Contains(err.Error(), "unknown config name") || !strings.Contains(err.Error(), "max_keys_per_user") {
			t.Errorf("NormalizeSetting(%q): message %q should say the name is unknown and list the names", name, err)
		}
		if err := apikey.CheckSettingName(name); apikey.ErrorCode(err) != apikey.EINVALID {
			t.Errorf("CheckSettingName(%q) = %v, want EINVALID", name, err)
		}
	}
	for _, name := range allSettings {
		if err := apikey.CheckSettingName(name); err != nil {
			t.Errorf("CheckSettingName(%q) = %v", name, err)
		}
	}
}

func values(c apikey.TenantConfig) map[string]apikey.SettingValue {
	m := map[string]apikey.SettingValue{}
	for _, v := range c.Values {
		m[v.Name] = v
	}
	return m
}

func TestResolveConfigBuiltins(t *testing.T) {
	for _, tenant := range []string{"", "acme"} {
		c := apikey.ResolveConfig(tenant, nil, nil)
		if c.TenantID != tenant {
			t.Errorf("TenantID = %q, want %q", c.TenantID, tenant)
		}
		names := make([]string, 0, len(c.Values))
		for _, v := range c.Values {
			names = append(names, v.Name)
			if v.Source != apikey.SourceBuiltin {
				t.Errorf("tenant %q: %s from %q, want %q", tenant, v.Name, v.Source, apikey.SourceBuiltin)
			}
			// Every built-in is itself a canonical value.
			if n, err := apikey.NormalizeSetting(v.Name, v.Value); err != nil || n != v.Value {
				t.Errorf("built-in %s=%q is not canonical: %q, %v", v.Name, v.Value, n, err)
			}
		}
		if !slices.Equal(names, apikey.SettingNames()) {
			t.Errorf("Values in order %q, want %q", names, apikey.SettingNames())
		}
		want := map[string]string{
			"api_keys_enabled":   "true",
			"max_keys_per_user":  "0",
			"max_api_key_expiry": "none",
			"default_expiry":     "none",
			"key_prefix":         "qapi",
		}
		for name, w := range want {
			if got := c.Get(name); got != w {
				t.Errorf("built-in %s = %q, want %q", name, got, w)
			}
		}
		if !c.KeysEnabled() || c.MaxKeysPerUser() != 0 || c.MaxExpiry() != 0 || c.DefaultExpiry() != 0 || c.KeyPrefix() != "qapi" {
			t.Errorf("built-in accessors: enabled %v max keys %d max expiry %v default expiry %v prefix %q",
				c.KeysEnabled(), c.MaxKeysPerUser(), c.MaxExpiry(), c.DefaultExpiry(), c.KeyPrefix())
		}
	}
}

// layers are global settings and a tenant's own, overlapping on max_keys_per_user.
func layers() (global, own map[string]string) {
	global = map[string]string{
		apikey.SettingMaxKeys:   "10",
		apikey.SettingMaxExpiry: "P365D",
		apikey.SettingKeyPrefix: "glob",
	}
	own = map[string]string{
		apikey.SettingMaxKeys:     "3",
		apikey.SettingKeysEnabled: "false",
	}
	return global, own
}

// TestResolveConfigTenant: a tenant's value wins over the global one, which
// wins over the built-in default, and the accessors read the winners.
func TestResolveConfigTenant(t *testing.T) {
	global, own := layers()
	c := apikey.ResolveConfig("acme", global, own)
	want := map[string]apikey.SettingValue{
		"api_keys_enabled":           {"api_keys_enabled", "false", apikey.SourceTenant},
		"max_keys_per_user":          {"max_keys_per_user", "3", apikey.SourceTenant},
		"max_api_key_expiry":         {"max_api_key_expiry", "P365D", apikey.SourceGlobal},
		"default_expiry":             {"default_expiry", "none", apikey.SourceBuiltin},
		"key_prefix":                 {"key_prefix", "glob", apikey.SourceGlobal},
		"scim_externalClient_expiry": {"scim_externalClient_expiry", "P365D", apikey.SourceBuiltin},
		"admin_read_rate":            {"admin_read_rate", "1000/1m", apikey.SourceBuiltin},
		"admin_write_rate":           {"admin_write_rate", "100/1m", apikey.SourceBuiltin},
		"permissions":                {"permissions", "*", apikey.SourceBuiltin},
	}
	got := values(c)
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s = %+v, want %+v", name, got[name], w)
		}
	}
	if len(c.Values) != len(want) {
		t.Errorf("%d values, want %d", len(c.Values), len(want))
	}
	if c.KeysEnabled() {
		t.Error("KeysEnabled() = true, want false")
	}
	if n := c.MaxKeysPerUser(); n != 3 {
		t.Errorf("MaxKeysPerUser() = %d, want 3", n)
	}
	if d := c.MaxExpiry(); d != 365*24*time.Hour {
		t.Errorf("MaxExpiry() = %v, want 365 days", d)
	}
	if d := c.DefaultExpiry(); d != 0 {
		t.Errorf("DefaultExpiry() = %v, want 0", d)
	}
	if p := c.KeyPrefix(); p != "glob" {
		t.Errorf("KeyPrefix() = %q, want glob", p)
	}
}

func TestResolveConfigLayers(t *testing.T) {
	global, own := layers()
	t.Run("global ignores the tenant map", func(t *testing.T) {
		c := apikey.ResolveConfig("", global, own)
		got := values(c)
		if v := got[apikey.SettingMaxKeys]; v.Value != "10" || v.Source != apikey.SourceGlobal {
			t.Errorf("max_keys_per_user = %+v, want 10 from global", v)
		}
		if v := got[apikey.SettingKeysEnabled]; v.Value != "true" || v.Source != apikey.SourceBuiltin {
			t.Errorf("api_keys_enabled = %+v, want true from default", v)
		}
		if !c.KeysEnabled() || c.MaxKeysPerUser() != 10 {
			t.Errorf("accessors: enabled %v max keys %d", c.KeysEnabled(), c.MaxKeysPerUser())
		}
	})
	t.Run("tenant without global", func(t *testing.T) {
		c := apikey.ResolveConfig("acme", nil, map[string]string{apikey.SettingDefaultExpiry: "P30D", apikey.SettingMaxExpiry: "P1DT12H"})
		if d := c.DefaultExpiry(); d != 30*24*time.Hour {
			t.Errorf("DefaultExpiry() = %v, want 30 days", d)
		}
		if d := c.MaxExpiry(); d != 36*time.Hour {
			t.Errorf("MaxExpiry() = %v, want 36h", d)
		}
		if v := values(c)[apikey.SettingDefaultExpiry]; v.Source != apikey.SourceTenant {
			t.Errorf("default_expiry source %q, want tenant", v.Source)
		}
	})
	t.Run("tenant value none overrides a global duration", func(t *testing.T) {
		c := apikey.ResolveConfig("acme", map[string]string{apikey.SettingMaxExpiry: "P90D"}, map[string]string{apikey.SettingMaxExpiry: "none"})
		if d := c.MaxExpiry(); d != 0 {
			t.Errorf("MaxExpiry() = %v, want 0 (none)", d)
		}
		if v := values(c)[apikey.SettingMaxExpiry]; v.Value != "none" || v.Source != apikey.SourceTenant {
			t.Errorf("max_api_key_expiry = %+v", v)
		}
	})
	t.Run("inputs not modified", func(t *testing.T) {
		g := map[string]string{apikey.SettingMaxKeys: "10"}
		o := map[string]string{apikey.SettingMaxKeys: "3"}
		apikey.ResolveConfig("acme", g, o)
		if len(g) != 1 || g[apikey.SettingMaxKeys] != "10" || len(o) != 1 || o[apikey.SettingMaxKeys] != "3" {
			t.Errorf("ResolveConfig changed its inputs: %v %v", g, o)
		}
	})
	t.Run("unknown names are not exposed", func(t *testing.T) {
		c := apikey.ResolveConfig("acme", map[string]string{"bogus": "1"}, map[string]string{"other": "2"})
		if len(c.Values) != len(allSettings) {
			t.Errorf("%d values, want %d", len(c.Values), len(allSettings))
		}
		if got := c.Get("bogus"); got != "" {
			t.Errorf("Get(bogus) = %q, want empty", got)
		}
	})
}

func TestTenantConfigGetFallsBackToBuiltin(t *testing.T) {
	// A zero TenantConfig (no values resolved) still answers with the built-ins.
	var c apikey.TenantConfig
	if !c.KeysEnabled() || c.MaxKeysPerUser() != 0 || c.MaxExpiry() != 0 || c.DefaultExpiry() != 0 || c.KeyPrefix() != apikey.DefaultPrefix {
		t.Errorf("zero TenantConfig: enabled %v max keys %d max expiry %v default expiry %v prefix %q",
			c.KeysEnabled(), c.MaxKeysPerUser(), c.MaxExpiry(), c.DefaultExpiry(), c.KeyPrefix())
	}
	if got := c.Get(apikey.SettingKeyPrefix); got != "qapi" {
		t.Errorf("Get(key_prefix) = %q, want qapi", got)
	}
}

func TestTenantConfigAccessorsFromNormalizedValues(t *testing.T) {
	// Values set through NormalizeSetting read back through the accessors.
	set := func(name, value string) string {
		t.Helper()
		v, err := apikey.NormalizeSetting(name, value)
		if err != nil {
			t.Fatalf("NormalizeSetting(%q, %q) = %v", name, value, err)
		}
		return v
	}
	for _, tt := range []struct {
		enabled       string
		wantEnabled   bool
		maxKeys       string
		wantMaxKeys   int
		maxExpiry     string
		wantMaxExpiry time.Duration
		defExpiry     string
		wantDef       time.Duration
		prefix        string
	}{
		{"FALSE", false, "1000", 1000, "24h", 24 * time.Hour, "30m", 30 * time.Minute, "ab"},
		{"1", true, "0", 0, "NONE", 0, "P1Y", 365 * 24 * time.Hour, "zz9"},
		{"T", true, "+7", 7, "P1Y2M3DT4H5M6S", (365+60+3)*24*time.Hour + 4*time.Hour + 5*time.Minute + 6*time.Second, "none", 0, "abcdefghijklmnop"},
	} {
		c := apikey.ResolveConfig("t1", nil, map[string]string{
			apikey.SettingKeysEnabled:   set(apikey.SettingKeysEnabled, tt.enabled),
			apikey.SettingMaxKeys:       set(apikey.SettingMaxKeys, tt.maxKeys),
			apikey.SettingMaxExpiry:     set(apikey.SettingMaxExpiry, tt.maxExpiry),
			apikey.SettingDefaultExpiry: set(apikey.SettingDefaultExpiry, tt.defExpiry),
			apikey.SettingKeyPrefix:     set(apikey.SettingKeyPrefix, tt.prefix),
		})
		if c.KeysEnabled() != tt.wantEnabled {
			t.Errorf("%q: KeysEnabled() = %v", tt.enabled, c.KeysEnabled())
		}
		if c.MaxKeysPerUser() != tt.wantMaxKeys {
			t.Errorf("%q: MaxKeysPerUser() = %d, want %d", tt.maxKeys, c.MaxKeysPerUser(), tt.wantMaxKeys)
		}
		if c.MaxExpiry() != tt.wantMaxExpiry {
			t.Errorf("%q: MaxExpiry() = %v, want %v", tt.maxExpiry, c.MaxExpiry(), tt.wantMaxExpiry)
		}
		if c.DefaultExpiry() != tt.wantDef {
			t.Errorf("%q: DefaultExpiry() = %v, want %v", tt.defExpiry, c.DefaultExpiry(), tt.wantDef)
		}
		if c.KeyPrefix() != tt.prefix {
			t.Errorf("KeyPrefix() = %q, want %q", c.KeyPrefix(), tt.prefix)
		}
	}
}

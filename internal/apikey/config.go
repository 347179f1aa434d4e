package apikey

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// Config setting names.
const (
	SettingKeysEnabled   = "api_keys_enabled"
	SettingMaxKeys       = "max_keys_per_user"
	SettingMaxExpiry     = "max_api_key_expiry"
	SettingDefaultExpiry = "default_expiry"
	SettingKeyPrefix     = "key_prefix"
	SettingPermissions   = "permissions"
	// The admin API's rate limits per requesting key (serve, per process).
	SettingAdminReadRate  = "admin_read_rate"
	SettingAdminWriteRate = "admin_write_rate"
	// SettingExternalClientExpiry is the seed's SCIM key expiry: the
	// default and the maximum expiry of externalClient keys.
	SettingExternalClientExpiry = "scim_externalClient_expiry"
)

// Where a setting's effective value comes from.
const (
	SourceBuiltin = "default"
	SourceGlobal  = "global"
	SourceTenant  = "tenant"
)

// MaxKeysLimit bounds max_keys_per_user.
const MaxKeysLimit = 1000

type setting struct {
	builtin string
	// normalize checks a value and returns its canonical stored form.
	normalize func(string) (string, error)
}

var settings = map[string]setting{
	SettingKeysEnabled: {"true", func(v string) (string, error) {
		b, err := strconv.ParseBool(strings.ToLower(v))
		if err != nil {
			return "", Errorf(EINVALID, "invalid value %s for %s: want true or false", Quote(v), SettingKeysEnabled)
		}
		return strconv.FormatBool(b), nil
	}},
	SettingMaxKeys: {"0", func(v string) (string, error) {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > MaxKeysLimit {
			return "", Errorf(EINVALID, "invalid value %s for %s: want a whole number from 0 (no limit) to %d", Quote(v), SettingMaxKeys, MaxKeysLimit)
		}
		return strconv.Itoa(n), nil
	}},
	SettingMaxExpiry:            {"none", normalizeOptionalDuration(SettingMaxExpiry)},
	SettingDefaultExpiry:        {"none", normalizeOptionalDuration(SettingDefaultExpiry)},
	SettingExternalClientExpiry: {"P365D", normalizeOptionalDuration(SettingExternalClientExpiry)},
	SettingAdminReadRate:        {"1000/1m", normalizeRate(SettingAdminReadRate)},
	SettingAdminWriteRate:       {"100/1m", normalizeRate(SettingAdminWriteRate)},
	SettingPermissions:          {PermissionAll, normalizePermissionList},
	SettingKeyPrefix: {DefaultPrefix, func(v string) (string, error) {
		if !ValidPrefix(v) {
			return "", Errorf(EINVALID, "invalid value %s for %s: want 2-16 lower-case letters and digits, starting with a letter", Quote(v), SettingKeyPrefix)
		}
		return v, nil
	}},
}

// normalizePermissionList checks a list setting: permissions separated by
// commas (white space around each is dropped), stored sorted and without
// repeats, so the same ceiling always reads the same.
func normalizePermissionList(v string) (string, error) {
	var perms []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			perms = append(perms, p)
		}
	}
	if len(perms) == 0 {
		return "", Errorf(EINVALID, "invalid value %s for %s: want permissions separated by commas (read,billing:*), or * for no ceiling", Quote(v), SettingPermissions)
	}
	perms, err := ValidatePermissions(perms)
	if err != nil {
		return "", err
	}
	sort.Strings(perms)
	return strings.Join(perms, ","), nil
}

// ParsePermissionList reads a stored permission list; "" is nil.
func ParsePermissionList(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

func normalizeOptionalDuration(name string) func(string) (string, error) {
	return func(v string) (string, error) {
		if strings.EqualFold(v, "none") {
			return "none", nil
		}
		d, err := ParseDuration(v)
		if err != nil {
			return "", Errorf(EINVALID, "invalid value %s for %s: want a duration (P90D, 24h) or none", Quote(v), name)
		}
		if d <= 0 {
			return "", Errorf(EINVALID, "invalid value %s for %s: must be longer than zero, or none", Quote(v), name)
		}
		return FormatDuration(d), nil
	}
}

func normalizeRate(name string) func(string) (string, error) {
	return func(v string) (string, error) {
		r, err := ParseRate("rate", v)
		if err != nil {
			return "", Errorf(EINVALID, "invalid value %s for %s: want N/DURATION, as in 1000/1m", Quote(v), name)
		}
		return r.String(), nil
	}
}

// Rate is a rate setting's value.
func (c TenantConfig) Rate(name string) Rate {
	r, _ := ParseRate("rate", c.Get(name))
	return r
}

// SettingNames lists the config names in order.
func SettingNames() []string {
	names := make([]string, 0, len(settings))
	for n := range settings {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// NormalizeSetting checks name and value and returns the value's canonical form.
func NormalizeSetting(name, value string) (string, error) {
	s, ok := settings[name]
	if !ok {
		return "", unknownSetting(name)
	}
	return s.normalize(value)
}

// CheckSettingName reports an unknown setting name.
func CheckSettingName(name string) error {
	if _, ok := settings[name]; !ok {
		return unknownSetting(name)
	}
	return nil
}

func unknownSetting(name string) error {
	return Errorf(EINVALID, "unknown config name %s: want one of %s", Quote(name), strings.Join(SettingNames(), ", "))
}

// SettingValue is one effective setting and where it comes from.
type SettingValue struct {
	Name   string
	Value  string
	Source string
}

// TenantConfig is a tenant's effective policy.
type TenantConfig struct {
	TenantID string // "" for the global defaults
	Values   []SettingValue
}

// ResolveConfig layers built-ins, then global values, then tenant values.
func ResolveConfig(tenant string, global, own map[string]string) TenantConfig {
	c := TenantConfig{TenantID: tenant}
	for _, name := range SettingNames() {
		v := SettingValue{Name: name}
		v.Value, v.Source = layered(name, tenant, lookup(global, name), lookup(own, name))
		c.Values = append(c.Values, v)
	}
	return c
}

// layered is a setting's value and where it comes from: the tenant's own
// (never for tenant ""), else the global one, else the built-in. Verify
// calls it for the two settings it reads, without ResolveConfig's table.
func layered(name, tenant string, global, own *string) (string, string) {
	switch {
	case own != nil && tenant != "":
		return *own, SourceTenant
	case global != nil:
		return *global, SourceGlobal
	}
	return settings[name].builtin, SourceBuiltin
}

func lookup(m map[string]string, name string) *string {
	if v, ok := m[name]; ok {
		return &v
	}
	return nil
}

// Get returns the effective value of a setting.
func (c TenantConfig) Get(name string) string {
	for _, v := range c.Values {
		if v.Name == name {
			return v.Value
		}
	}
	return settings[name].builtin
}

// KeysEnabled reports api_keys_enabled.
func (c TenantConfig) KeysEnabled() bool { return c.Get(SettingKeysEnabled) == "true" }

// MaxKeysPerUser reports max_keys_per_user (0: no limit).
func (c TenantConfig) MaxKeysPerUser() int {
	n, _ := strconv.Atoi(c.Get(SettingMaxKeys))
	return n
}

// MaxExpiry reports max_api_key_expiry (0: none).
func (c TenantConfig) MaxExpiry() time.Duration { return optionalDuration(c.Get(SettingMaxExpiry)) }

// DefaultExpiry reports default_expiry (0: none).
func (c TenantConfig) DefaultExpiry() time.Duration {
	return optionalDuration(c.Get(SettingDefaultExpiry))
}

// Ceiling reports the permissions setting: the most any key of the tenant
// may do (["*"]: no ceiling).
func (c TenantConfig) Ceiling() []string { return ParsePermissionList(c.Get(SettingPermissions)) }

// KeyPrefix reports key_prefix.
func (c TenantConfig) KeyPrefix() string { return c.Get(SettingKeyPrefix) }

func optionalDuration(v string) time.Duration {
	if v == "none" {
		return 0
	}
	d, _ := ParseDuration(v)
	return d
}

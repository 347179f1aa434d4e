package apikey

// Subject types of a key, as the seed's API names them.
const (
	SubTypeUser           = "user"
	SubTypeExternalClient = "externalClient"
)

// ParseSubType checks a subject type; "" is SubTypeUser.
func ParseSubType(s string) (string, error) {
	switch s {
	case "", SubTypeUser:
		return SubTypeUser, nil
	case SubTypeExternalClient:
		return s, nil
	}
	return "", Errorf(EINVALID, "invalid %s %s: want %s or %s", Field("subType"), Quote(s), SubTypeUser, SubTypeExternalClient)
}

// ExternalClientExpiry reports scim_externalClient_expiry (0: none).
func (c TenantConfig) ExternalClientExpiry() string { return c.Get(SettingExternalClientExpiry) }

// ForSubType is the policy that applies to new keys of a subject type: for
// externalClient keys, scim_externalClient_expiry is both the default and
// the maximum expiry, in place of default_expiry and max_api_key_expiry.
func (c TenantConfig) ForSubType(subType string) TenantConfig {
	if subType != SubTypeExternalClient {
		return c
	}
	out := TenantConfig{TenantID: c.TenantID, Values: make([]SettingValue, len(c.Values))}
	copy(out.Values, c.Values)
	v := c.ExternalClientExpiry()
	for i := range out.Values {
		switch out.Values[i].Name {
		case SettingMaxExpiry, SettingDefaultExpiry:
			out.Values[i].Value = v
		}
	}
	return out
}

package server

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// The wire types: every JSON body the API sends or reads, and the names it
// gives the domain's fields, built from apikey types. They are the
// server's own, not the CLI's output records, so the API can name its
// members its own way by changing this file alone.

// timestamp is a time as the API writes it: RFC 3339 in UTC, to the
// nanosecond; a nil *timestamp is null.
type timestamp time.Time

// stamp is t as a timestamp, nil (null) for nil.
func stamp(t *time.Time) *timestamp { return (*timestamp)(t) }

func (t timestamp) MarshalJSON() ([]byte, error) {
	b := time.Time(t).UTC().AppendFormat([]byte{'"'}, time.RFC3339Nano)
	return append(b, '"'), nil
}

// keyRecord is a key as the keys API sends it: the seed's names for the
// fields the seed has (sub, subType, expiry, created, lastUpdated,
// createdByUser), keyadm's data-model names for the rest, times in RFC
// 3339 UTC, null for what is absent, and the derived status.
type keyRecord struct {
	ID            string            `json:"id"`
	TenantID      string            `json:"tenantId"`
	Description   string            `json:"description"`
	Sub           *string           `json:"sub"`
	SubType       string            `json:"subType"`
	Status        apikey.Status     `json:"status"`
	Expiry        *timestamp        `json:"expiry"`
	CreatedByUser string            `json:"createdByUser"`
	Created       timestamp         `json:"created"`
	LastUpdated   timestamp         `json:"lastUpdated"`
	Name          string            `json:"name"`
	TeamID        *string           `json:"teamId"`
	Permissions   []string          `json:"permissions"`
	Metadata      map[string]string `json:"metadata"`
	Hint          string            `json:"hint"`
	LastUsedAt    *timestamp        `json:"lastUsedAt"`
	RevokedAt     *timestamp        `json:"revokedAt"`
	RevokedBy     *string           `json:"revokedBy"`
	RevokeReason  *string           `json:"revokeReason"`
	RotatedFrom   *string           `json:"rotatedFrom"`
	DisabledAt    *timestamp        `json:"disabledAt"`
	limitsRecord
	// Token is the secret, only in the answer to a create.
	Token *string `json:"token,omitempty"`
}

// newKeyRecord describes k as of now; secret is "" except for a new key.
func newKeyRecord(k *apikey.Key, now time.Time, secret string) keyRecord {
	r := keyRecord{
		ID: k.ID, TenantID: k.TenantID, Description: deref0(k.Description), Sub: k.OwnerID,
		SubType: orUser(k.SubType), Status: k.StatusAt(now), Expiry: stamp(k.ExpiresAt),
		CreatedByUser: k.CreatedBy, Created: timestamp(k.CreatedAt), LastUpdated: timestamp(k.UpdatedAt),
		Name: k.Name, TeamID: k.TeamID, Permissions: orEmpty(k.Permissions), Metadata: k.Metadata,
		Hint: k.Hint, LastUsedAt: stamp(k.LastUsedAt), RevokedAt: stamp(k.RevokedAt), RevokedBy: k.RevokedBy,
		RevokeReason: k.RevokeReason, RotatedFrom: k.RotatedFrom, DisabledAt: stamp(k.DisabledAt),
		limitsRecord: newLimitsRecord(&k.Limits, now),
	}
	if r.Metadata == nil {
		r.Metadata = map[string]string{}
	}
	if secret != "" {
		r.Token = &secret
	}
	return r
}

// orUser is a key's subject type, user for keys made before there were
// others.
func orUser(subType string) string {
	if subType == "" {
		return apikey.SubTypeUser
	}
	return subType
}

// deref0 is *p, or "" for nil: the seed's description is always a string.
func deref0(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// orEmpty is a list that JSON writes as [], never null.
func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// listPage is the answer to GET /v1/api-keys: one page of records and the
// links to the pages on either side.
type listPage struct {
	Data  []keyRecord `json:"data"`
	Links listLinks   `json:"links"`
}

type listLinks struct {
	Self link  `json:"self"`
	Next *link `json:"next,omitempty"`
	Prev *link `json:"prev,omitempty"`
}

// link is a link of the seed's shape: an absolute URL under href.
type link struct {
	Href string `json:"href"`
}

// identity is what POST /v1/verify answers for a good key: whose it is
// and what it may do (what Service.Check reads on the hot path).
type identity struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	TenantID    string   `json:"tenantId"`
	TeamID      *string  `json:"teamId"`
	OwnerID     *string  `json:"ownerId"`
	Permissions []string `json:"permissions"`
	// EffectivePermissions is what the key may do: its own permissions
	// narrowed by its registered owner's and team's and the ceiling.
	EffectivePermissions []string   `json:"effectivePermissions"`
	ExpiresAt            *timestamp `json:"expiresAt"`
}

func newIdentity(k *apikey.Key) identity {
	return identity{
		ID: k.ID, Name: k.Name, TenantID: k.TenantID, TeamID: k.TeamID, OwnerID: k.OwnerID,
		Permissions: orEmpty(k.Permissions), EffectivePermissions: orEmpty(k.Effective), ExpiresAt: stamp(k.ExpiresAt),
	}
}

// verifyRequest is the optional body of POST /v1/verify: permissions the
// key must grant, all of them.
type verifyRequest struct {
	Permissions []string `json:"permissions"`
}

// createRequest is the body of POST /v1/api-keys: the seed's members
// (description, sub, subType, and expiry as an ISO 8601 duration) and
// keyadm's own (name, defaulting to the description, teamId, permissions,
// metadata; tenantId, which may only name the caller's tenant).
type createRequest struct {
	Description string            `json:"description"`
	Sub         string            `json:"sub"`
	SubType     string            `json:"subType"`
	Expiry      *string           `json:"expiry"`
	Name        string            `json:"name"`
	TenantID    string            `json:"tenantId"`
	TeamID      string            `json:"teamId"`
	Permissions []string          `json:"permissions"`
	Metadata    map[string]string `json:"metadata"`
}

// memberName words a data-model field (see apikey.Field) as the JSON
// member, or query parameter, that sets it: the one place the API names
// the domain's fields.
func memberName(field string) string {
	switch field {
	case "after":
		return "startingAfter"
	case "before":
		return "endingBefore"
	case "ownerId", "owner":
		return "sub"
	case "expiresIn", "expiresAt", "expiry":
		return "expiry"
	case "createdBy":
		return "createdByUser"
	case "tenant", "tenantId":
		return "tenantId"
	case "noExpiry":
		// No route takes it; a key made with an expiry keeps one.
		return "expiry"
	}
	return field
}

// configDocument is a tenant's effective config as the API shows it:
// tenantId, then one member per setting holding its typed value (a
// boolean, a number, or a string such as "PT24H" or "none"), so that a
// JSON Patch path /<setting_name> names exactly the member it changes,
// then sources: where each value comes from (default, global or tenant).
type configDocument apikey.TenantConfig

// MarshalJSON writes the members in that order, settings by name.
func (d configDocument) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	tenant, _ := json.Marshal(d.TenantID)
	b.WriteString(`{"tenantId":`)
	b.Write(tenant)
	sources := map[string]string{}
	for _, v := range d.Values {
		name, _ := json.Marshal(v.Name)
		value, err := json.Marshal(typedSetting(v.Name, v.Value))
		if err != nil {
			return nil, err
		}
		b.WriteByte(',')
		b.Write(name)
		b.WriteByte(':')
		b.Write(value)
		sources[v.Name] = v.Source
	}
	src, err := json.Marshal(sources)
	if err != nil {
		return nil, err
	}
	b.WriteString(`,"sources":`)
	b.Write(src)
	b.WriteByte('}')
	return b.Bytes(), nil
}

// typedSetting is a setting's stored text as the JSON value of its type:
// on/off settings are booleans, counts are numbers, the rest strings.
func typedSetting(name, text string) any {
	switch settingType(name) {
	case "boolean":
		return text == "true"
	case "integer":
		if n, err := strconv.Atoi(text); err == nil {
			return n
		}
	}
	return text
}

// settingType is the JSON Schema type of a setting's value.
func settingType(name string) string {
	switch name {
	case apikey.SettingKeysEnabled:
		return "boolean"
	case apikey.SettingMaxKeys:
		return "integer"
	}
	return "string"
}

// problem is one entry of an error answer, as the seed's error object:
// status is the HTTP status as an integer; meta carries the request id
// and what a program may act on (a verify's missing permissions); source
// names the query parameter or body member at fault, when known.
type problem struct {
	Code   string         `json:"code"`
	Title  string         `json:"title"`
	Detail string         `json:"detail"`
	Status int            `json:"status"`
	Meta   map[string]any `json:"meta"`
	Source *problemSource `json:"source,omitempty"`
}

type problemSource struct {
	Pointer   string `json:"pointer,omitempty"`
	Parameter string `json:"parameter,omitempty"`
}

type errorBody struct {
	Errors []problem `json:"errors"`
}

// envelope is every answer of the credentials API: its data, and the
// request's id and time.
type envelope struct {
	Data any          `json:"data"`
	Meta envelopeMeta `json:"meta"`
}

type envelopeMeta struct {
	RequestID string    `json:"requestId"`
	Timestamp timestamp `json:"timestamp"`
}

// credential is a key as the credentials API shows it: organizationId is
// the tenant.
type credential struct {
	ID             string     `json:"id"`
	OrganizationID string     `json:"organizationId"`
	TeamID         *string    `json:"teamId"`
	Name           string     `json:"name"`
	Permissions    []string   `json:"permissions"`
	Hint           string     `json:"hint"`
	Status         string     `json:"status"`
	CreatedAt      timestamp  `json:"createdAt"`
	CreatedBy      string     `json:"createdBy"`
	ExpiresAt      *timestamp `json:"expiresAt"`
	LastUsedAt     *timestamp `json:"lastUsedAt"`
	RevokedAt      *timestamp `json:"revokedAt"`
	// Key is the secret, only in the answer to a create.
	Key *string `json:"key,omitempty"`
}

func newCredential(k *apikey.Key, now time.Time, secret string) credential {
	c := credential{
		ID: k.ID, OrganizationID: k.TenantID, TeamID: k.TeamID, Name: k.Name,
		Permissions: orEmpty(k.Permissions), Hint: k.Hint, Status: string(k.StatusAt(now)),
		CreatedAt: timestamp(k.CreatedAt), CreatedBy: k.CreatedBy, ExpiresAt: stamp(k.ExpiresAt),
		LastUsedAt: stamp(k.LastUsedAt), RevokedAt: stamp(k.RevokedAt),
	}
	if secret != "" {
		c.Key = &secret
	}
	return c
}

// credentialRequest is the body of POST /qsi/gather/credentials.
type credentialRequest struct {
	OrganizationID string   `json:"organizationId"`
	TeamID         string   `json:"teamId"`
	Name           string   `json:"name"`
	Permissions    []string `json:"permissions"`
}

// revokedCredential is the answer to DELETE /qsi/gather/credentials/{id}.
type revokedCredential struct {
	ID        string    `json:"id"`
	RevokedAt timestamp `json:"revokedAt"`
}

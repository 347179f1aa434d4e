package server

import (
	"bytes"
	"encoding/json"
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

// keyRecord is a key as the API sends it: the data model's camelCase
// fields, times in RFC 3339 UTC, null for what is absent, and the derived
// status.
type keyRecord struct {
	ID           string            `json:"id"`
	TenantID     string            `json:"tenantId"`
	TeamID       *string           `json:"teamId"`
	OwnerID      *string           `json:"ownerId"`
	Name         string            `json:"name"`
	Description  *string           `json:"description"`
	Permissions  []string          `json:"permissions"`
	Hint         string            `json:"hint"`
	Status       apikey.Status     `json:"status"`
	CreatedAt    timestamp         `json:"createdAt"`
	CreatedBy    string            `json:"createdBy"`
	UpdatedAt    timestamp         `json:"updatedAt"`
	ExpiresAt    *timestamp        `json:"expiresAt"`
	RevokedAt    *timestamp        `json:"revokedAt"`
	RevokedBy    *string           `json:"revokedBy"`
	RevokeReason *string           `json:"revokeReason"`
	LastUsedAt   *timestamp        `json:"lastUsedAt"`
	Metadata     map[string]string `json:"metadata"`
	RotatedFrom  *string           `json:"rotatedFrom"`
	limitsRecord
	// Key is the secret, only in the answer to a create.
	Key *string `json:"key,omitempty"`
}

// newKeyRecord describes k as of now; secret is "" except for a new key.
func newKeyRecord(k *apikey.Key, now time.Time, secret string) keyRecord {
	r := keyRecord{
		ID: k.ID, TenantID: k.TenantID, TeamID: k.TeamID, OwnerID: k.OwnerID, Name: k.Name,
		Description: k.Description, Permissions: orEmpty(k.Permissions), Hint: k.Hint, Status: k.StatusAt(now),
		CreatedAt: timestamp(k.CreatedAt), CreatedBy: k.CreatedBy, UpdatedAt: timestamp(k.UpdatedAt),
		ExpiresAt: stamp(k.ExpiresAt), RevokedAt: stamp(k.RevokedAt), RevokedBy: k.RevokedBy,
		RevokeReason: k.RevokeReason, LastUsedAt: stamp(k.LastUsedAt), Metadata: k.Metadata,
		RotatedFrom: k.RotatedFrom, limitsRecord: newLimitsRecord(&k.Limits, now),
	}
	if r.Metadata == nil {
		r.Metadata = map[string]string{}
	}
	if secret != "" {
		r.Key = &secret
	}
	return r
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
	Self string  `json:"self"`
	Next *string `json:"next"`
	Prev *string `json:"prev"`
}

// identity is what POST /v1/verify answers for a good key: whose it is
// and what it may do (what Service.Check reads on the hot path).
type identity struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	TenantID    string     `json:"tenantId"`
	TeamID      *string    `json:"teamId"`
	OwnerID     *string    `json:"ownerId"`
	Permissions []string   `json:"permissions"`
	ExpiresAt   *timestamp `json:"expiresAt"`
}

func newIdentity(k *apikey.Key) identity {
	return identity{
		ID: k.ID, Name: k.Name, TenantID: k.TenantID, TeamID: k.TeamID, OwnerID: k.OwnerID,
		Permissions: orEmpty(k.Permissions), ExpiresAt: stamp(k.ExpiresAt),
	}
}

// createRequest is the body of POST /v1/api-keys.
type createRequest struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	TenantID    string            `json:"tenantId"`
	TeamID      string            `json:"teamId"`
	OwnerID     string            `json:"ownerId"`
	Permissions []string          `json:"permissions"`
	ExpiresIn   *string           `json:"expiresIn"`
	ExpiresAt   *string           `json:"expiresAt"`
	Metadata    map[string]string `json:"metadata"`
}

// memberName words a data-model field (see apikey.Field) as the JSON
// member, or query parameter, that sets it: the one place the API names
// the domain's fields. Most are named alike.
func memberName(field string) string {
	switch field {
	case "after":
		return "startingAfter"
	case "before":
		return "endingBefore"
	case "noExpiry":
		// No route takes it yet; a JSON API says it with null.
		return "a null expiresAt"
	}
	return field
}

// configDocument is a tenant's effective config as the API shows it:
// tenantId, then one member per setting holding its value as text (as
// `keyadm config get` shows it), so that a JSON Patch path /<setting_name>
// names exactly the member it changes, then sources: where each value
// comes from (default, global or tenant).
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
		value, _ := json.Marshal(v.Value)
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

// problem is one entry of an error answer. Status is a string, as in
// JSON:API error objects.
type problem struct {
	Code   string `json:"code"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Status string `json:"status"`
}

type errorBody struct {
	Errors []problem `json:"errors"`
}

package output

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// Timestamp formats a time as RFC 3339 in UTC, as every format writes it.
func Timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func timestampPtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := Timestamp(*t)
	return &s
}

// KeyRecord is a key as written: the data model's camelCase fields, times
// in RFC 3339 UTC, null for what is absent, and the derived status.
type KeyRecord struct {
	ID           string            `json:"id" yaml:"id"`
	TenantID     string            `json:"tenantId" yaml:"tenantId"`
	TeamID       *string           `json:"teamId" yaml:"teamId"`
	OwnerID      *string           `json:"ownerId" yaml:"ownerId"`
	Name         string            `json:"name" yaml:"name"`
	Description  *string           `json:"description" yaml:"description"`
	Permissions  []string          `json:"permissions" yaml:"permissions"`
	Hint         string            `json:"hint" yaml:"hint"`
	Status       apikey.Status     `json:"status" yaml:"status"`
	CreatedAt    string            `json:"createdAt" yaml:"createdAt"`
	CreatedBy    string            `json:"createdBy" yaml:"createdBy"`
	UpdatedAt    string            `json:"updatedAt" yaml:"updatedAt"`
	ExpiresAt    *string           `json:"expiresAt" yaml:"expiresAt"`
	RevokedAt    *string           `json:"revokedAt" yaml:"revokedAt"`
	RevokedBy    *string           `json:"revokedBy" yaml:"revokedBy"`
	RevokeReason *string           `json:"revokeReason" yaml:"revokeReason"`
	LastUsedAt   *string           `json:"lastUsedAt" yaml:"lastUsedAt"`
	Metadata     map[string]string `json:"metadata" yaml:"metadata"`
	RotatedFrom  *string           `json:"rotatedFrom" yaml:"rotatedFrom"`
	DisabledAt   *string           `json:"disabledAt" yaml:"disabledAt"`
	// EffectivePermissions is what the key may do, as verify found it;
	// only in the output of verify.
	EffectivePermissions []string `json:"effectivePermissions,omitempty" yaml:"effectivePermissions,omitempty"`
	LimitsRecord         `yaml:",inline"`
	// Key is the secret, only in the output of create and rotate.
	Key *string `json:"key,omitempty" yaml:"key,omitempty"`

	k   *apikey.Key
	now time.Time
}

// NewKeyRecord describes k as of now; secret is "" except for a new key.
func NewKeyRecord(k *apikey.Key, now time.Time, secret string) KeyRecord {
	r := KeyRecord{
		ID: k.ID, TenantID: k.TenantID, TeamID: k.TeamID, OwnerID: k.OwnerID, Name: k.Name,
		Description: k.Description, Permissions: k.Permissions, Hint: k.Hint, Status: k.StatusAt(now),
		CreatedAt: Timestamp(k.CreatedAt), CreatedBy: k.CreatedBy, UpdatedAt: Timestamp(k.UpdatedAt),
		ExpiresAt: timestampPtr(k.ExpiresAt), RevokedAt: timestampPtr(k.RevokedAt), RevokedBy: k.RevokedBy,
		RevokeReason: k.RevokeReason, LastUsedAt: timestampPtr(k.LastUsedAt), Metadata: k.Metadata,
		RotatedFrom: k.RotatedFrom, DisabledAt: timestampPtr(k.DisabledAt), EffectivePermissions: k.Effective,
		LimitsRecord: newLimitsRecord(&k.Limits, now), k: k, now: now,
	}
	if r.Permissions == nil {
		r.Permissions = []string{}
	}
	if r.Metadata == nil {
		r.Metadata = map[string]string{}
	}
	if secret != "" {
		r.Key = &secret
	}
	return r
}

var keyCSVHeader = []string{"id", "tenantId", "teamId", "ownerId", "name", "description", "permissions", "hint",
	"status", "createdAt", "createdBy", "updatedAt", "expiresAt", "revokedAt", "revokedBy", "revokeReason",
	"lastUsedAt", "metadata", "rotatedFrom", "disabledAt", limitsCSVHeader[0], limitsCSVHeader[1], limitsCSVHeader[2],
	limitsCSVHeader[3], limitsCSVHeader[4], limitsCSVHeader[5]}

func keyCSV(r KeyRecord) []string {
	meta, _ := json.Marshal(r.Metadata)
	rec := []string{r.ID, r.TenantID, str(r.TeamID), str(r.OwnerID), r.Name, str(r.Description),
		strings.Join(r.Permissions, " "), r.Hint, string(r.Status), r.CreatedAt, r.CreatedBy, r.UpdatedAt,
		str(r.ExpiresAt), str(r.RevokedAt), str(r.RevokedBy), str(r.RevokeReason), str(r.LastUsedAt),
		string(meta), str(r.RotatedFrom), str(r.DisabledAt)}
	rec = append(rec, limitsCSV(r.LimitsRecord)...)
	if r.Key != nil {
		rec = append(rec, *r.Key)
	}
	return rec
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func statusColor(r KeyRecord) string {
	switch r.Status {
	case apikey.StatusActive:
		return "\x1b[32m"
	case apikey.StatusExpired:
		return "\x1b[33m"
	case apikey.StatusRevoked:
		return "\x1b[31m"
	case apikey.StatusDisabled:
		return "\x1b[35m"
	}
	return ""
}

// KeyList is how a list of keys is written: the table keeps ID, NAME,
// STATUS and LAST USED at any width, cut to fit if need be.
var KeyList = View[KeyRecord]{
	Columns: []Column[KeyRecord]{
		{Header: "ID", Cell: func(r KeyRecord) string { return r.ID }},
		{Header: "NAME", FreeText: true, Cell: func(r KeyRecord) string { return r.Name }},
		{Header: "TENANT", Priority: 2, FreeText: true, Cell: func(r KeyRecord) string { return r.TenantID }},
		{Header: "STATUS", Cell: func(r KeyRecord) string { return string(r.Status) }, Color: statusColor},
		{Header: "PERMISSIONS", Priority: 1, FreeText: true, Cell: func(r KeyRecord) string { return permissions(r, ",") }},
		{Header: "HINT", Priority: 3, Cell: func(r KeyRecord) string { return r.Hint + "…" }},
		{Header: "LAST USED", Cell: func(r KeyRecord) string { return Relative(r.k.LastUsedAt, r.now) }},
		{Header: "EXPIRES", Priority: 5, Cell: func(r KeyRecord) string { return Relative(r.k.ExpiresAt, r.now) }},
		{Header: "CREATED", Priority: 4, Cell: func(r KeyRecord) string { return Relative(&r.k.CreatedAt, r.now) }},
	},
	CSVHeader: keyCSVHeader,
	CSVRecord: keyCSV,
	Quiet:     func(r KeyRecord) string { return r.ID },
}

// KeyDetail is how one key is written (show, update, revoke).
var KeyDetail = View[KeyRecord]{
	Columns: []Column[KeyRecord]{
		{Header: "ID", Cell: func(r KeyRecord) string { return r.ID }},
		{Header: "NAME", Cell: func(r KeyRecord) string { return r.Name }},
		{Header: "STATUS", Cell: func(r KeyRecord) string { return string(r.Status) }, Color: statusColor},
		{Header: "TENANT", Cell: func(r KeyRecord) string { return r.TenantID }},
		{Header: "TEAM", Cell: func(r KeyRecord) string { return orNone(r.TeamID) }},
		{Header: "OWNER", Cell: func(r KeyRecord) string { return orNone(r.OwnerID) }},
		{Header: "DESCRIPTION", Cell: func(r KeyRecord) string { return orNone(r.Description) }},
		{Header: "PERMISSIONS", Cell: func(r KeyRecord) string { return permissions(r, ", ") }},
		{Header: "HINT", Cell: func(r KeyRecord) string { return r.Hint + "…" }},
		{Header: "CREATED", Cell: func(r KeyRecord) string { return when(&r.k.CreatedAt, r.now) + " by " + r.CreatedBy }},
		{Header: "UPDATED", Cell: func(r KeyRecord) string { return when(&r.k.UpdatedAt, r.now) }},
		{Header: "EXPIRES", Cell: func(r KeyRecord) string { return when(r.k.ExpiresAt, r.now) }},
		{Header: "LAST USED", Cell: func(r KeyRecord) string { return when(r.k.LastUsedAt, r.now) }},
		{Header: "REVOKED", Cell: func(r KeyRecord) string { return revoked(r) }},
		{Header: "DISABLED", Cell: func(r KeyRecord) string { return disabled(r) }},
		{Header: "ROTATED FROM", Cell: func(r KeyRecord) string { return orNone(r.RotatedFrom) }},
		{Header: "METADATA", Cell: func(r KeyRecord) string { return metadata(r.Metadata) }},
		limitColumns[0], limitColumns[1], limitColumns[2], limitColumns[3],
	},
	CSVHeader: keyCSVHeader,
	CSVRecord: keyCSV,
}

// pick returns the named columns of a view, in that order.
func pick[V any](cols []Column[V], headers ...string) []Column[V] {
	var out []Column[V]
	for _, h := range headers {
		for _, c := range cols {
			if c.Header == h {
				out = append(out, c)
			}
		}
	}
	return out
}

// KeyIdentity is what verify prints: whose key it is and what it may do.
var KeyIdentity = View[KeyRecord]{
	Columns: append(pick(KeyDetail.Columns, "ID", "NAME", "STATUS", "TENANT", "TEAM", "OWNER", "PERMISSIONS"),
		Column[KeyRecord]{Header: "EFFECTIVE", Cell: func(r KeyRecord) string { return strings.Join(r.EffectivePermissions, ", ") }},
		pick(KeyDetail.Columns, "EXPIRES")[0], pick(KeyDetail.Columns, "USES LEFT")[0]),
	CSVHeader: keyCSVHeader,
	CSVRecord: keyCSV,
}

// NewKey is how a created key is written; -q prints only the secret.
var NewKey = View[KeyRecord]{
	Columns: append(pick(KeyDetail.Columns, "ID", "NAME", "TENANT", "TEAM", "OWNER", "PERMISSIONS", "EXPIRES"),
		Column[KeyRecord]{Header: "KEY", Cell: func(r KeyRecord) string { return str(r.Key) }}),
	CSVHeader: append(append([]string{}, keyCSVHeader...), "key"),
	CSVRecord: keyCSV,
	Quiet:     func(r KeyRecord) string { return str(r.Key) },
}

// when is an absolute time with its relative form, or "never".
func when(t *time.Time, now time.Time) string {
	if t == nil {
		return "never"
	}
	return t.UTC().Format(time.RFC3339) + " (" + Relative(t, now) + ")"
}

func revoked(r KeyRecord) string {
	if r.k.RevokedAt == nil {
		return "no"
	}
	s := when(r.k.RevokedAt, r.now)
	if r.RevokedBy != nil {
		s += " by " + *r.RevokedBy
	}
	if r.RevokeReason != nil {
		s += ": " + strconv.Quote(*r.RevokeReason)
	}
	return s
}

// permissions is a key's own scope, or "inherit" for a key that takes
// its owner's and team's.
func permissions(r KeyRecord, sep string) string {
	if len(r.Permissions) == 0 {
		return "inherit"
	}
	return strings.Join(r.Permissions, sep)
}

func disabled(r KeyRecord) string {
	if r.k.DisabledAt == nil {
		return "no"
	}
	return when(r.k.DisabledAt, r.now)
}

func orNone(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}

func metadata(m map[string]string) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ", ")
}

// SettingRecord is one effective config value and its source.
type SettingRecord struct {
	TenantID *string `json:"tenantId" yaml:"tenantId"`
	Name     string  `json:"name" yaml:"name"`
	Value    string  `json:"value" yaml:"value"`
	Source   string  `json:"source" yaml:"source"`
}

// Settings describes a tenant's effective config ("" tenant: global).
func Settings(cfg apikey.TenantConfig) []SettingRecord {
	var tenant *string
	if cfg.TenantID != "" {
		t := cfg.TenantID
		tenant = &t
	}
	out := make([]SettingRecord, 0, len(cfg.Values))
	for _, v := range cfg.Values {
		out = append(out, SettingRecord{TenantID: tenant, Name: v.Name, Value: v.Value, Source: v.Source})
	}
	return out
}

// SettingList is how config values are written.
var SettingList = View[SettingRecord]{
	Columns: []Column[SettingRecord]{
		{Header: "NAME", Cell: func(r SettingRecord) string { return r.Name }},
		{Header: "VALUE", Cell: func(r SettingRecord) string { return r.Value }},
		{Header: "SOURCE", Cell: func(r SettingRecord) string { return r.Source }},
	},
	CSVHeader: []string{"tenantId", "name", "value", "source"},
	CSVRecord: func(r SettingRecord) []string { return []string{str(r.TenantID), r.Name, r.Value, r.Source} },
}

// EventRecord is an audit event as written.
type EventRecord struct {
	ID       int64          `json:"id" yaml:"id"`
	Time     string         `json:"time" yaml:"time"`
	Actor    string         `json:"actor" yaml:"actor"`
	Action   string         `json:"action" yaml:"action"`
	TenantID *string        `json:"tenantId" yaml:"tenantId"`
	KeyID    *string        `json:"keyId" yaml:"keyId"`
	Details  map[string]any `json:"details" yaml:"details"`

	t   time.Time
	now time.Time
}

// NewEventRecord describes an event as of now.
func NewEventRecord(e *apikey.AuditEvent, now time.Time) EventRecord {
	r := EventRecord{ID: e.ID, Time: Timestamp(e.Time), Actor: e.Actor, Action: e.Action, KeyID: e.KeyID, Details: e.Details, t: e.Time, now: now}
	if e.TenantID != "" {
		t := e.TenantID
		r.TenantID = &t
	}
	if r.Details == nil {
		r.Details = map[string]any{}
	}
	return r
}

func detailsJSON(r EventRecord) string {
	b, _ := json.Marshal(r.Details)
	return string(b)
}

// EventList is how audit events are written.
var EventList = View[EventRecord]{
	Columns: []Column[EventRecord]{
		{Header: "TIME", Cell: func(r EventRecord) string { return Relative(&r.t, r.now) }},
		{Header: "ACTOR", Priority: 3, FreeText: true, Cell: func(r EventRecord) string { return r.Actor }},
		{Header: "ACTION", Cell: func(r EventRecord) string { return r.Action }},
		{Header: "TENANT", Priority: 2, FreeText: true, Cell: func(r EventRecord) string { return orNone(r.TenantID) }},
		{Header: "KEY", Priority: 4, Cell: func(r EventRecord) string { return orNone(r.KeyID) }},
		{Header: "DETAILS", Priority: 1, FreeText: true, Cell: detailsJSON},
	},
	CSVHeader: []string{"id", "time", "actor", "action", "tenantId", "keyId", "details"},
	CSVRecord: func(r EventRecord) []string {
		return []string{strconv.FormatInt(r.ID, 10), r.Time, r.Actor, r.Action, str(r.TenantID), str(r.KeyID), detailsJSON(r)}
	},
}

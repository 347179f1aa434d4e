package apikey

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Status is derived from a key's times, never stored.
type Status string

const (
	StatusActive   Status = "active"
	StatusExpired  Status = "expired"
	StatusRevoked  Status = "revoked"
	StatusDisabled Status = "disabled"
)

// ParseStatus parses a status filter.
func ParseStatus(s string) (Status, error) {
	switch st := Status(s); st {
	case StatusActive, StatusExpired, StatusRevoked, StatusDisabled:
		return st, nil
	}
	return "", Errorf(EINVALID, "invalid status %s: want active, disabled, expired or revoked", Quote(s))
}

// Key is an API key's record. The secret itself is never part of it.
type Key struct {
	ID          string
	TenantID    string
	TeamID      *string
	OwnerID     *string
	Name        string
	Description *string
	// Permissions is the key's own scope; empty, it inherits its
	// registered owner's and team's (see Authority).
	Permissions  []string
	Hint         string
	CreatedAt    time.Time
	CreatedBy    string
	UpdatedAt    time.Time
	ExpiresAt    *time.Time
	RevokedAt    *time.Time
	RevokedBy    *string
	RevokeReason *string
	LastUsedAt   *time.Time
	Metadata     map[string]string
	RotatedFrom  *string
	// DisabledAt is set while the key is paused (reversible, unlike
	// RevokedAt).
	DisabledAt *time.Time
	// Effective is what the key may do as verify found it (see
	// Authority.Effective); nil elsewhere.
	Effective []string
	// SubType is the seed's subject type: SubTypeUser or
	// SubTypeExternalClient (a SCIM client's key).
	SubType string
	Limits
}

// Inherits reports whether the key takes its permissions from its owner
// and team.
func (k *Key) Inherits() bool { return len(k.Permissions) == 0 }

// StatusAt derives the key's status at the given time: revoked if revoked,
// else expired if the expiry is not after now, else disabled if paused,
// else active. The permanent states come first: enabling a revoked or
// expired key would not make it work, so its status does not say
// "disabled".
func (k *Key) StatusAt(now time.Time) Status {
	switch {
	case k.RevokedAt != nil:
		return StatusRevoked
	case k.ExpiresAt != nil && !k.ExpiresAt.After(now):
		return StatusExpired
	case k.DisabledAt != nil:
		return StatusDisabled
	}
	return StatusActive
}

// AuditEvent records one mutation. Details never hold a secret.
type AuditEvent struct {
	ID       int64
	Time     time.Time
	Actor    string
	Action   string
	TenantID string
	KeyID    *string
	Details  map[string]any
}

// Audit actions.
const (
	ActionKeyCreate   = "key.create"
	ActionKeyUpdate   = "key.update"
	ActionKeyRevoke   = "key.revoke"
	ActionKeyDelete   = "key.delete"
	ActionKeyRotate   = "key.rotate"
	ActionKeyDisable  = "key.disable"
	ActionKeyEnable   = "key.enable"
	ActionConfigSet   = "config.set"
	ActionConfigUnset = "config.unset"
	ActionUserAdd     = "user.add"
	ActionUserUpdate  = "user.update"
	ActionUserDisable = "user.disable"
	ActionUserEnable  = "user.enable"
	ActionUserRemove  = "user.remove"
	ActionTeamAdd     = "team.add"
	ActionTeamUpdate  = "team.update"
	ActionTeamDisable = "team.disable"
	ActionTeamEnable  = "team.enable"
	ActionTeamRemove  = "team.remove"
)

// Actions lists every audit action, in the order of a key's life.
var Actions = []string{ActionKeyCreate, ActionKeyUpdate, ActionKeyRotate, ActionKeyDisable, ActionKeyEnable,
	ActionKeyRevoke, ActionKeyDelete, ActionConfigSet, ActionConfigUnset,
	ActionUserAdd, ActionUserUpdate, ActionUserDisable, ActionUserEnable, ActionUserRemove,
	ActionTeamAdd, ActionTeamUpdate, ActionTeamDisable, ActionTeamEnable, ActionTeamRemove}

// DefaultTenant receives keys created without a tenant.
const DefaultTenant = "default"

// The patterns compile on first use, not at start-up: `keyadm version`
// should not pay for them. tenantRE leaves the length to ValidateID: a
// counted {0,127} compiles to 127 nested states, 0.2 ms that every command
// given --tenant paid (BENCHMARKS.md).
var (
	tenantRE     = lazyRegexp(`^[A-Za-z0-9][A-Za-z0-9._:-]*$`)
	permissionRE = lazyRegexp(`^[a-z][a-z0-9:._-]{0,63}$`)
	metaKeyRE    = lazyRegexp(`^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$`)
)

// maxIDLen is the longest tenant or team id.
const maxIDLen = 128

func lazyRegexp(pattern string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })
}

// Limits on free text, so one key cannot bloat every list.
const (
	MaxNameLen        = 100
	MaxDescriptionLen = 1000
	MaxPermissions    = 64
	MaxMetadata       = 64
	MaxMetaValueLen   = 512
	MaxReasonLen      = 500
	MaxSubjectLen     = 256
)

// ValidateID checks a tenant or team id.
func ValidateID(what, s string) error {
	if err := refuseSecret(what, s); err != nil {
		return err
	}
	if len(s) > maxIDLen || !tenantRE().MatchString(s) {
		return Errorf(EINVALID, "invalid %s %s: want 1-128 letters, digits and . _ : -, starting with a letter or digit", what, Quote(s))
	}
	return nil
}

// ValidateKeyID checks the form of a key id (a UUID), so a typo is told
// apart from a key that does not exist.
func ValidateKeyID(s string) error {
	if looksLikeSecret(s) {
		return Errorf(EINVALID, "invalid key id: that looks like a key's secret, not its id (a UUID); verifying the secret tells whose key it is")
	}
	if len(s) != 36 || strings.Count(s, "-") != 4 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return Errorf(EINVALID, "invalid key id %s: want a UUID such as 0193f5c4-5a4e-7c1a-9d3b-2f1e0c8b7a61", Quote(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '-' && !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return Errorf(EINVALID, "invalid key id %s: want a UUID such as 0193f5c4-5a4e-7c1a-9d3b-2f1e0c8b7a61", Quote(s))
		}
	}
	return nil
}

// ValidatePermissions checks each scope and returns the list without duplicates.
func ValidatePermissions(perms []string) ([]string, error) {
	if len(perms) > MaxPermissions {
		return nil, Errorf(EINVALID, "too many permissions: at most %d", MaxPermissions)
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(perms))
	for _, p := range perms {
		if !validPermission(p) {
			return nil, Errorf(EINVALID, "invalid permission %s: want a lower-case letter, then up to 63 of a-z 0-9 : . _ -, or a wildcard (billing:*, *)", Quote(p))
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// ValidateText checks a free-text field: valid UTF-8, no control or
// invisible format characters (which could rewrite a terminal, break a CSV
// consumer or make two names look alike), no key's secret, and a length.
func ValidateText(field, s string, min, max int) error {
	// The secret first: the one thing to tell whoever pasted a key.
	if err := refuseSecret(field, s); err != nil {
		return err
	}
	n := utf8.RuneCountInString(s)
	if n < min || n > max {
		if min > 0 {
			return Errorf(EINVALID, "invalid %s: want %d to %d characters, got %d", field, min, max, n)
		}
		return Errorf(EINVALID, "invalid %s: at most %d characters, got %d", field, max, n)
	}
	if !utf8.ValidString(s) {
		return Errorf(EINVALID, "invalid %s: not valid UTF-8", field)
	}
	for _, r := range s {
		if invisible(r) {
			return Errorf(EINVALID, "invalid %s: control and invisible characters are not allowed (found %U)", field, r)
		}
	}
	return nil
}

// ValidateName checks a key's name: 1 to 100 characters of text, with no
// white space at either end, where a list would hide it and a look-up by
// eye would miss it.
func ValidateName(s string) error {
	if err := ValidateText("name", s, 1, MaxNameLen); err != nil {
		return err
	}
	if strings.TrimSpace(s) != s {
		return Errorf(EINVALID, "invalid name %s: no white space at the start or the end", Quote(s))
	}
	return nil
}

// invisible reports the characters text may not hold: controls (Cc), line
// and paragraph separators, and format characters (Cf: zero-width spaces,
// byte order marks, the direction overrides of "Trojan Source"), which show
// as nothing or make a name display as something else. The zero-width
// joiner and non-joiner stay: emoji sequences and Persian or Indic
// spelling need them. Right-to-left text itself is fine.
func invisible(r rune) bool {
	if r == '\u200c' || r == '\u200d' {
		return false
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
}

// refuseSecret refuses a field that holds a key's secret (see holdsSecret):
// keyadm keeps a key only as its hash, and a secret pasted into a name, an
// id or a value would be stored in plain text and copied to the audit trail.
func refuseSecret(field, s string) error {
	if holdsSecret(s) {
		return Errorf(EINVALID, "invalid %s: that looks like an API key's secret; keyadm never stores one in plain text, so leave it out", field)
	}
	return nil
}

// ValidateMetadata checks metadata keys and values.
func ValidateMetadata(m map[string]string) error {
	if len(m) > MaxMetadata {
		return Errorf(EINVALID, "too much metadata: at most %d entries", MaxMetadata)
	}
	for _, k := range slices.Sorted(maps.Keys(m)) { // in order: the same input, the same message
		v := m[k]
		if err := refuseSecret("metadata key", k); err != nil {
			return err
		}
		if !metaKeyRE().MatchString(k) {
			return Errorf(EINVALID, "invalid metadata key %s: want 1-64 letters, digits and . _ : / -", Quote(k))
		}
		if err := ValidateText("metadata value for "+k, v, 0, MaxMetaValueLen); err != nil {
			return err
		}
	}
	return nil
}

// ParseMeta parses "k=v" pairs.
func ParseMeta(pairs []string) (map[string]string, error) {
	m := map[string]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return nil, Errorf(EINVALID, "invalid %s %s: want key=value", Field("metadata"), Quote(p))
		}
		m[k] = v
	}
	return m, ValidateMetadata(m)
}

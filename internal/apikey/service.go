package apikey

import (
	"io"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Service holds keyadm's behaviour once, over any Store: validation,
// policy, audit events and the order in which they happen.
type Service struct {
	Store Store
	// Rand is the source of key secrets; nil means crypto/rand.
	Rand io.Reader
}

// DefaultPermissions are given to a key created without any.
var DefaultPermissions = []string{"read"}

// positive refuses a duration given as zero or less, such as an unusedFor
// of 0s: a zero window selects nothing, or everything, and is never what
// was meant. Nil (not given) passes.
func positive(field string, d *time.Duration) error {
	if d != nil && *d <= 0 {
		return Errorf(EINVALID, "invalid %s: must be longer than zero", Field(field))
	}
	return nil
}

// UniqueIDs returns ids without repeats (case-insensitive), in order.
func UniqueIDs(ids []string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if k := strings.ToLower(id); !seen[k] {
			seen[k] = true
			out = append(out, id)
		}
	}
	return out
}

// ValidateKeyIDs checks a list of key ids: at least one, each a UUID.
func ValidateKeyIDs(ids []string) error {
	if len(ids) == 0 {
		return Errorf(EINVALID, "give at least one key id")
	}
	for _, id := range ids {
		if err := ValidateKeyID(id); err != nil {
			return err
		}
	}
	return nil
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func ownerLabel(owner *string) string {
	if owner == nil {
		return "keys without an owner"
	}
	return "owner " + *owner
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func equalTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

package apikey

import (
	"context"
	"strings"
	"time"
)

// Store is a database of keys, config and audit events. Update runs fn in a
// write transaction that serialises with every other writer of the same
// store (across processes), and commits when fn returns nil; View runs fn in
// a read transaction; Peek runs fn outside any transaction, for a single
// read on a hot path (each read sees the latest commit; fn must not write).
// Every Tx is stamped with one time, taken at its start, so every row and
// event it writes carries the same time.
type Store interface {
	Update(ctx context.Context, fn func(Tx) error) error
	View(ctx context.Context, fn func(Tx) error) error
	Peek(ctx context.Context, fn func(Tx) error) error
	Close() error
}

// Tx is one transaction's view of the store. Lookups that find nothing
// return an ENOTFOUND error.
type Tx interface {
	Now() time.Time
	// LockOwner serialises quota checks for one tenant and owner until the
	// transaction ends, where the engine does not already serialise writers.
	LockOwner(tenant string, owner *string) error
	InsertKey(k *Key, hash []byte) error
	// InsertKeys stores many new keys at once; hashes[i] is keys[i]'s.
	InsertKeys(keys []*Key, hashes [][]byte) error
	// GetKey finds a key by id; tenant "" matches any tenant.
	GetKey(id, tenant string) (*Key, error)
	// GetKeys finds the keys of those ids that exist (in the tenant, if
	// given), in one read, in no particular order.
	GetKeys(ids []string, tenant string) ([]*Key, error)
	// RevokeKeys revokes the keys of those ids not yet revoked, in one
	// write, and returns the ids it revoked.
	RevokeKeys(ids []string, at time.Time, by string, reason *string) ([]string, error)
	// KeyByHash finds a key by the hash of its secret, with all that
	// decides what it may do, in one read: verification is the hot path.
	// The key holds its identity only: ID, TenantID, TeamID, OwnerID,
	// Name, Permissions, ExpiresAt, RevokedAt and DisabledAt; GetKey reads
	// the rest.
	KeyByHash(hash []byte) (*KeyGrant, error)
	// SaveKey writes a key's mutable fields.
	SaveKey(k *Key) error
	DeleteKey(id string) error
	// RecordActivity records last uses and usage counts (Activity), one
	// row write per key for both, taking the keys' row locks in id order
	// before any usage row's (two serves flushing the same keys at once,
	// or a flush beside a verify, must not deadlock).
	RecordActivity(a Activity) error
	CountActive(tenant string, owner *string) (int, error)
	// EachKey calls fn for each key the query selects, in order, streaming.
	EachKey(q ListQuery, fn func(*Key) error) error
	// ConfigValues returns the values set for a tenant ("" for global).
	ConfigValues(tenant string) (map[string]string, error)
	SetConfig(tenant, name, value string) error
	UnsetConfig(tenant, name string) (bool, error)
	// InsertPrincipal stores a new user or team; one that exists is
	// EINVALID.
	InsertPrincipal(p *Principal) error
	GetPrincipal(kind PrincipalKind, tenant, id string) (*Principal, error)
	SavePrincipal(p *Principal) error
	DeletePrincipal(kind PrincipalKind, tenant, id string) error
	// EachPrincipal streams a tenant's users or teams ("" tenant: every
	// tenant's), by tenant and id.
	EachPrincipal(kind PrincipalKind, tenant string, fn func(*Principal) error) error
	// CountKeysOf counts the unrevoked keys whose owner (user) or team
	// names the principal.
	CountKeysOf(kind PrincipalKind, tenant, id string) (int, error)
	AppendEvent(e *AuditEvent) error
	AppendEvents(events []*AuditEvent) error
	EachEvent(q EventQuery, fn func(*AuditEvent) error) error
	LimitTx
}

// KeyGrant is a key found by its secret and what decides, at verify,
// what it may do: the api_keys_enabled and permissions values set for its
// tenant and globally (nil where not set), and its registered owner and
// team (nil where not registered; Permissions and Enabled only).
type KeyGrant struct {
	Key                          *Key
	TenantEnabled, GlobalEnabled *string
	TenantCeiling, GlobalCeiling *string
	Owner, Team                  *Principal
}

// SortField names a list order.
type SortField string

const (
	SortCreated  SortField = "created"
	SortName     SortField = "name"
	SortStatus   SortField = "status"
	SortLastUsed SortField = "lastUsed"
	SortExpires  SortField = "expires"
	// The seed's other orders, which the HTTP API offers.
	SortOwner       SortField = "sub"
	SortCreatedBy   SortField = "createdByUser"
	SortDescription SortField = "description"
	// SortUses orders by verifications passed (Limits.UseCount).
	SortUses SortField = "uses"
)

// Sort is a field and a direction.
type Sort struct {
	Field SortField
	Desc  bool
}

// DefaultSort is newest first.
var DefaultSort = Sort{Field: SortCreated, Desc: true}

// ParseSort parses "field" or "-field".
func ParseSort(s string) (Sort, error) {
	var out Sort
	if strings.HasPrefix(s, "-") {
		out.Desc = true
		s = s[1:]
	}
	switch f := SortField(s); f {
	case SortCreated, SortName, SortStatus, SortLastUsed, SortExpires, SortUses:
		out.Field = f
		return out, nil
	}
	return Sort{}, Errorf(EINVALID, "invalid sort %s: want created, name, status, lastUsed, expires or uses, with - for descending", Quote(s))
}

func (s Sort) String() string {
	if s.Desc {
		return "-" + string(s.Field)
	}
	return string(s.Field)
}

// KeyFilter selects keys. Zero values select everything.
type KeyFilter struct {
	TenantID string
	TeamID   string
	OwnerID  string
	// CreatedBy selects the keys one actor created.
	CreatedBy string
	Status    Status
	// UnusedSince selects keys last used before it, or never used and
	// created before it.
	UnusedSince *time.Time
	NeverUsed   bool
	// ExpiringBy selects unrevoked keys that expire after now and by it.
	ExpiringBy *time.Time
}

// ListQuery is a filter, an order and a keyset window. After and Before are
// key ids; the window starts just past that key in the order. Limit 0 means
// no limit. Now is the time status is derived at.
type ListQuery struct {
	Filter KeyFilter
	Sort   Sort
	After  string
	Before string
	Limit  int
	Now    time.Time
}

// EventQuery selects audit events, newest first.
type EventQuery struct {
	TenantID string
	KeyID    string
	Actor    string
	Action   string
	Since    *time.Time
	Limit    int
}

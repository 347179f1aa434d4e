package sqlstore

import (
	"context"
	"database/sql"
	"sync"

	"github.com/keyadm/keyadm/internal/apikey"
)

// queryAuthorityVersion is all a verify reads of a key the cache holds.
const queryAuthorityVersion = `SELECT epoch || ':' || n FROM authority_version`

// keyCache holds keys verify has read, by the hash of their secret, as
// read at one authority version, on engines whose triggers move that
// version on every change to what verify reads of a key
// (Dialect.KeysVersioned). While the version stands no key has changed,
// in this process or any other, so verify reads only the version (one
// row, no index search) instead of the key: on SQLite that is about half
// of the key's read. A key revoked, disabled or narrowed moves the
// version in the changing transaction and is read again on the next
// verify; the last uses and use counts serve writes, and credits spent,
// do not move it.
//
// Only keys without limits are kept: a limited key's answer carries its
// use count and credits, which change without moving the version.
// Entries are never modified; a reader gets a copy (authorize sets the
// copy's effective permissions).
type keyCache struct {
	once sync.Once
	on   bool // the engine's triggers are there (see Dialect.KeysVersioned)

	mu      sync.RWMutex
	version string
	keys    map[string]*apikey.Key // by the secret's hash
}

// maxCachedKeys bounds the cache's memory (about 500 bytes a key): beyond
// it, each key kept evicts one at random (Go's map order), so a process
// verifying more keys than that keeps a random share of them.
const maxCachedKeys = 100_000

// enabled reports whether keys may be kept: whether the database's
// triggers move the authority version on key changes. A database whose
// schema lacks them (a read-only file at an older version) keeps none.
func (c *keyCache) enabled(ctx context.Context, db *DB) bool {
	c.once.Do(func() {
		if db.Dialect.KeysVersioned != nil {
			on, err := db.Dialect.KeysVersioned(ctx, db.RO)
			c.on = on && err == nil
		}
	})
	return c.on
}

// get is the key of hash as the cache holds it at version, a copy.
func (c *keyCache) get(version sql.NullString, hash []byte) (*apikey.Key, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !version.Valid || version.String != c.version {
		return nil, false
	}
	k, ok := c.keys[string(hash)]
	if !ok {
		return nil, false
	}
	copied := *k
	return &copied, true
}

// holds reports whether the cache has an entry for hash, of any version.
func (c *keyCache) holds(hash []byte) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, ok := c.keys[string(hash)]
	return ok
}

// keep stores k, read at version, if it has no limits. A version other
// than the cache's empties it first: the cache only ever holds one.
func (c *keyCache) keep(version sql.NullString, hash []byte, k *apikey.Key) {
	if !version.Valid || !unlimited(k) {
		return
	}
	kept := *k
	kept.Effective, kept.OwnerRateLimits = nil, nil
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil || version.String != c.version {
		c.version = version.String
		c.keys = map[string]*apikey.Key{}
	}
	if _, ok := c.keys[string(hash)]; !ok && len(c.keys) >= maxCachedKeys {
		for h := range c.keys {
			delete(c.keys, h)
			break
		}
	}
	c.keys[string(hash)] = &kept
}

// unlimited reports whether a key has no limits of its own: no rate
// limits, credits, refill or allowlist.
func unlimited(k *apikey.Key) bool {
	l := &k.Limits
	return len(l.RateLimits) == 0 && l.UsesRemaining == nil && l.Refill == nil && len(l.AllowIPs) == 0
}

// cachedKey is the key of hash from the key cache, if the cache holds it
// at the database's current authority version, with that version.
func (tx *Tx) cachedKey(hash []byte) (*apikey.Key, sql.NullString, error) {
	var version sql.NullString
	if tx.tx != nil || !tx.db.keys.holds(hash) || !tx.db.keys.enabled(tx.ctx, tx.db) {
		return nil, version, nil
	}
	rows, err := tx.hotQuery(queryAuthorityVersion)
	if err != nil {
		return nil, version, err
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(&version); err != nil {
			return nil, version, err
		}
	}
	if err := rows.Close(); err != nil {
		return nil, version, err
	}
	k, _ := tx.db.keys.get(version, hash)
	return k, version, nil
}

package sqlstore

import (
	"database/sql"
	"sync"
	"sync/atomic"

	"github.com/keyadm/keyadm/internal/apikey"
)

// versionsColumn is the versions (see versions) as one column, so that
// verify reads them with one subquery: epoch:n:keys_n.
const versionsColumn = `epoch || ':' || n || ':' || keys_n`

// queryVersions is all a verify reads of a key the cache holds.
const queryVersions = `SELECT ` + versionsColumn + ` FROM authority_version`

// keyCache holds keys serve has verified, by the hash of their secret, as
// read at one version of the keys: a counter beside the authority version
// (authority_version.keys_n, with the same epoch) that triggers move on
// every change to what verify reads of a key (Dialect.KeysVersioned). While
// it stands no key has changed, in this process or any other, so verify
// reads only the counters (one row, no index search) instead of the key:
// on SQLite about half of the key's read. A key revoked, disabled or
// narrowed moves it in the changing transaction and is read again on the
// next verify; the last uses and use counts serve writes, and credits
// spent, do not move it.
//
// Only keys without limits of their own are kept: credits change without
// moving the version. Entries are never modified; a reader gets a copy
// (authorize sets the copy's effective permissions). The cache is on only
// in a long-lived process that prepared the verify path (PrepareHot), on
// a database that has the triggers: a one-shot keyadm verify reads its
// key once and pays nothing for it.
type keyCache struct {
	on atomic.Bool // set by prepareHot

	mu      sync.RWMutex
	version string
	keys    map[string]*apikey.Key // by the secret's hash
}

// maxCachedKeys bounds the cache's memory (about 500 bytes a key): beyond
// it, each key kept evicts one at random (Go's map order), so a process
// verifying more keys than that keeps a random share of them.
const maxCachedKeys = 100_000

// enabled reports whether keys may be kept.
func (c *keyCache) enabled() bool { return c.on.Load() }

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
// at the database's current version of the keys, with the versions read.
func (tx *Tx) cachedKey(hash []byte) (*apikey.Key, versions, error) {
	var v versions
	if tx.tx != nil || !tx.db.keys.enabled() || !tx.db.keys.holds(hash) {
		return nil, v, nil
	}
	rows, err := tx.hotQuery(queryVersions)
	if err != nil {
		return nil, v, err
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(&v.keys); err != nil {
			return nil, v, err
		}
		v.setAuthority()
	}
	if err := rows.Close(); err != nil {
		return nil, v, err
	}
	k, _ := tx.db.keys.get(v.keys, hash)
	return k, v, nil
}

// KeepsKeys reports whether verify keeps the keys it has read (keyCache):
// after PrepareHot, on an engine and a schema whose triggers version keys.
func (db *DB) KeepsKeys() bool { return db.keys.enabled() }

package sqlstore

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/keyadm/keyadm/internal/apikey"
)

// KeyByHash finds a key by the hash of its secret, with what decides what
// it may do, as of one statement's snapshot.
//
// Verify is the hot path, and joining the owner, the team and four
// settings to every key read cost more than the key's own lookup. So the
// key is read with the authority version (authorityCache): while the
// version is the one the cache holds, no principal or setting has changed
// since they were read, and the key's owner, team and settings come from
// memory. Otherwise the joined statement reads them all, and the cache
// keeps them under the version that statement saw. So a verify is one
// read, and two only when the version has moved since the cache was
// filled, or the key names an owner, team or tenant not yet in it: once
// per change and per principal, not per request.
//
// In serve, where the engine's triggers also version the keys (keyCache),
// a key verified before is not read again either while neither version
// has moved: verify reads the two counters alone.
func (tx *Tx) KeyByHash(hash []byte) (*apikey.KeyGrant, error) {
	k, v, err := tx.cachedKey(hash)
	if err != nil {
		return nil, err
	}
	if k != nil {
		if g, ok := tx.db.authority.grant(v.authority, k); ok {
			return g, nil
		}
	}
	// An empty cache (a one-shot keyadm verify; a serve's first request),
	// or one the version just read has moved past, cannot serve the lean
	// read: one joined read, not two reads.
	if !tx.db.authority.empty() && (!v.authority.Valid || tx.db.authority.at(v.authority)) {
		k, v, err := tx.verifyKey(hash)
		if err != nil {
			return nil, err
		}
		if g, ok := tx.db.authority.grant(v.authority, k); ok {
			tx.keepKey(v.keys, hash, k)
			return g, nil
		}
	}
	g, v, err := tx.grantByHash(hash)
	if err != nil {
		return nil, err
	}
	if tx.tx == nil {
		tx.db.authority.keep(v.authority, g)
	}
	tx.keepKey(v.keys, hash, g.Key)
	return g, nil
}

// versions are the counters verify reads with a key, as versionsColumn
// gives them: the authority version (authorityCache), epoch:n, and the
// keys' (keyCache), epoch:n:keys_n. The keys' version takes in n too: a
// change to a user, a team or a setting, rare, also empties the key cache.
type versions struct{ authority, keys sql.NullString }

// setAuthority sets the authority version from the keys': all of it but
// keys_n.
func (v *versions) setAuthority() {
	v.authority = v.keys
	if i := strings.LastIndexByte(v.keys.String, ':'); v.keys.Valid && i >= 0 {
		v.authority.String = v.keys.String[:i]
	}
}

// keepKey keeps k, read at the keys' version, in the key cache. Only what
// a committed snapshot holds may outlive this read: a write transaction
// sees its own changes, and may still roll them back.
func (tx *Tx) keepKey(version sql.NullString, hash []byte, k *apikey.Key) {
	if tx.tx == nil && tx.db.keys.enabled() {
		tx.db.keys.keep(version, hash, k)
	}
}

// verifyKey reads the key by the hash of its secret, and the versions, in
// one statement.
func (tx *Tx) verifyKey(hash []byte) (*apikey.Key, versions, error) {
	var v versions
	rows, err := tx.hotQuery(queryKeyByHash, hash)
	if err != nil {
		return nil, v, err
	}
	defer rows.Close()
	k, err := scanVerifyKey(rows, &v)
	return k, v, err
}

// grantByHash reads the key, the versions and everything the key
// inherits, in one statement.
func (tx *Tx) grantByHash(hash []byte) (*apikey.KeyGrant, versions, error) {
	var v versions
	rows, err := tx.hotQuery(queryGrantByHash, apikey.SettingKeysEnabled, apikey.SettingKeysEnabled,
		apikey.SettingPermissions, apikey.SettingPermissions, hash)
	if err != nil {
		return nil, v, err
	}
	defer rows.Close()
	var g apikey.KeyGrant
	var ownerPerms, ownerRates, teamPerms []byte
	var ownerEnabled, teamEnabled sql.NullBool
	k, err := scanVerifyKey(rows, &v, &g.TenantEnabled, &g.GlobalEnabled, &g.TenantCeiling, &g.GlobalCeiling,
		&ownerPerms, &ownerEnabled, &ownerRates, &teamPerms, &teamEnabled)
	if err != nil {
		return nil, v, err
	}
	g.Key = k
	if g.Owner, err = joined(apikey.KindUser, k.TenantID, k.OwnerID, ownerPerms, ownerEnabled); err != nil {
		return nil, v, err
	}
	if g.Owner != nil {
		if g.Owner.RateLimits, err = decodeRates(ownerRates); err != nil {
			return nil, v, fmt.Errorf("user %s rate limits: %w", g.Owner.ID, err)
		}
	}
	if g.Team, err = joined(apikey.KindTeam, k.TenantID, k.TeamID, teamPerms, teamEnabled); err != nil {
		return nil, v, err
	}
	return &g, v, nil
}

// scanVerifyKey reads the one row of a verify statement: verifyColumns,
// then the extra targets. No row is ENOTFOUND.
func scanVerifyKey(rows *sql.Rows, v *versions, extra ...any) (*apikey.Key, error) {
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, apikey.Errorf(apikey.ENOTFOUND, "no key with that secret")
	}
	var k apikey.Key
	var perms []byte
	var expires, revoked, disabled nullTime
	var ls limitScan
	targets := append([]any{&k.ID, &k.TenantID, &k.TeamID, &k.OwnerID, &k.Name, &perms, &expires, &revoked, &disabled},
		ls.targets()...)
	if err := rows.Scan(append(append(targets, &v.keys), extra...)...); err != nil {
		return nil, err
	}
	v.setAuthority()
	if err := ls.decode(k.ID, &k.Limits); err != nil {
		return nil, err
	}
	k.ExpiresAt, k.RevokedAt, k.DisabledAt = expires.p, revoked.p, disabled.p
	if err := unmarshalList(perms, &k.Permissions); err != nil {
		return nil, fmt.Errorf("key %s permissions: %w", k.ID, err)
	}
	if k.Permissions == nil {
		k.Permissions = []string{}
	}
	return &k, nil
}

// joined is the registered principal a LEFT JOIN found, or nil where it
// found none.
func joined(kind apikey.PrincipalKind, tenant string, id *string, perms []byte, enabled sql.NullBool) (*apikey.Principal, error) {
	if perms == nil || id == nil {
		return nil, nil
	}
	p := &apikey.Principal{Kind: kind, TenantID: tenant, ID: *id, Enabled: enabled.Bool}
	if err := json.Unmarshal(perms, &p.Permissions); err != nil {
		return nil, fmt.Errorf("%s %s permissions: %w", kind, *id, err)
	}
	return p, nil
}

// authorityCache holds what keys inherit, as read at one authority
// version: each tenant's settings (the global ones under "") and the
// registered users and teams keys named, or that they are not registered.
//
// The version is a counter in the database (table authority_version, with
// a random epoch that tells one such table from any other) that triggers
// move on every change to principals or tenant_config, in the changing
// transaction; verify reads it in the same statement as the key.
// So an entry is used only while nothing it depends on has changed, in
// this process or any other: a user disabled by `keyadm user disable` is
// refused on the next verify, as with the joined read.
//
// Entries are shared and never modified: a grant built from them must not
// be changed by its reader (authorize only reads it).
type authorityCache struct {
	mu         sync.RWMutex
	version    string                     // the authority version: epoch:n
	settings   map[string]tenantAuthority // by tenant id; "" is global
	principals map[principalRef]*apikey.Principal
}

// maxCachedPrincipals bounds the cache's memory (about 100 bytes each): a
// tenant with more owners than that refills it from empty.
const maxCachedPrincipals = 100_000

// tenantAuthority is one tenant's settings that verify reads.
type tenantAuthority struct{ enabled, ceiling *string }

type principalRef struct {
	tenant, id string
	kind       apikey.PrincipalKind
}

// empty reports whether the cache holds nothing yet.
func (c *authorityCache) empty() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.settings == nil
}

// at reports whether the cache holds what was read at version.
func (c *authorityCache) at(version sql.NullString) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return version.Valid && c.settings != nil && version.String == c.version
}

// grant is k's grant from the cache, if it holds all of it at version.
func (c *authorityCache) grant(version sql.NullString, k *apikey.Key) (*apikey.KeyGrant, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !version.Valid || c.settings == nil || version.String != c.version {
		return nil, false
	}
	t, ok := c.settings[k.TenantID]
	global, gok := c.settings[""]
	if !ok || !gok {
		return nil, false
	}
	g := &apikey.KeyGrant{Key: k, TenantEnabled: t.enabled, TenantCeiling: t.ceiling,
		GlobalEnabled: global.enabled, GlobalCeiling: global.ceiling}
	if g.Owner, ok = c.principal(k.TenantID, apikey.KindUser, k.OwnerID); !ok {
		return nil, false
	}
	if g.Team, ok = c.principal(k.TenantID, apikey.KindTeam, k.TeamID); !ok {
		return nil, false
	}
	return g, true
}

// principal is the cached principal id names (nil for none), and whether
// the cache knows it. The caller holds c.mu.
func (c *authorityCache) principal(tenant string, kind apikey.PrincipalKind, id *string) (*apikey.Principal, bool) {
	if id == nil {
		return nil, true
	}
	p, ok := c.principals[principalRef{tenant, *id, kind}]
	return p, ok
}

// keep stores what g inherits, as read at version. A version other than
// the cache's empties it first: the cache only ever holds one.
func (c *authorityCache) keep(version sql.NullString, g *apikey.KeyGrant) {
	if !version.Valid {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.settings == nil || version.String != c.version || len(c.principals) >= maxCachedPrincipals {
		c.version = version.String
		c.settings = map[string]tenantAuthority{}
		c.principals = map[principalRef]*apikey.Principal{}
	}
	k := g.Key
	c.settings[k.TenantID] = tenantAuthority{g.TenantEnabled, g.TenantCeiling}
	c.settings[""] = tenantAuthority{g.GlobalEnabled, g.GlobalCeiling}
	if k.OwnerID != nil {
		c.principals[principalRef{k.TenantID, *k.OwnerID, apikey.KindUser}] = g.Owner
	}
	if k.TeamID != nil {
		c.principals[principalRef{k.TenantID, *k.TeamID, apikey.KindTeam}] = g.Team
	}
}

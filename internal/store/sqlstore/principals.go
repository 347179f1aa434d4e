package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/keyadm/keyadm/internal/apikey"
)

const principalColumns = `kind, tenant_id, id, name, email, permissions, enabled, created_at, created_by, updated_at,
	rate_limits`

// InsertPrincipal stores a new user or team; one that exists is EINVALID.
func (tx *Tx) InsertPrincipal(p *apikey.Principal) error {
	perms, rates, err := encodePrincipal(p)
	if err != nil {
		return err
	}
	res, err := tx.exec(`INSERT INTO principals (`+principalColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, kind, id) DO NOTHING`,
		string(p.Kind), p.TenantID, p.ID, p.Name, p.Email, perms, p.Enabled, tx.t(p.CreatedAt), p.CreatedBy, tx.t(p.UpdatedAt), rates)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return apikey.Errorf(apikey.EINVALID, "%s %s already exists in tenant %q", p.Kind, apikey.Quote(p.ID), p.TenantID)
	}
	return nil
}

// GetPrincipal finds a user or team of a tenant.
func (tx *Tx) GetPrincipal(kind apikey.PrincipalKind, tenant, id string) (*apikey.Principal, error) {
	found, err := queryAll(tx, `SELECT `+principalColumns+` FROM principals WHERE tenant_id = ? AND kind = ? AND id = ?`,
		[]any{tenant, string(kind), id}, scanPrincipal)
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, principalNotFound(kind, tenant, id)
	}
	return found[0], nil
}

func principalNotFound(kind apikey.PrincipalKind, tenant, id string) error {
	return apikey.Errorf(apikey.ENOTFOUND, "%s %s not found in tenant %q", kind, apikey.Quote(id), tenant)
}

// SavePrincipal writes a user's or team's mutable fields.
func (tx *Tx) SavePrincipal(p *apikey.Principal) error {
	perms, rates, err := encodePrincipal(p)
	if err != nil {
		return err
	}
	res, err := tx.exec(`UPDATE principals SET name = ?, email = ?, permissions = ?, enabled = ?, updated_at = ?,
		rate_limits = ? WHERE tenant_id = ? AND kind = ? AND id = ?`,
		p.Name, p.Email, perms, p.Enabled, tx.t(p.UpdatedAt), rates, p.TenantID, string(p.Kind), p.ID)
	return principalAffected(res, err, p.Kind, p.TenantID, p.ID)
}

// encodePrincipal is a principal's permissions and rate limits as stored.
func encodePrincipal(p *apikey.Principal) (perms, rates string, err error) {
	b, err := json.Marshal(p.Permissions)
	if err != nil {
		return "", "", err
	}
	rates, err = encodeRates(p.RateLimits)
	return string(b), rates, err
}

// DeletePrincipal removes a user or team.
func (tx *Tx) DeletePrincipal(kind apikey.PrincipalKind, tenant, id string) error {
	res, err := tx.exec(`DELETE FROM principals WHERE tenant_id = ? AND kind = ? AND id = ?`, tenant, string(kind), id)
	return principalAffected(res, err, kind, tenant, id)
}

func principalAffected(res sql.Result, err error, kind apikey.PrincipalKind, tenant, id string) error {
	if err := mustAffect(res, err, id); apikey.ErrorCode(err) == apikey.ENOTFOUND {
		return principalNotFound(kind, tenant, id)
	} else if err != nil {
		return err
	}
	return nil
}

// EachPrincipal streams a tenant's users or teams ("": every tenant's).
func (tx *Tx) EachPrincipal(kind apikey.PrincipalKind, tenant string, fn func(*apikey.Principal) error) error {
	var sel selectQuery
	sel.add(`kind = ?`, string(kind))
	if tenant != "" {
		sel.add(`tenant_id = ?`, tenant)
	}
	q, args := sel.build(principalColumns, `principals`, `tenant_id`+tx.db.Dialect.TextOrder+`, id`+tx.db.Dialect.TextOrder, nil, 0)
	return eachRow(tx, q, args, scanPrincipal, fn)
}

// CountKeysOf counts the unrevoked keys that name a user as owner or a
// team as team.
func (tx *Tx) CountKeysOf(kind apikey.PrincipalKind, tenant, id string) (int, error) {
	col := map[apikey.PrincipalKind]string{apikey.KindUser: "owner_id", apikey.KindTeam: "team_id"}[kind]
	if col == "" {
		return 0, errors.New("CountKeysOf: unknown kind " + string(kind))
	}
	var n int
	err := tx.q().QueryRowContext(tx.ctx, tx.db.Dialect.Rebind(`SELECT COUNT(*) FROM api_keys
		WHERE tenant_id = ? AND `+col+` = ? AND revoked_at IS NULL`), tenant, id).Scan(&n)
	return n, err
}

func scanPrincipal(rows *sql.Rows) (*apikey.Principal, error) {
	var p apikey.Principal
	var kind string
	var perms, rates []byte
	var created, updated timeValue
	if err := rows.Scan(&kind, &p.TenantID, &p.ID, &p.Name, &p.Email, &perms, &p.Enabled, &created, &p.CreatedBy, &updated, &rates); err != nil {
		return nil, err
	}
	p.Kind, p.CreatedAt, p.UpdatedAt = apikey.PrincipalKind(kind), created.t, updated.t
	if err := json.Unmarshal(perms, &p.Permissions); err != nil {
		return nil, fmt.Errorf("%s %s permissions: %w", kind, p.ID, err)
	}
	var err error
	if p.RateLimits, err = decodeRates(rates); err != nil {
		return nil, fmt.Errorf("%s %s rate limits: %w", kind, p.ID, err)
	}
	return &p, nil
}

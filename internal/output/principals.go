package output

import (
	"strconv"
	"strings"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// PrincipalRecord is a user or team as written: the data model's camelCase
// fields, times in RFC 3339 UTC, null for what is absent. Teams have no
// email.
type PrincipalRecord struct {
	Kind        apikey.PrincipalKind `json:"kind" yaml:"kind"`
	TenantID    string               `json:"tenantId" yaml:"tenantId"`
	ID          string               `json:"id" yaml:"id"`
	Name        *string              `json:"name" yaml:"name"`
	Email       *string              `json:"email,omitempty" yaml:"email,omitempty"`
	Permissions []string             `json:"permissions" yaml:"permissions"`
	Enabled     bool                 `json:"enabled" yaml:"enabled"`
	CreatedAt   string               `json:"createdAt" yaml:"createdAt"`
	CreatedBy   string               `json:"createdBy" yaml:"createdBy"`
	UpdatedAt   string               `json:"updatedAt" yaml:"updatedAt"`
	// RateLimits are a user's windows (N/DURATION), shared by its keys;
	// teams have none.
	RateLimits *[]string `json:"rateLimits,omitempty" yaml:"rateLimits,omitempty"`

	p   *apikey.Principal
	now time.Time
}

// NewPrincipalRecord describes a user or team as of now.
func NewPrincipalRecord(p *apikey.Principal, now time.Time) PrincipalRecord {
	r := PrincipalRecord{Kind: p.Kind, TenantID: p.TenantID, ID: p.ID, Name: p.Name, Email: p.Email,
		Permissions: p.Permissions, Enabled: p.Enabled, CreatedAt: Timestamp(p.CreatedAt), CreatedBy: p.CreatedBy,
		UpdatedAt: Timestamp(p.UpdatedAt), p: p, now: now}
	if r.Permissions == nil {
		r.Permissions = []string{}
	}
	if p.Kind == apikey.KindUser {
		if r.Email == nil {
			r.Email = new(string) // a user's email is "" (not given) rather than absent
		}
		rates := apikey.RateStrings(p.RateLimits)
		r.RateLimits = &rates
	}
	return r
}

var principalCSVHeader = []string{"kind", "tenantId", "id", "name", "email", "permissions", "enabled", "createdAt", "createdBy",
	"updatedAt", "rateLimits"}

func principalCSV(r PrincipalRecord) []string {
	return []string{string(r.Kind), r.TenantID, r.ID, str(r.Name), str(r.Email), strings.Join(r.Permissions, " "),
		strconv.FormatBool(r.Enabled), r.CreatedAt, r.CreatedBy, r.UpdatedAt, strings.Join(deref0(r.RateLimits), " ")}
}

// deref0 is *p, or the zero value for nil.
func deref0[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func enabledCell(r PrincipalRecord) string {
	if r.Enabled {
		return "enabled"
	}
	return "disabled"
}

func enabledColor(r PrincipalRecord) string {
	if r.Enabled {
		return "\x1b[32m"
	}
	return "\x1b[33m"
}

var principalColumns = []Column[PrincipalRecord]{
	{Header: "ID", FreeText: true, Cell: func(r PrincipalRecord) string { return r.ID }},
	{Header: "TENANT", Priority: 2, FreeText: true, Cell: func(r PrincipalRecord) string { return r.TenantID }},
	{Header: "NAME", Priority: 3, FreeText: true, Cell: func(r PrincipalRecord) string { return orNone(r.Name) }},
	{Header: "EMAIL", Priority: 4, FreeText: true, Cell: func(r PrincipalRecord) string { return orNone(r.Email) }},
	{Header: "STATUS", Cell: enabledCell, Color: enabledColor},
	{Header: "PERMISSIONS", Priority: 1, FreeText: true, Cell: func(r PrincipalRecord) string { return strings.Join(r.Permissions, ",") }},
	{Header: "RATE LIMITS", Priority: 4, Cell: func(r PrincipalRecord) string { return orNoneList(deref0(r.RateLimits)) }},
	{Header: "CREATED", Priority: 5, Cell: func(r PrincipalRecord) string { return when(&r.p.CreatedAt, r.now) + " by " + r.CreatedBy }},
	{Header: "UPDATED", Priority: 6, Cell: func(r PrincipalRecord) string { return when(&r.p.UpdatedAt, r.now) }},
}

// PrincipalView is how users or teams are written (list and show); teams
// have no EMAIL column.
func PrincipalView(kind apikey.PrincipalKind) View[PrincipalRecord] {
	cols := principalColumns
	header := principalCSVHeader
	if kind == apikey.KindTeam {
		cols = pick(principalColumns, "ID", "TENANT", "NAME", "STATUS", "PERMISSIONS", "CREATED", "UPDATED")
	}
	return View[PrincipalRecord]{
		Columns:   cols,
		CSVHeader: header,
		CSVRecord: principalCSV,
		Quiet:     func(r PrincipalRecord) string { return r.ID },
	}
}

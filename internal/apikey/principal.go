package apikey

import "time"

// PrincipalKind tells users from teams: the two kinds of record whose
// permissions keys inherit.
type PrincipalKind string

const (
	KindUser PrincipalKind = "user"
	KindTeam PrincipalKind = "team"
)

// Role is what a key calls a principal of the kind: its owner (a user)
// or its team.
func (k PrincipalKind) Role() string {
	if k == KindUser {
		return "owner"
	}
	return "team"
}

// Principal is a registered user or team of a tenant. A key whose ownerId
// (a user) or teamId (a team) names one acts with its authority: never
// more than its permission set, and not at all while it is disabled.
type Principal struct {
	Kind        PrincipalKind
	TenantID    string
	ID          string
	Name        *string
	Email       *string // users only
	Permissions []string
	Enabled     bool
	CreatedAt   time.Time
	CreatedBy   string
	UpdatedAt   time.Time
	// RateLimits are a user's windows: one budget that all of the user's
	// keys share (serve enforces it beside each key's own).
	RateLimits []Rate
}

// MaxEmailLen bounds a user's email.
const MaxEmailLen = 254

// validatePrincipalID checks a user id as an owner id (a subject) and a
// team id as a team id, since keys name them so.
func validatePrincipalID(kind PrincipalKind, id string) error {
	if kind == KindTeam {
		return ValidateID("team", id)
	}
	if id == "" {
		return Errorf(EINVALID, "give a user id")
	}
	return ValidateText("user", id, 1, MaxSubjectLen)
}

// PrincipalInput describes a new user or team, or, for updates, changes
// (nil fields stay as they are).
type PrincipalInput struct {
	Name        *string
	Email       *string
	Permissions []string
	// RateLimits replaces a user's windows; ClearRateLimits removes them.
	RateLimits      []Rate
	ClearRateLimits bool
	Actor           string
}

// Validate checks the input without touching a store; a new principal
// (add) needs at least one permission.
func (in *PrincipalInput) Validate(kind PrincipalKind, add bool) error {
	if in.Name != nil && *in.Name != "" {
		if err := ValidateName(*in.Name); err != nil {
			return err
		}
	}
	if in.Email != nil {
		if kind == KindTeam {
			return Errorf(EINVALID, "a team has no %s", Field("email"))
		}
		if err := ValidateText("email", *in.Email, 0, MaxEmailLen); err != nil {
			return err
		}
	}
	if kind == KindTeam && (in.RateLimits != nil || in.ClearRateLimits) {
		return Errorf(EINVALID, "a team has no %s: give them to its users", Field("rateLimits"))
	}
	if in.Permissions != nil || add {
		if len(in.Permissions) == 0 {
			return Errorf(EINVALID, "a %s needs at least one permission: give %s", kind, Field("permissions"))
		}
		perms, err := ValidatePermissions(in.Permissions)
		if err != nil {
			return err
		}
		in.Permissions = perms
	}
	if !add && in.Name == nil && in.Email == nil && in.Permissions == nil && in.RateLimits == nil && !in.ClearRateLimits {
		return Errorf(EINVALID, "nothing to update: give %s or %s", Field("name"), Field("permissions"))
	}
	return nil
}

package apikey

import (
	"slices"
	"strings"
)

// Wildcards: "*" grants every permission, and "x:*" every permission
// that starts with "x:".
const (
	PermissionAll  = "*"
	wildcardSuffix = ":*"
)

// validPermission reports whether p is a scope ("billing:read"), a scope
// family ("billing:*") or "*".
func validPermission(p string) bool {
	if p == PermissionAll {
		return true
	}
	if base, ok := strings.CutSuffix(p, wildcardSuffix); ok {
		return permissionRE().MatchString(base) && len(p) <= 64
	}
	return permissionRE().MatchString(p)
}

// grantedBy reports whether the permission g grants p.
func grantedBy(g, p string) bool {
	if g == p || g == PermissionAll {
		return true
	}
	if prefix, ok := strings.CutSuffix(g, "*"); ok && strings.HasSuffix(g, wildcardSuffix) {
		return strings.HasPrefix(p, prefix)
	}
	return false
}

// Grants reports whether a set of permissions grants p.
func Grants(set []string, p string) bool {
	return slices.ContainsFunc(set, func(g string) bool { return grantedBy(g, p) })
}

// Missing returns those of required that set does not grant, in order.
func Missing(set, required []string) []string {
	var out []string
	for _, p := range required {
		if !Grants(set, p) && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// Narrow returns what both a and b grant: each of a's permissions that b
// grants, and each of b's that one of a's grants (billing:* narrowed by
// billing:read is billing:read). The result is sorted, without repeats.
func Narrow(a, b []string) []string {
	var out []string
	for _, p := range a {
		if Grants(b, p) {
			out = append(out, p)
			continue
		}
		for _, q := range b {
			if grantedBy(p, q) {
				out = append(out, q)
			}
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	// Drop what another of the result already grants: billing:* and
	// billing:read are billing:*.
	return slices.DeleteFunc(out, func(p string) bool {
		return slices.ContainsFunc(out, func(g string) bool { return g != p && grantedBy(g, p) })
	})
}

// Authority is what decides a key's effective permissions, as one read
// at verify returns it: the key's own scope (empty: it inherits), its
// registered owner and team (nil where the id is free or absent) and the
// tenant's ceiling (nil: none).
type Authority struct {
	Own     []string
	Owner   *Principal
	Team    *Principal
	Ceiling []string
}

// Effective is the key's own scope narrowed by its registered owner's and
// team's sets and the ceiling. A key that inherits starts from its owner's
// set, or its team's; with neither registered it has no permission.
func (a Authority) Effective() []string {
	var set []string
	started := false
	narrow := func(by []string) {
		if !started {
			set, started = slices.Clone(by), true
			return
		}
		set = Narrow(set, by)
	}
	if len(a.Own) > 0 {
		narrow(a.Own)
	}
	for _, p := range []*Principal{a.Owner, a.Team} {
		if p != nil {
			narrow(p.Permissions)
		}
	}
	if a.Ceiling != nil && started {
		narrow(a.Ceiling)
	}
	if set == nil {
		return []string{}
	}
	return Narrow(set, set)
}

// checkWithin refuses a key's own scope beyond what its registered owner
// or team holds: a key acts with its owner's authority, never more.
func checkWithin(own []string, principals ...*Principal) error {
	for _, p := range principals {
		if p == nil {
			continue
		}
		if miss := Missing(p.Permissions, own); len(miss) > 0 {
			return Errorf(EFORBIDDEN, "%s %s does not hold %s: a key cannot have a permission its %s lacks",
				p.Kind, Quote(p.ID), strings.Join(miss, ", "), p.Kind.Role())
		}
	}
	return nil
}

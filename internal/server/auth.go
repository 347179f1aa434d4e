package server

import (
	"net/http"
	"net/netip"
	"strings"

	"github.com/keyadm/keyadm/internal/apikey"
)

// PermissionAdmin is the permission a key needs for the admin API.
const PermissionAdmin = "admin"

// presentedKey returns the key a request carries: in x-api-key, or in
// Authorization as a Bearer token. Errors never quote the header.
func presentedKey(r *http.Request) (string, error) {
	xs, auths := r.Header.Values("X-Api-Key"), r.Header.Values("Authorization")
	if len(xs) > 1 || len(auths) > 1 {
		return "", apikey.Rejectf(apikey.ReasonMalformed, "malformed key: send one x-api-key or one Authorization header")
	}
	var bearer string
	if len(auths) == 1 {
		scheme, token, _ := strings.Cut(auths[0], " ")
		if strings.EqualFold(scheme, "Bearer") {
			bearer = strings.TrimSpace(token)
		} else if len(xs) == 0 {
			return "", apikey.Rejectf(apikey.ReasonMalformed, "malformed key: want Authorization: Bearer <key>")
		}
	}
	if len(xs) == 1 {
		key := strings.TrimSpace(xs[0])
		if bearer != "" && bearer != key {
			return "", apikey.Rejectf(apikey.ReasonMalformed, "malformed key: x-api-key and Authorization hold different keys")
		}
		bearer = key
	}
	if bearer == "" {
		return "", apikey.Rejectf(reasonMissing, "no key: send it in x-api-key or Authorization: Bearer")
	}
	return bearer, nil
}

// authenticate checks the request's key, on the database every time (a
// revoked key is refused at once), that the client may use it (its
// allowlist), and that it grants the required permissions, and records its
// use for the next flush.
func (s *Server) authenticate(r *http.Request, client netip.Addr, required ...string) (*apikey.Key, error) {
	plaintext, err := presentedKey(r)
	if err != nil {
		return nil, err
	}
	k, now, err := s.svc.CheckFrom(r.Context(), plaintext, client, required...)
	if err != nil {
		if k != nil {
			s.activity.count(k, now, apikey.ErrorReason(err))
		}
		return nil, err
	}
	s.activity.use(k.ID, now)
	info(r).keyID = k.ID
	return k, nil
}

// caller is the key a management request authenticated with, and whether
// it holds admin rights over its tenant.
type caller struct {
	key   *apikey.Key
	admin bool
}

// owner is the caller's owner, "" when it has none.
func (c caller) owner() string { return deref0(c.key.OwnerID) }

// mayManage refuses a key that a caller without admin rights does not own.
func (c caller) mayManage(k *apikey.Key) error {
	if c.admin || (c.owner() != "" && deref0(k.OwnerID) == c.owner()) {
		return nil
	}
	return apikey.Errorf(codeForbidden, "key %s may only manage the keys of its own owner (it lacks the %s permission)", c.key.ID, PermissionAdmin)
}

// confine makes a new key of a caller without admin rights its owner's
// own: owned and created by that owner, and never able to do more than the
// caller (given no permissions, it gets the caller's effective ones).
func (c caller) confine(in *apikey.CreateInput) error {
	if c.admin {
		return nil
	}
	if in.OwnerID != c.owner() {
		return apikey.Errorf(codeForbidden, "key %s may only create keys for its own owner", c.key.ID)
	}
	in.Actor = c.owner()
	if len(in.Permissions) == 0 {
		in.Permissions = c.key.Effective
	}
	if miss := apikey.Missing(c.key.Effective, in.Permissions); len(miss) > 0 {
		return apikey.Errorf(codeForbidden, "key %s cannot give a new key what it lacks itself: %s", c.key.ID, apikey.Quote(miss[0]))
	}
	return nil
}

// callerHandler is a management API handler, given its caller and the
// request's query parameters.
type callerHandler func(w http.ResponseWriter, r *http.Request, c caller, q query)

// owners lets through requests with a good key whose query string holds
// only the given parameters (none by default); a key without the admin
// permission reaches only its own owner's keys (see caller.mayManage),
// and one without an owner nothing.
func (s *Server) owners(h callerHandler, params ...string) http.HandlerFunc {
	return s.authorized(false, h, params)
}

// admin lets through only requests whose key holds the admin permission.
func (s *Server) admin(h callerHandler, params ...string) http.HandlerFunc {
	return s.authorized(true, h, params)
}

func (s *Server) authorized(adminOnly bool, h callerHandler, params []string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		k, err := s.authenticate(r, s.clientAddr(r))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		// Admin rights come from what the key may do, as verify found it:
		// its own scope narrowed by its owner's, its team's and the ceiling.
		c := caller{key: k, admin: apikey.Grants(k.Effective, PermissionAdmin)}
		if !c.admin && (adminOnly || c.owner() == "") {
			s.fail(w, r, apikey.Errorf(codeForbidden, "key %s lacks the %s permission", k.ID, PermissionAdmin))
			return
		}
		if err := s.adminLimited(w, r, k); err != nil {
			s.fail(w, r, err)
			return
		}
		q, err := queryParams(r, params...)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		h(w, r, c, q)
	}
}

// actor names an admin key in the audit trail.
func actor(admin *apikey.Key) string { return "key:" + admin.ID }

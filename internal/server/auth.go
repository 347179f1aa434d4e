package server

import (
	"net/http"
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
// revoked key is refused at once), and that it grants the required
// permissions, and records its use for the next flush.
func (s *Server) authenticate(r *http.Request, required ...string) (*apikey.Key, error) {
	plaintext, err := presentedKey(r)
	if err != nil {
		return nil, err
	}
	k, now, err := s.svc.Check(r.Context(), plaintext, required...)
	if err != nil {
		return nil, err
	}
	s.uses.record(k.ID, now)
	info(r).keyID = k.ID
	return k, nil
}

// adminHandler is an admin API handler, given the admin key that called it
// and the request's query parameters.
type adminHandler func(w http.ResponseWriter, r *http.Request, admin *apikey.Key, q query)

// admin lets through requests whose key holds the admin permission and
// whose query string holds only the given parameters (none by default).
func (s *Server) admin(h adminHandler, params ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		k, err := s.authenticate(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if !apikey.Grants(k.Effective, PermissionAdmin) {
			s.fail(w, r, apikey.Errorf(codeForbidden, "key %s lacks the %s permission", k.ID, PermissionAdmin))
			return
		}
		q, err := queryParams(r, params...)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		h(w, r, k, q)
	}
}

// actor names an admin key in the audit trail.
func actor(admin *apikey.Key) string { return "key:" + admin.ID }

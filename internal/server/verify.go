package server

import (
	"net/http"

	"github.com/keyadm/keyadm/internal/apikey"
)

// paramPermission is verify's query parameter for a required permission,
// repeatable, as the body's permissions.
const paramPermission = "permission"

// required reads the permissions a verify request requires, from its
// optional body and its query string, all of them.
func required(r *http.Request) ([]string, error) {
	q, err := queryValues(r, paramPermission)
	if err != nil {
		return nil, err
	}
	perms := q[paramPermission]
	if r.ContentLength != 0 {
		var body verifyRequest
		if err := decodeJSON(r, &body, mediaJSON); err != nil {
			return nil, err
		}
		perms = append(perms, body.Permissions...)
	}
	return apikey.ValidatePermissions(perms)
}

// verify answers whether the request's key grants access, with the
// required permissions, and whose it is: 401 for a key that grants
// nothing, 403 (insufficient_permissions, the missing ones in the error's
// meta) for one that lacks a required permission.
func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	// A malformed request is refused before the key is checked, so its
	// use is not recorded.
	perms, err := required(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	k, err := s.authenticate(r, perms...)
	outcome := outcomeValid
	switch apikey.ErrorCode(err) {
	case "":
	case apikey.EREJECTED:
		outcome = apikey.ErrorReason(err)
	default:
		outcome = outcomeError
	}
	info(r).outcome = outcome
	s.metrics.verified(outcome)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newIdentity(k))
}

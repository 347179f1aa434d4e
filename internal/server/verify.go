package server

import (
	"net/http"
	"time"

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
// required permissions, and whose it is. The checks, in order, each
// refusing before the next is made, so a refused request spends nothing:
// a client over its failed-verification budget (429
// too_many_failed_verifications); a malformed or unknown key, then a
// revoked, expired or disabled one (401); a client outside the key's
// allowlist (403 ip_not_allowed); a missing required permission (403
// insufficient_permissions, the missing ones in the error's meta); the
// key's rate limits (429 rate_limited); its credits (429 usage_exceeded).
func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	// A malformed request is refused before the key is checked, so its
	// use is not recorded.
	perms, err := required(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	client := s.clientAddr(r)
	if err := s.throttled(w, client); err != nil {
		info(r).outcome = codeTooManyFailures
		s.metrics.verified(codeTooManyFailures)
		s.fail(w, r, err)
		return
	}
	k, err := s.authenticate(r, client, perms...)
	var adm *apikey.Admission
	if err == nil {
		adm, err = s.svc.Admit(r.Context(), k)
		setRateHeaders(w, adm.Rates)
		if apikey.ErrorReason(err) == apikey.ReasonUsageExceeded && adm.RefillsAt != nil {
			w.Header().Set("Retry-After", seconds(time.Until(*adm.RefillsAt)))
		}
	}
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
	if k != nil && outcome != outcomeError {
		s.activity.count(k, time.Now(), outcome)
	}
	if err != nil {
		if status, _ := describe(err); status == http.StatusUnauthorized {
			s.failed(client)
		}
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newVerifyAnswer(k, adm))
}

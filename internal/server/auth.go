package server

import (
	"net/http"
	"slices"
	"strings"
	"time"

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
// revoked key is refused at once), and records its use for the next flush.
func (s *Server) authenticate(r *http.Request) (*apikey.Key, error) {
	plaintext, err := presentedKey(r)
	if err != nil {
		return nil, err
	}
	k, now, err := s.svc.Check(r.Context(), plaintext)
	if err != nil {
		if k != nil {
			s.usage.record(k, now, apikey.ErrorReason(err))
		}
		return nil, err
	}
	s.uses.record(k.ID, now)
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
		k, err := s.authenticate(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		c := caller{key: k, admin: slices.Contains(k.Permissions, PermissionAdmin)}
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

// verify answers whether the request's key grants access, and whose it is.
func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	// A malformed request is refused before the key is checked, so its
	// use is not recorded.
	if _, err := queryParams(r); err != nil {
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
	k, err := s.authenticate(r)
	var adm *apikey.Admission
	if err == nil {
		adm, err = s.svc.Admit(r.Context(), k, apikey.AdmitOptions{Client: client, Rates: true})
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
		s.usage.record(k, time.Now(), outcome)
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

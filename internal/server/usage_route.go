package server

import (
	"net/http"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// usageRecord is one count of GET /v1/api-keys/{id}/usage: the same rows
// as keyadm usage -o json.
type usageRecord struct {
	KeyID    string    `json:"keyId"`
	TenantID string    `json:"tenantId"`
	Hour     timestamp `json:"hour"`
	Outcome  string    `json:"outcome"`
	Count    int64     `json:"count"`
}

// DefaultUsageSince is how far back usage goes without ?since.
const DefaultUsageSince = 7 * apikey.Day

// keySub serves /v1/api-keys/{id}/{view}: only usage, so far. (A pattern
// /v1/api-keys/{id}/usage would collide with /v1/api-keys/configs/{tenantId}.)
func (s *Server) keySub(w http.ResponseWriter, r *http.Request, c caller, q query) {
	if r.PathValue("view") != "usage" {
		s.fail(w, r, apikey.Errorf(apikey.ENOTFOUND, "no such route: %s %s", methodLabel(r.Method), shorten(r.URL.Path, 100)))
		return
	}
	since := DefaultUsageSince
	if v, ok := q["since"]; ok {
		d, err := apikey.ParseDuration(v)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		since = d
	}
	out := []usageRecord{}
	err := s.svc.Usage(r.Context(), apikey.UsageQuery{TenantID: c.key.TenantID, KeyID: r.PathValue("id"), Since: time.Now().Add(-since)},
		func(c apikey.UsageCount) error {
			out = append(out, usageRecord{KeyID: c.KeyID, TenantID: c.TenantID, Hour: timestamp(c.Hour), Outcome: c.Outcome, Count: c.Count})
			return nil
		})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out})
}

// limitsLeft is what a verify answer says of a key's limits, where it has
// any: the tightest rate-limit window, and the credits left.
type limitsLeft struct {
	RateLimit     *rateLeft  `json:"rateLimit,omitempty"`
	UsesRemaining *int64     `json:"usesRemaining,omitempty"`
	RefillsAt     *timestamp `json:"refillsAt,omitempty"`
}

type rateLeft struct {
	Rate      string `json:"rate"`
	Remaining int64  `json:"remaining"`
	ResetIn   int64  `json:"resetSeconds"`
}

// verifyAnswer is the identity of a good key, with its limits left.
type verifyAnswer struct {
	identity
	Limits *limitsLeft `json:"limits,omitempty"`
}

func newVerifyAnswer(k *apikey.Key, adm *apikey.Admission) verifyAnswer {
	a := verifyAnswer{identity: newIdentity(k)}
	if adm == nil || (len(adm.Rates) == 0 && adm.Remaining == nil) {
		return a
	}
	a.Limits = &limitsLeft{UsesRemaining: adm.Remaining, RefillsAt: stamp(adm.RefillsAt)}
	if st := apikey.Tightest(adm.Rates); st != nil {
		a.Limits.RateLimit = &rateLeft{Rate: st.Rate.String(), Remaining: st.Remaining, ResetIn: int64((st.Reset + time.Second - 1) / time.Second)}
	}
	return a
}

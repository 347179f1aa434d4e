package server

import (
	"net/http"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// The internal admin tool's credentials API: keys of an organisation (the
// tenant) and team, every answer in a data/meta envelope.

// credentialQuery names the parameters of GET /qsi/gather/credentials.
var credentialQuery = []string{"organizationId", "teamId", "limit"}

// writeEnvelope answers data wrapped with the request's id and time.
func writeEnvelope(w http.ResponseWriter, status int, now time.Time, data any) {
	meta := envelopeMeta{RequestID: w.Header().Get(headerRequestID), Timestamp: timestamp(now)}
	writeJSON(w, status, envelope{Data: data, Meta: meta})
}

// organization is the tenant a request names, which must be the caller's.
func organization(c caller, id string) (string, error) {
	if id != "" && id != c.key.TenantID {
		return "", apikey.Errorf(codeForbidden, "key %s may only reach organization %q", c.key.ID, c.key.TenantID)
	}
	return c.key.TenantID, nil
}

// createCredential makes a key and answers 201 with it and, this once,
// its secret.
func (s *Server) createCredential(w http.ResponseWriter, r *http.Request, c caller, _ query) {
	var req credentialRequest
	if err := decodeJSON(r, &req, mediaJSON); err != nil {
		s.fail(w, r, err)
		return
	}
	tenant, err := organization(c, req.OrganizationID)
	if err != nil {
		s.fail(w, r, pointerError("organizationId", err))
		return
	}
	made, err := s.svc.Create(r.Context(), apikey.CreateInput{
		TenantID: tenant, TeamID: req.TeamID, Name: req.Name, Permissions: req.Permissions, Actor: actor(c.key),
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", r.URL.Path+"/"+made.Key.ID)
	writeEnvelope(w, http.StatusCreated, made.Key.CreatedAt, newCredential(made.Key, made.Key.CreatedAt, made.Secret.String()))
}

// listCredentials answers the organisation's keys, newest first, with
// their last use; limit (1-100, default 20) bounds them.
func (s *Server) listCredentials(w http.ResponseWriter, r *http.Request, c caller, q query) {
	tenant, err := organization(c, q["organizationId"])
	if err != nil {
		s.fail(w, r, paramError("organizationId", err))
		return
	}
	limit := query{}
	if v, ok := q["limit"]; ok {
		limit["limit"] = v
	}
	p, err := parseListParams(limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page, err := s.svc.List(r.Context(), apikey.ListInput{
		Filter: apikey.KeyFilter{TenantID: tenant, TeamID: q["teamId"]}, Limit: p.limit,
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data := make([]credential, 0, len(page.Keys))
	for _, k := range page.Keys {
		data = append(data, newCredential(k, page.Now, ""))
	}
	writeEnvelope(w, http.StatusOK, page.Now, data)
}

// revokeCredential revokes a key at once, keeping its record, and answers
// its id and revocation time.
func (s *Server) revokeCredential(w http.ResponseWriter, r *http.Request, c caller, _ query) {
	keys, now, err := s.svc.Revoke(r.Context(), c.key.TenantID, []string{r.PathValue("credentialId")}, "", actor(c.key))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	k := keys[0]
	writeEnvelope(w, http.StatusOK, now, revokedCredential{ID: k.ID, RevokedAt: timestamp(*k.RevokedAt)})
}

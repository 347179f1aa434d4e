package server

import (
	"net/http"

	"github.com/keyadm/keyadm/internal/apikey"
)

// A key manages keys with its owner's authority: a key holding admin
// manages every key of its tenant; any other key only the keys of its own
// owner, in its tenant. Anything else is 403.

// isAdmin reports whether the caller may manage every key of its tenant.
func isAdmin(caller *apikey.Key) bool { return apikey.Grants(caller.Effective, PermissionAdmin) }

// manager lets through requests whose key is an admin key or has an owner
// (whose keys it then manages), and whose query string holds only the
// given parameters (none by default).
func (s *Server) manager(h adminHandler, params ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		k, err := s.authenticate(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if !isAdmin(k) && k.OwnerID == nil {
			s.fail(w, r, apikey.Errorf(codeForbidden, "key %s lacks the %s permission, and has no owner whose keys it could manage", k.ID, PermissionAdmin))
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

// confine refuses a key that the caller does not manage: in its tenant
// (else not found, as for any other tenant's key), and, for a key without
// admin, of its own owner.
func (s *Server) confine(r *http.Request, caller *apikey.Key, id string) (*apikey.Key, error) {
	k, _, err := s.svc.Get(r.Context(), caller.TenantID, id)
	if err != nil {
		return nil, err
	}
	if !isAdmin(caller) && (k.OwnerID == nil || *k.OwnerID != *caller.OwnerID) {
		return nil, apikey.Errorf(codeForbidden, "key %s manages only the keys of its owner %s", caller.ID, apikey.Quote(*caller.OwnerID))
	}
	return k, nil
}

// confineCreate makes a new key of a caller without admin its owner's:
// owned by the caller's owner, created by it, and never able to do more
// than the caller (without permissions, it gets the caller's).
func confineCreate(caller *apikey.Key, in *apikey.CreateInput) error {
	if isAdmin(caller) {
		return nil
	}
	owner := *caller.OwnerID
	if in.OwnerID != "" && in.OwnerID != owner {
		return apikey.Errorf(codeForbidden, "key %s may create keys only for its owner %s", caller.ID, apikey.Quote(owner))
	}
	in.OwnerID, in.Actor = owner, owner
	if len(in.Permissions) == 0 {
		in.Permissions = caller.Effective
	}
	if miss := apikey.Missing(caller.Effective, in.Permissions); len(miss) > 0 {
		return apikey.Errorf(codeForbidden, "key %s cannot give a new key what it lacks itself: %s", caller.ID, apikey.Quote(miss[0]))
	}
	return nil
}

// deleteKey removes a key when its owner's key asks, and revokes it
// (keeping its record) when an admin asks; 204 either way.
func (s *Server) deleteKey(w http.ResponseWriter, r *http.Request, caller *apikey.Key, _ query) {
	id := r.PathValue("id")
	if _, err := s.confine(r, caller, id); err != nil {
		s.fail(w, r, err)
		return
	}
	var err error
	if isAdmin(caller) {
		_, _, err = s.svc.Revoke(r.Context(), caller.TenantID, []string{id}, "", actor(caller))
	} else {
		_, err = s.svc.Delete(r.Context(), caller.TenantID, []string{id}, actor(caller))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

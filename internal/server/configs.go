package server

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/keyadm/keyadm/internal/apikey"
)

// configTenant is the tenant of a config request, which must be the admin
// key's own: another tenant's config is forbidden, never shown.
func configTenant(r *http.Request, admin *apikey.Key) (string, error) {
	if t := r.PathValue("tenantId"); t != admin.TenantID {
		return "", apikey.Errorf(codeForbidden, "key %s may only read and change the config of tenant %q", admin.ID, admin.TenantID)
	}
	return admin.TenantID, nil
}

// getConfig answers the tenant's effective settings and their sources.
func (s *Server) getConfig(w http.ResponseWriter, r *http.Request, admin *apikey.Key, _ query) {
	tenant, err := configTenant(r, admin)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cfg, err := s.svc.Config(r.Context(), tenant)
	s.answerConfig(w, r, cfg, err)
}

// patchConfig applies a JSON Patch of replace (set) and remove (unset)
// operations on /<setting_name>. Every operation is checked before any is
// applied, so an invalid patch changes nothing.
func (s *Server) patchConfig(w http.ResponseWriter, r *http.Request, admin *apikey.Key, _ query) {
	tenant, err := configTenant(r, admin)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ops, err := decodePatch(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	changes := make([]apikey.ConfigChange, 0, len(ops))
	for _, op := range ops {
		c, err := settingOp(op)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		changes = append(changes, c)
	}
	// All operations commit together, or none does.
	cfg, err := s.svc.ApplyConfig(r.Context(), tenant, changes, actor(admin))
	s.answerConfig(w, r, cfg, err)
}

// settingOp checks one config patch operation as `keyadm config set` and
// `unset` check their arguments. A value may be a string, or a boolean or
// number standing for its text.
func settingOp(op patchOp) (apikey.ConfigChange, error) {
	name, err := op.member([]string{"replace", "remove"}, apikey.SettingNames())
	if err != nil {
		return apikey.ConfigChange{}, err
	}
	if op.Op == "remove" {
		return apikey.ConfigChange{Name: name, Unset: true}, nil
	}
	val, err := op.value()
	if err != nil {
		return apikey.ConfigChange{}, err
	}
	var text string
	switch v := val.(type) {
	case string:
		text = v
	case bool:
		text = strconv.FormatBool(v)
	case json.Number:
		text = v.String()
	default:
		return apikey.ConfigChange{}, op.badValue(`a string, a number or a boolean ("none" for no duration; remove falls back to the default)`)
	}
	if _, err := apikey.NormalizeSetting(name, text); err != nil {
		return apikey.ConfigChange{}, err
	}
	return apikey.ConfigChange{Name: name, Value: text}, nil
}

func (s *Server) answerConfig(w http.ResponseWriter, r *http.Request, cfg apikey.TenantConfig, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, configDocument(cfg))
}

package server

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/keyadm/keyadm/internal/apikey"
)

// configTenant is the tenant of a config request, which must be the admin
// key's own: another tenant's config is forbidden, never shown.
func configTenant(r *http.Request, c caller) (string, error) {
	admin := c.key
	if t := r.PathValue("tenantId"); t != admin.TenantID {
		return "", apikey.Errorf(codeForbidden, "key %s may only read and change the config of tenant %q", admin.ID, admin.TenantID)
	}
	return admin.TenantID, nil
}

// getConfig answers the tenant's effective settings and their sources.
func (s *Server) getConfig(w http.ResponseWriter, r *http.Request, c caller, _ query) {
	tenant, err := configTenant(r, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cfg, err := s.svc.Config(r.Context(), tenant)
	s.answerConfig(w, r, cfg, err)
}

// patchConfig applies a JSON Patch of replace (set) and remove (unset)
// operations on /<setting_name>, and answers 204 as the seed does. Every operation is checked before any is
// applied, so an invalid patch changes nothing.
func (s *Server) patchConfig(w http.ResponseWriter, r *http.Request, c caller, _ query) {
	tenant, err := configTenant(r, c)
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
	if _, err := s.svc.ApplyConfig(r.Context(), tenant, changes, actor(c.key)); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// settingOp checks one config patch operation as `keyadm config set` and
// `unset` check their arguments. A value has its setting's type, as GET
// shows it: a boolean, a number, or a string (a duration, "none", a
// prefix).
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
	case bool:
		if settingType(name) == "boolean" {
			text = strconv.FormatBool(v)
		}
	case json.Number:
		if settingType(name) == "integer" {
			text = v.String()
		}
	case string:
		if settingType(name) == "string" {
			text = v
		}
	}
	if text == "" {
		return apikey.ConfigChange{}, op.badValue(settingKind(name))
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

// settingKind says what JSON value a setting takes.
func settingKind(name string) string {
	switch settingType(name) {
	case "boolean":
		return "true or false"
	case "integer":
		return "a whole number"
	}
	return `a string ("none" for no duration; remove falls back to the default)`
}

package server_test

import (
	"net/http"
	"testing"

	"github.com/keyadm/keyadm/internal/apikey"
)

// TestCredentialsConfined: the credentials API reaches the caller's own
// organization only, filters by team, and refuses bad input in the
// error shape, writing nothing.
func TestCredentialsConfined(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		_, admin := h.admin("acme")
		theirs, _ := h.key(apikey.CreateInput{TenantID: "globex", Name: "globex-secret"})
		h.key(apikey.CreateInput{TenantID: "acme", TeamID: "payments", Name: "pay"})
		for _, body := range []string{`{}`, `{"name":""}`, `{"name":"x","organization":"acme"}`, `{"name":"x","permissions":["BAD"]}`} {
			h.do("POST", "/qsi/gather/credentials", withKey(admin), withJSON(body)).wantError(t, http.StatusBadRequest, "invalid")
		}
		p := h.do("POST", "/qsi/gather/credentials", withKey(admin), withJSON(`{"organizationId":"globex","name":"x"}`)).
			wantError(t, http.StatusForbidden, "forbidden")
		if p.Source == nil || p.Source.Pointer != "/organizationId" {
			t.Fatalf("source %+v", p.Source)
		}
		h.do("GET", "/qsi/gather/credentials?organizationId=globex", withKey(admin)).wantError(t, http.StatusForbidden, "forbidden")
		h.do("GET", "/qsi/gather/credentials?limit=0", withKey(admin)).wantError(t, http.StatusBadRequest, "invalid")
		h.do("DELETE", "/qsi/gather/credentials/"+theirs, withKey(admin)).wantError(t, http.StatusNotFound, "not_found")
		if h.get(theirs).RevokedAt != nil {
			t.Fatal("another organization's credential was revoked")
		}
		var list struct {
			Data []map[string]any `json:"data"`
		}
		h.do("GET", "/qsi/gather/credentials?teamId=payments", withKey(admin)).want(t, http.StatusOK, &list)
		if len(list.Data) != 1 || list.Data[0]["name"] != "pay" || list.Data[0]["teamId"] != "payments" {
			t.Fatalf("team list %v", list.Data)
		}
		p = h.do("GET", "/api/v1/api-keys?limit=500", withKey(admin)).wantError(t, http.StatusBadRequest, "invalid")
		if p.Source == nil || p.Source.Parameter != "limit" {
			t.Fatalf("source %+v", p.Source)
		}
	})
}

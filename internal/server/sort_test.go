package server_test

import (
	"net/http"
	"testing"

	"github.com/keyadm/keyadm/internal/apikey"
)

// TestSortPlusAsWritten: ?sort=+name, the seed's documented form typed as
// is, arrives as " name" (a + in a query string is a space) and sorts
// ascending like %2Bname; "+-name" stays refused.
func TestSortPlusAsWritten(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		_, admin := h.admin("acme")
		for _, name := range []string{"b", "c", "a"} {
			h.key(apikey.CreateInput{TenantID: "acme", Name: name})
		}
		names := func(query string) []any {
			var page struct {
				Data []map[string]any `json:"data"`
			}
			h.do("GET", "/v1/api-keys?"+query, withKey(admin)).want(t, http.StatusOK, &page)
			var out []any
			for _, k := range page.Data {
				out = append(out, k["name"])
			}
			return out
		}
		plain, encoded := names("sort=+name"), names("sort=%2Bname")
		if len(plain) != 4 || plain[0] != "a" || plain[1] != "admin" || plain[2] != "b" || plain[3] != "c" {
			t.Fatalf("sort=+name: %v", plain)
		}
		for i := range plain {
			if plain[i] != encoded[i] {
				t.Fatalf("sort=+name %v, sort=%%2Bname %v", plain, encoded)
			}
		}
		h.do("GET", "/v1/api-keys?sort=+-name", withKey(admin)).wantError(t, http.StatusBadRequest, "invalid")
	})
}

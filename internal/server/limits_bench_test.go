package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/server"
	"github.com/keyadm/keyadm/internal/store/storetest"
)

// BenchmarkVerifyLimits: the cost of each limit on POST /v1/verify, in
// process (no network): a plain key, one with a rate limit (a GCRA
// statement in a write transaction), one with credits (a conditional
// UPDATE in one), one with an allowlist (no database work).
func BenchmarkVerifyLimits(b *testing.B) {
	engines := []string{"sqlite"}
	if os.Getenv(storetest.PostgresEnv) != "" {
		engines = append(engines, "postgres")
	}
	allow, _ := apikey.ParseAllowIPs([]string{"192.0.2.0/24"})
	for _, engine := range engines {
		st := openStore(b, engine, time.Now)
		svc := &apikey.Service{Store: st}
		h := server.New(server.Config{Service: svc, TrustedProxies: allow}).Handler()
		for _, c := range []struct {
			name   string
			limits apikey.LimitsInput
		}{
			{"plain", apikey.LimitsInput{}},
			{"rate-limit", apikey.LimitsInput{RateLimits: []apikey.Rate{{Limit: 1_000_000_000, Per: time.Hour}}}},
			{"credits", apikey.LimitsInput{Uses: ptr(int64(1_000_000_000))}},
			{"allow-ip", apikey.LimitsInput{AllowIPs: allow}},
		} {
			created, err := svc.Create(context.Background(), apikey.CreateInput{Name: c.name, Actor: "bench", Limits: c.limits})
			if err != nil {
				b.Fatal(err)
			}
			secret := created.Secret.String()
			b.Run(engine+"/"+c.name, func(b *testing.B) {
				for b.Loop() {
					req := httptest.NewRequest(http.MethodPost, "/v1/verify", nil)
					req.RemoteAddr = "192.0.2.1:1234"
					req.Header.Set("x-api-key", secret)
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Fatalf("status %d: %s", w.Code, w.Body)
					}
				}
			})
		}
	}
}

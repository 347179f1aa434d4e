package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/server"
)

// BenchmarkVerifyHTTP: what the HTTP layer costs a POST /v1/verify, in
// process on SQLite (no network, so net/http's connection handling is not
// in it): a good key, one of many so that the coalesced last uses and
// usage counts hold many keys as in service, and a malformed key, which is
// the whole path but the database read. The request log is on, written to
// io.Discard, as serve writes one line a request. Compare allocs/op and
// ns/op before and after a change to the middleware, verify or the
// answers; make bench-serve measures the server as a process.
func BenchmarkVerifyHTTP(b *testing.B) {
	st := openStore(b, "sqlite", nil)
	svc := &apikey.Service{Store: st}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := server.New(server.Config{Service: svc, Log: log, MaxFailedVerifies: apikey.Rate{Limit: 1 << 40, Per: 1}}).Handler()
	secrets := make([]string, 200)
	for i := range secrets {
		c, err := svc.Create(context.Background(), apikey.CreateInput{Name: "bench", Actor: "bench", Permissions: []string{"read"}})
		if err != nil {
			b.Fatal(err)
		}
		secrets[i] = c.Secret.String()
	}
	// As Serve does: the verify statements prepared once.
	if p, ok := st.(interface{ PrepareHot(context.Context) error }); ok {
		if err := p.PrepareHot(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	malformed := secrets[0][:len(secrets[0])-1] + "!"
	for _, c := range []struct {
		name   string
		key    func(i int) string
		status int
	}{
		{"valid", func(i int) string { return secrets[i%len(secrets)] }, http.StatusOK},
		{"malformed", func(int) string { return malformed }, http.StatusUnauthorized},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/v1/verify", nil)
				req.RemoteAddr = "192.0.2.1:1234"
				req.Header.Set("x-api-key", c.key(i))
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != c.status {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
				i++
			}
		})
	}
}

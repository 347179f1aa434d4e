package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/server"
	"github.com/keyadm/keyadm/internal/store"
	"github.com/keyadm/keyadm/internal/store/storetest"
)

// harness is a real keyadm server on a loopback port, on a fresh store of
// one engine, with a settable clock and a captured request log.
type harness struct {
	t     *testing.T
	base  string
	clock *storetest.Clock
	store apikey.Store
	svc   *apikey.Service
	logs  *syncBuffer
	stop  func() error
}

// eachEngine runs fn against a fresh server on SQLite, and on PostgreSQL
// when KEYADM_TEST_POSTGRES is set (skipped otherwise).
func eachEngine(t *testing.T, fn func(t *testing.T, h *harness)) {
	eachEngineWith(t, server.Config{}, fn)
}

func eachEngineWith(t *testing.T, cfg server.Config, fn func(t *testing.T, h *harness)) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) { fn(t, start(t, engine, cfg)) })
	}
}

// openStore opens a fresh, migrated store of an engine on clock.
func openStore(t testing.TB, engine string, clock func() time.Time) apikey.Store {
	t.Helper()
	u := filepath.Join(t.TempDir(), "keyadm.db")
	if engine == "postgres" {
		u = storetest.PostgresURL(t)
	}
	db, err := store.Open(context.Background(), u, store.Options{Migrate: true, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// start serves a fresh store of the engine on 127.0.0.1:0 until the test
// ends (or h.stop).
func start(t *testing.T, engine string, cfg server.Config) *harness {
	t.Helper()
	h := &harness{t: t, clock: storetest.NewClock(), logs: &syncBuffer{}}
	h.store = openStore(t, engine, h.clock.Now)
	h.svc = &apikey.Service{Store: h.store}
	cfg.Service = h.svc
	cfg.Log = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.base = "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.New(cfg).Serve(ctx, ln) }()
	var once sync.Once
	var serveErr error
	h.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case serveErr = <-done:
			case <-time.After(20 * time.Second):
				t.Error("the server did not stop")
			}
		})
		return serveErr
	}
	t.Cleanup(func() {
		if err := h.stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	// Ready once it answers (it prepares its statements first).
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(h.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server does not answer: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return h
}

// key creates a key through the service and returns its id and secret.
func (h *harness) key(in apikey.CreateInput) (id, secret string) {
	h.t.Helper()
	if in.Name == "" {
		in.Name = "test-key"
	}
	in.Actor = "tester"
	c, err := h.svc.Create(context.Background(), in)
	if err != nil {
		h.t.Fatal(err)
	}
	return c.Key.ID, c.Secret.String()
}

// admin creates an admin key of a tenant.
func (h *harness) admin(tenant string) (id, secret string) {
	return h.key(apikey.CreateInput{TenantID: tenant, Name: "admin", Permissions: []string{"admin"}})
}

// get reads a key straight from the store.
func (h *harness) get(id string) *apikey.Key {
	h.t.Helper()
	k, _, err := h.svc.Get(context.Background(), "", id)
	if err != nil {
		h.t.Fatal(err)
	}
	return k
}

// opt shapes a request.
type opt func(*http.Request)

func withKey(k string) opt { return func(r *http.Request) { r.Header.Set("x-api-key", k) } }

func withBearer(k string) opt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+k) }
}

func withHeader(name, value string) opt {
	return func(r *http.Request) { r.Header.Add(name, value) }
}

// withBody sends a body of a media type.
func withBody(contentType, body string) opt {
	return func(r *http.Request) {
		r.Body = io.NopCloser(strings.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Type", contentType)
	}
}

func withJSON(body string) opt  { return withBody("application/json", body) }
func withPatch(body string) opt { return withBody("application/json-patch+json", body) }

// response is an answer, read whole.
type response struct {
	status int
	header http.Header
	body   string
}

// do sends a request to the server; path may be a link it gave.
func (h *harness) do(method, path string, opts ...opt) response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.base+path, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	// Every answer the tests receive holds to openapi.yaml.
	if err := specMismatch(req, resp.StatusCode, resp.Header, b); err != nil {
		h.t.Fatalf("%s %s: %v", method, shortPath(path), err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// want checks the status and decodes the body into v (when not nil).
func (r response) want(t *testing.T, status int, v any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(r.body), v); err != nil {
			t.Fatalf("body is not the JSON expected: %v: %s", err, r.body)
		}
	}
}

// problem is an error response's one error object.
type problem struct {
	Code, Title, Detail string
	Status              int
	Meta                struct {
		RequestID string   `json:"requestId"`
		Missing   []string `json:"missing"`
	}
	Source *struct {
		Pointer   string `json:"pointer"`
		Parameter string `json:"parameter"`
	}
}

// wantError checks an error response: the status, the code, and the shape
// {"errors":[{"code","title","detail","status","meta","source"}]} with
// nothing else, status an integer, meta holding the request's id.
func (r response) wantError(t *testing.T, status int, code string) problem {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q: %s", ct, r.body)
	}
	var body struct {
		Errors []problem `json:"errors"`
	}
	dec := json.NewDecoder(strings.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || len(body.Errors) != 1 {
		t.Fatalf("not one error object: %v: %s", err, r.body)
	}
	p := body.Errors[0]
	if p.Code != code || p.Status != status || p.Title == "" || p.Detail == "" ||
		p.Meta.RequestID == "" || p.Meta.RequestID != r.header.Get("X-Request-Id") {
		t.Fatalf("error %+v, want code %q and status %d", p, code, status)
	}
	return p
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// shortPath is a request path cut for a message.
func shortPath(p string) string {
	if len(p) > 120 {
		return p[:120] + "…"
	}
	return p
}

package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/server"
)

// raw sends bytes on a fresh connection and reads one response; writing
// goes on in the background, since the server may answer before reading
// everything (and then close).
func (h *harness) raw(t *testing.T, write func(w io.Writer)) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	go write(conn)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	resp.Body.Close()
	return resp
}

// TestGarbageGets4xx: huge bodies, bad JSON, bad headers, bad request
// lines and wrong methods get a 4xx, and the server keeps serving.
func TestGarbageGets4xx(t *testing.T) {
	eachEngineWith(t, server.Config{MaxBodyBytes: 4 << 10}, func(t *testing.T, h *harness) {
		_, admin := h.admin("acme")
		_, secret := h.key(apikey.CreateInput{TenantID: "acme"})

		checkGarbageBodies(t, h, admin, secret)

		for _, c := range []struct{ method, path, allow string }{
			{"PUT", "/v1/api-keys", "GET, POST"}, {"DELETE", "/v1/verify", "POST"}, {"POST", "/healthz", "GET"},
			{"DELETE", "/metrics", "GET"}, {"TRACE", "/v1/api-keys/configs/acme", "GET, PATCH"}, {"BREW", "/v1/verify", "POST"},
		} {
			r := h.do(c.method, c.path, withKey(admin))
			r.wantError(t, http.StatusMethodNotAllowed, "method_not_allowed")
			if r.header.Get("Allow") != c.allow {
				t.Fatalf("%s %s: Allow %q, want %q", c.method, c.path, r.header.Get("Allow"), c.allow)
			}
		}
		for _, path := range []string{"/", "/v2/verify", "/v1/api-keys/", "/v1/api-keys/a/b/c", "/" + secret} {
			r := h.do("GET", path, withKey(admin))
			r.wantError(t, http.StatusNotFound, "not_found")
			if strings.Contains(r.body, secret) {
				t.Fatalf("a 404 echoes a key: %s", r.body)
			}
		}

		// Headers: binary, huge, malformed; request lines that are not HTTP.
		h.do("POST", "/v1/verify", withHeader("x-api-key", "qapi_\xff\xfe\tgarbage")).wantError(t, http.StatusUnauthorized, "malformed")
		h.do("POST", "/v1/verify", withKey(strings.Repeat("k", 10000))).wantError(t, http.StatusUnauthorized, "malformed")
		for name, req := range map[string]string{
			"huge header":    "POST /v1/verify HTTP/1.1\r\nHost: x\r\nx-api-key: " + strings.Repeat("k", 1<<20) + "\r\n\r\n",
			"control char":   "POST /v1/verify HTTP/1.1\r\nHost: x\r\nx-api-key: a\x00b\r\n\r\n",
			"no colon":       "POST /v1/verify HTTP/1.1\r\nHost: x\r\nthis is not a header\r\n\r\n",
			"no host":        "POST /v1/verify HTTP/1.1\r\n\r\n",
			"bad length":     "POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
			"not http":       "HELLO THERE\r\n\r\n",
			"binary":         "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
			"bad method":     "G@T /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
			"bad chunk size": "POST /v1/api-keys HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\nx-api-key: " + admin + "\r\n\r\nzz\r\n",
		} {
			resp := h.raw(t, func(w io.Writer) { io.WriteString(w, req) })
			if resp.StatusCode < 400 || resp.StatusCode > 499 {
				t.Fatalf("%s: status %d", name, resp.StatusCode)
			}
		}

		// Still serving.
		h.do("POST", "/v1/verify", withKey(secret)).want(t, http.StatusOK, nil)
		h.do("GET", "/healthz").want(t, http.StatusOK, nil)
	})
}

// checkGarbageBodies: bodies over the limit (announced, chunked without
// end, or plain) are a 413, and bad JSON is a 400.
func checkGarbageBodies(t *testing.T, h *harness, admin, secret string) {
	t.Helper()
	// A body announced over the limit is refused before it is sent.
	resp := h.raw(t, func(w io.Writer) {
		fmt.Fprintf(w, "POST /v1/api-keys HTTP/1.1\r\nHost: x\r\nx-api-key: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", admin, 1<<30)
	})
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("announced 1 GiB: %d", resp.StatusCode)
	}
	// A chunked body that never ends is cut at the limit.
	for _, path := range []string{"/v1/api-keys", "/v1/api-keys/configs/acme"} {
		resp = h.raw(t, func(w io.Writer) {
			method := map[bool]string{true: "POST", false: "PATCH"}[path == "/v1/api-keys"]
			fmt.Fprintf(w, "%s %s HTTP/1.1\r\nHost: x\r\nx-api-key: %s\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", method, path, admin)
			chunk := `{"name":"` + strings.Repeat("a", 1000)
			for range 1000 {
				if _, err := fmt.Fprintf(w, "%x\r\n%s\r\n", len(chunk), chunk); err != nil {
					return
				}
				chunk = strings.Repeat("a", 1000)
			}
		})
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("endless chunked body on %s: %d", path, resp.StatusCode)
		}
	}
	h.do("POST", "/v1/api-keys", withKey(admin), withJSON(`{"name":"x","description":"`+strings.Repeat("d", 5000)+`"}`)).
		wantError(t, http.StatusRequestEntityTooLarge, "too_large")
	// Verify reads its optional body as strictly as any route.
	h.do("POST", "/v1/verify", withKey(secret), withJSON(strings.Repeat("x", 3000))).wantError(t, http.StatusBadRequest, "invalid")

	for _, body := range []string{"\x00\x01\x02", `{"name":"x"`, `{"name":"\xff"}`, `{{{{`, strings.Repeat("[", 3000)} {
		h.do("POST", "/v1/api-keys", withKey(admin), withJSON(body)).wantError(t, http.StatusBadRequest, "invalid")
	}
}

// TestRequestLogHasNoSecrets: one log line per request, with the route,
// status and key id, and never a key or an Authorization header, whatever
// the client puts where.
func TestRequestLogHasNoSecrets(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		adminID, admin := h.admin("acme")
		id, secret := h.key(apikey.CreateInput{TenantID: "acme"})
		typo := secret[:10] + flip(secret[10]) + secret[11:]
		h.do("POST", "/v1/verify", withKey(secret)).want(t, http.StatusOK, nil)
		h.do("POST", "/v1/verify", withBearer(secret)).want(t, http.StatusOK, nil)
		h.do("POST", "/v1/verify", withBearer(typo)).wantError(t, http.StatusUnauthorized, "malformed")
		var created map[string]any
		h.do("POST", "/v1/api-keys", withKey(admin), withJSON(`{"name":"made"}`)).want(t, http.StatusCreated, &created)
		h.do("GET", "/v1/verify/"+secret, withKey(secret)).wantError(t, http.StatusNotFound, "not_found")
		// A client's request id comes back and is logged; one that is not
		// sane (too long, a key, two of them) is replaced by a new UUID.
		if r := h.do("GET", "/healthz", withHeader("X-Request-Id", "trace-42.a:b")); r.header.Get("X-Request-Id") != "trace-42.a:b" {
			t.Fatalf("X-Request-Id %q, want the client's", r.header.Get("X-Request-Id"))
		}
		uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
		for _, opts := range [][]opt{nil, {withHeader("X-Request-Id", strings.Repeat("x", 129))},
			{withHeader("X-Request-Id", "a b")}, {withHeader("X-Request-Id", "a"), withHeader("X-Request-Id", "b")}} {
			r := h.do("GET", "/healthz", opts...)
			if id := r.header.Get("X-Request-Id"); !uuidRE.MatchString(id) {
				t.Fatalf("X-Request-Id %q, want a new UUID", id)
			}
		}
		h.do("GET", "/v1/api-keys?key="+secret, withKey(admin)).wantError(t, http.StatusBadRequest, "invalid")
		// refused (a secret is stored nowhere), and not logged either
		h.do("PATCH", "/v1/api-keys/"+id, withKey(admin), withPatch(`[{"op":"replace","path":"/name","value":"`+secret+`"}]`)).
			wantError(t, http.StatusBadRequest, "invalid")
		if err := h.stop(); err != nil {
			t.Fatal(err)
		}
		logs := h.logs.String()
		for _, s := range []string{secret, typo, admin, created["token"].(string), secret[5:20], "Bearer", "bearer", "Authorization", "authorization", "x-api-key"} {
			if strings.Contains(logs, s) {
				t.Fatalf("the log holds %q:\n%s", s, logs)
			}
		}
		for _, re := range []string{
			`msg=request method=POST route=/v1/verify path=/v1/verify status=200 .* key_id=` + id + ` outcome=valid`,
			`msg=request method=POST route=/v1/verify path=/v1/verify status=401 .* outcome=malformed`,
			`msg=request method=POST route=/v1/api-keys path=/v1/api-keys status=201 .* key_id=` + adminID,
			`msg=request method=GET route=unmatched path=/v1/verify/qapi_\[redacted\] status=404`,
			`msg="last uses written" keys=2`,
			`msg=request method=GET route=/healthz path=/healthz status=200 .* request_id=trace-42.a:b`,
			`msg=request method=POST route=/v1/verify .* request_id=[0-9a-f-]{36}`,
		} {
			if !regexp.MustCompile(re).MatchString(logs) {
				t.Fatalf("no log line matches %s:\n%s", re, logs)
			}
		}
	})
}

// TestErrorsEchoNoSecret: a key pasted where an id, a cursor or a value
// belongs is refused without coming back in the error.
func TestErrorsEchoNoSecret(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		_, admin := h.admin("acme")
		_, secret := h.key(apikey.CreateInput{TenantID: "acme"})
		for _, r := range []response{
			h.do("GET", "/v1/api-keys/"+secret, withKey(admin)),
			h.do("DELETE", "/v1/api-keys/"+secret, withKey(admin)),
			h.do("PATCH", "/v1/api-keys/"+secret, withKey(admin), withPatch(`[{"op":"replace","path":"/name","value":"x"}]`)),
			h.do("GET", "/v1/api-keys?startingAfter="+secret, withKey(admin)),
			h.do("GET", "/v1/api-keys?limit="+secret, withKey(admin)),
			h.do("GET", "/v1/api-keys?sort="+secret, withKey(admin)),
			h.do("GET", "/v1/api-keys?"+secret+"=1", withKey(admin)),
			h.do("GET", "/v1/api-keys/configs/"+secret, withKey(admin)),
			h.do("POST", "/v1/api-keys", withKey(admin), withJSON(`{"name":"x","expiry":"`+secret+`"}`)),
			h.do("POST", "/v1/api-keys", withKey(admin), withJSON(`{"name":"x","`+secret+`":1}`)),
			h.do("PATCH", "/v1/api-keys/configs/acme", withKey(admin), withJSON(`{"key_prefix":"`+secret+`"}`)),
		} {
			if r.status < 400 || r.status >= 500 {
				t.Fatalf("status %d, want a 4xx: %s", r.status, r.body)
			}
			// No 12 characters of the secret, anywhere in the answer.
			for i := 5; i+12 <= len(secret); i++ {
				if strings.Contains(r.body, secret[i:i+12]) {
					t.Fatalf("the error echoes part of the secret: %s", r.body)
				}
			}
		}
	})
}

// TestLastUse: uses are coalesced in memory, written at the interval, and
// written on shutdown when the interval has not come.
func TestLastUse(t *testing.T) {
	t.Run("flushed on shutdown", func(t *testing.T) {
		eachEngineWith(t, server.Config{TouchInterval: time.Hour}, func(t *testing.T, h *harness) {
			id, secret := h.key(apikey.CreateInput{})
			adminID, admin := h.admin("default")
			for range 5 {
				h.clock.Advance(time.Minute)
				h.do("POST", "/v1/verify", withKey(secret)).want(t, http.StatusOK, nil)
			}
			h.do("GET", "/v1/api-keys", withKey(admin)).want(t, http.StatusOK, nil)
			last := h.clock.Now()
			if k := h.get(id); k.LastUsedAt != nil {
				t.Fatalf("last use written before the interval: %v", k.LastUsedAt)
			}
			h.clock.Advance(time.Minute)
			if err := h.stop(); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{id, adminID} {
				if k := h.get(id); k.LastUsedAt == nil || !k.LastUsedAt.Equal(last) {
					t.Fatalf("last use of %s after shutdown: %v, want %v", id, k.LastUsedAt, last)
				}
			}
		})
	})
	t.Run("written at the interval", func(t *testing.T) {
		eachEngineWith(t, server.Config{TouchInterval: 20 * time.Millisecond}, func(t *testing.T, h *harness) {
			id, secret := h.key(apikey.CreateInput{})
			h.do("POST", "/v1/verify", withKey(secret)).want(t, http.StatusOK, nil)
			want := h.clock.Now()
			deadline := time.Now().Add(10 * time.Second)
			for h.get(id).LastUsedAt == nil {
				if time.Now().After(deadline) {
					t.Fatal("last use not written at the interval")
				}
				time.Sleep(10 * time.Millisecond)
			}
			if got := h.get(id).LastUsedAt; !got.Equal(want) {
				t.Fatalf("last use %v, want %v", got, want)
			}
			metrics := h.do("GET", "/metrics").body
			if !strings.Contains(metrics, `keyadm_last_use_writes_total{result="ok"} 1`) {
				t.Fatalf("metrics:\n%s", grep(metrics, "keyadm_last_use"))
			}
		})
	})
}

// TestGracefulShutdown: a request in flight when shutdown begins is
// answered; the listener closes at once; Serve returns nil.
func TestGracefulShutdown(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		_, admin := h.admin("acme")
		body, feed := io.Pipe()
		req, err := http.NewRequest("POST", h.base+"/v1/api-keys", body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("x-api-key", admin)
		req.Header.Set("Content-Type", "application/json")
		answered := make(chan *http.Response, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				close(answered)
				return
			}
			resp.Body.Close()
			answered <- resp
		}()
		io.WriteString(feed, `{"name":"in-`)
		waitFor(t, "the request to be in flight", func() bool {
			return strings.Contains(h.do("GET", "/metrics").body, "keyadm_http_requests_in_flight 2")
		})
		stopped := make(chan error, 1)
		go func() { stopped <- h.stop() }()
		waitFor(t, "the listener to close", func() bool {
			conn, err := net.Dial("tcp", strings.TrimPrefix(h.base, "http://"))
			if err == nil {
				conn.Close()
			}
			return err != nil
		})
		select {
		case err := <-stopped:
			t.Fatalf("Serve returned with a request in flight: %v", err)
		default:
		}
		io.WriteString(feed, `flight"}`)
		feed.Close()
		select {
		case resp := <-answered:
			if resp == nil || resp.StatusCode != http.StatusCreated {
				t.Fatalf("the request in flight was not answered: %v", resp)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the request in flight was not answered")
		}
		select {
		case err := <-stopped:
			if err != nil {
				t.Fatalf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Serve did not return after the last request")
		}
		p, err := h.svc.List(context.Background(), apikey.ListInput{Filter: apikey.KeyFilter{TenantID: "acme"}})
		if err != nil || len(p.Keys) != 2 || p.Keys[0].Name != "in-flight" {
			t.Fatalf("keys after shutdown: %v %v", p, err)
		}
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// grep returns the lines of text that contain s.
func grep(text, s string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// TestHealthAndMetrics: /healthz says ok; /metrics counts requests by
// route and code, verify results by outcome, and latencies, in the
// Prometheus text format.
func TestHealthAndMetrics(t *testing.T) {
	eachEngine(t, func(t *testing.T, h *harness) {
		var health map[string]string
		h.do("GET", "/healthz").want(t, http.StatusOK, &health)
		if len(health) != 1 || health["status"] != "ok" {
			t.Fatalf("healthz: %v", health)
		}
		h.do("HEAD", "/healthz").want(t, http.StatusOK, nil)
		_, secret := h.key(apikey.CreateInput{})
		for range 3 {
			h.do("POST", "/v1/verify", withKey(secret)).want(t, http.StatusOK, nil)
		}
		h.do("POST", "/v1/verify").wantError(t, http.StatusUnauthorized, "missing")
		h.do("POST", "/v1/verify", withKey("qapi_x")).wantError(t, http.StatusUnauthorized, "malformed")
		h.do("GET", "/nowhere").wantError(t, http.StatusNotFound, "not_found")
		r := h.do("GET", "/metrics")
		r.want(t, http.StatusOK, nil)
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
			t.Fatalf("Content-Type %q", ct)
		}
		for _, line := range []string{
			`keyadm_http_requests_total{code="200",method="POST",route="/v1/verify"} 3`,
			`keyadm_http_requests_total{code="401",method="POST",route="/v1/verify"} 2`,
			`keyadm_http_requests_total{code="200",method="GET",route="/healthz"} 2`, // with the harness's readiness probe
			`keyadm_http_requests_total{code="200",method="HEAD",route="/healthz"} 1`,
			`keyadm_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
			`keyadm_verify_total{outcome="valid"} 3`,
			`keyadm_verify_total{outcome="missing"} 1`,
			`keyadm_verify_total{outcome="malformed"} 1`,
			`keyadm_http_request_duration_seconds_count{route="/v1/verify"} 5`,
			`keyadm_http_request_duration_seconds_bucket{route="/v1/verify",le="+Inf"} 5`,
			`keyadm_last_use_pending 1`,
			`keyadm_http_requests_in_flight 1`,
			`go_goroutines `,
		} {
			if !strings.Contains(r.body, line) {
				t.Fatalf("no %s in\n%s", line, grep(r.body, "keyadm_"))
			}
		}
	})
}

// panicky is a store whose reads panic, like a bug below the server.
type panicky struct{ apikey.Store }

func (panicky) Peek(context.Context, func(apikey.Tx) error) error { panic("boom") }
func (panicky) View(context.Context, func(apikey.Tx) error) error { panic("boom") }

// TestPanicIs500: a panic below a handler is a JSON 500, logged, and the
// server goes on serving.
func TestPanicIs500(t *testing.T) {
	st := openStore(t, "sqlite", nil)
	logs := &syncBuffer{}
	srv := server.New(server.Config{Service: &apikey.Service{Store: panicky{st}}, Log: slog.New(slog.NewTextHandler(logs, nil))})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	h := &harness{t: t, base: ts.URL}
	secret, err := apikey.GenerateSecret(nil, "qapi")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		r := h.do("POST", "/v1/verify", withKey(secret.String()))
		r.wantError(t, http.StatusInternalServerError, "internal")
		if strings.Contains(r.body, "boom") {
			t.Fatalf("the answer shows the panic: %s", r.body)
		}
	}
	h.do("GET", "/healthz").wantError(t, http.StatusInternalServerError, "internal")
	h.do("GET", "/metrics").want(t, http.StatusOK, nil)
	if !strings.Contains(logs.String(), `msg=panic route=/v1/verify panic=boom`) {
		t.Fatalf("the panic is not logged:\n%s", logs)
	}
}

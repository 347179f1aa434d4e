package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/server"
	"github.com/keyadm/keyadm/internal/store/storetest"
)

// TestLoadVerify is a load benchmark, not a timed test: it runs only with
// KEYADM_BENCH_SERVE=1.
//
//	KEYADM_BENCH_SERVE=1 go test -run TestLoadVerify -v -count=1 -timeout 30m ./internal/server/
//
// With 100,000 real keys in a store (SQLite; KEYADM_BENCH_ENGINE=postgres
// for PostgreSQL, KEYADM_BENCH_KEYS and KEYADM_BENCH_SECONDS to change the
// size and length), it measures the peak throughput of POST /v1/verify on
// loopback, each request with a random one of the keys, beside a trivial
// net/http handler measured in the same run with the same requests, and
// beside verify with malformed keys (the whole server path but the database
// read). Then, at half of verify's peak, open-loop, the latencies of the
// three (the trivial handler's show what the generator and the machine add).
// Goals: verify at least half the trivial handler's throughput, p99 under
// 5 ms at half of peak.
func TestLoadVerify(t *testing.T) {
	if os.Getenv("KEYADM_BENCH_SERVE") != "1" {
		t.Skip("load benchmark: set KEYADM_BENCH_SERVE=1 to run it")
	}
	engine := envOr("KEYADM_BENCH_ENGINE", "sqlite")
	nKeys := envInt(t, "KEYADM_BENCH_KEYS", 100_000)
	seconds := envInt(t, "KEYADM_BENCH_SECONDS", 5)
	const workers = 64
	ctx := context.Background()

	st := openStore(t, engine, nil)
	secrets := make([]string, nKeys)
	began := time.Now()
	err := storetest.Seed(ctx, st, nKeys, func(i int, k *apikey.Key, _ []byte) []byte {
		s, err := apikey.GenerateSecret(nil, apikey.DefaultPrefix)
		if err != nil {
			t.Fatal(err)
		}
		secrets[i], k.Hint = s.String(), s.Hint()
		return s.Hash()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded %d keys on %s in %s", nKeys, engine, time.Since(began).Round(time.Millisecond))

	// The request log is formatted as in production, then thrown away.
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	verifyURL, stopVerify := serveOn(t, func(ctx context.Context, ln net.Listener) error {
		return server.New(server.Config{Service: &apikey.Service{Store: st}, Log: log}).Serve(ctx, ln)
	})
	trivialURL, stopTrivial := serveOn(t, func(ctx context.Context, ln net.Listener) error {
		hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"ok":true}`+"\n")
		})}
		go func() { <-ctx.Done(); hs.Close() }()
		if err := hs.Serve(ln); err != http.ErrServerClosed {
			return err
		}
		return nil
	})
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns: 512, MaxIdleConnsPerHost: 512, DisableCompression: true,
	}}
	lg := &loadGen{t: t, client: client}
	malformed := make([]string, len(secrets))
	for i, s := range secrets {
		malformed[i] = s[:len(s)-1] + map[bool]string{true: "b", false: "a"}[s[len(s)-1] == 'a']
	}
	trivialT := target{trivialURL, secrets, http.StatusOK}
	verifyT := target{verifyURL + "/v1/verify", secrets, http.StatusOK}
	noReadT := target{verifyURL + "/v1/verify", malformed, http.StatusUnauthorized}

	d := time.Duration(seconds) * time.Second
	lg.closedLoop(trivialT, workers, time.Second) // warm up
	lg.closedLoop(verifyT, workers, time.Second)
	var trivial, verify, noRead float64
	for range 2 { // interleaved, best of two, so drift hits each alike
		trivial = max(trivial, lg.closedLoop(trivialT, workers, d))
		verify = max(verify, lg.closedLoop(verifyT, workers, d))
		noRead = max(noRead, lg.closedLoop(noReadT, workers, d))
	}
	lat := lg.openLoop(verifyT, verify/2, d)
	// The same load on the trivial handler: what the generator and the
	// machine add to every latency.
	control := lg.openLoop(trivialT, verify/2, d)
	noReadLat := lg.openLoop(noReadT, verify/2, d)
	if err := stopVerify(); err != nil {
		t.Errorf("verify server: %v", err)
	}
	if err := stopTrivial(); err != nil {
		t.Errorf("trivial server: %v", err)
	}

	ratio, p99 := verify/trivial, percentile(lat, 99)
	report := fmt.Sprintf(`
load benchmark: %s, %d keys, %d workers, %s per run, GOMAXPROCS %d
  trivial net/http handler                     %7.0f req/s
  POST /v1/verify                              %7.0f req/s   ratio %.2f (goal >= 0.50: %s)
  POST /v1/verify, malformed key (no db read)  %7.0f req/s   ratio %.2f
  at half of verify's peak (%.0f req/s, open loop, %d requests each):
    POST /v1/verify            p50 %-9s p99 %-9s max %-9s (goal p99 < 5ms: %s)
    malformed key (no db read) p50 %-9s p99 %-9s max %s
    trivial net/http handler   p50 %-9s p99 %-9s max %s
`, engine, nKeys, workers, d, runtime.GOMAXPROCS(0), trivial, verify, ratio, verdict(ratio >= 0.5),
		noRead, noRead/trivial, verify/2, len(lat),
		percentile(lat, 50), p99, percentile(lat, 100), verdict(p99 < 5*time.Millisecond),
		percentile(noReadLat, 50), percentile(noReadLat, 99), percentile(noReadLat, 100),
		percentile(control, 50), percentile(control, 99), percentile(control, 100))
	t.Log(report)
	fmt.Print(report)
	if n := lg.failures.Load(); n > 0 {
		t.Errorf("%d requests failed", n)
	}
}

// target is what a load generator sends: POST url, with a random key of
// keys, expecting status.
type target struct {
	url    string
	keys   []string
	status int
}

// loadGen sends requests and counts those that failed.
type loadGen struct {
	t        *testing.T
	client   *http.Client
	failures atomic.Int64
}

// send makes one request and reports whether it got the expected status.
func (g *loadGen) send(tg target, rng *rand.Rand) bool {
	req, err := http.NewRequest(http.MethodPost, tg.url, nil)
	if err != nil {
		g.t.Fatal(err)
	}
	req.Header.Set("x-api-key", tg.keys[rng.IntN(len(tg.keys))])
	resp, err := g.client.Do(req)
	if err != nil {
		g.failures.Add(1)
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != tg.status {
		g.failures.Add(1)
		return false
	}
	return true
}

// closedLoop keeps workers requests in flight for d and returns the
// throughput: the peak the server sustains.
func (g *loadGen) closedLoop(tg target, workers int, d time.Duration) float64 {
	var done atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			for time.Now().Before(deadline) {
				if g.send(tg, rng) {
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds()
}

// openLoop sends requests at a fixed rate for d, whatever the answers take,
// and returns their latencies. Request i is due at start + i/rate; a pool
// of senders takes turns, each sleeping until its next request is due. A
// sender that wakes late (timers are coarse) counts from when it woke: the
// generator's lateness is not the server's. A sender still busy with its
// previous request when the next is due counts from the due time, so a
// slow server is charged for the requests it kept waiting.
func (g *loadGen) openLoop(tg target, rate float64, d time.Duration) []time.Duration {
	const senders = 256
	interval := time.Duration(float64(time.Second) / rate)
	n := int(d / interval)
	lat := make([]time.Duration, 0, n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now().Add(10 * time.Millisecond)
	for w := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var mine []time.Duration
			for i := w; i < n; i += senders {
				from := start.Add(time.Duration(i) * interval)
				if wait := time.Until(from); wait > 0 {
					time.Sleep(wait)
					from = time.Now()
				}
				g.send(tg, rng)
				mine = append(mine, time.Since(from))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	return lat
}

func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, len(sorted)*p/100)].Round(time.Microsecond)
}

// serveOn runs serve on a loopback port; stop ends it and waits.
func serveOn(t *testing.T, serve func(context.Context, net.Listener) error) (string, func() error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln) }()
	return "http://" + ln.Addr().String(), func() error { cancel(); return <-done }
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive whole number", name, v)
	}
	return n
}

package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/store"
	"github.com/keyadm/keyadm/internal/store/storetest"
)

// TestServe is the serve load benchmark (`make bench-serve`), not a timed
// test: it runs only with KEYADM_BENCH_SERVE=1 and KEYADM_BIN.
//
// Three processes: `keyadm serve` on a database of 100,000 real keys
// (ANALYZEd before the server starts, as one in service is), a trivial
// net/http server (testdata/trivial, built here the way keyadm is), and the
// load generator (testdata/loadgen). With two or more CPUs the servers run
// on CPU 0 and the generator on CPU 1 (taskset; KEYADM_BENCH_PIN=0 turns it
// off), and on PostgreSQL the backends serving keyadm serve on CPU 0 with
// it (pinBackends says why). It measures the peak throughput of POST /v1/verify, each request
// with a random one of the keys, beside the trivial handler's and beside
// verify with malformed keys (the whole path but the database read), best
// of two interleaved runs; then, open loop at half of verify's peak, the
// latencies of the three. Goals (issue 17): verify ≥ 0.5× the trivial
// handler; at half of peak, p99 ≤ 2× the trivial handler's p99 and < 5 ms.
// With limits in keyadm, each engine also measures verify of keys with a
// rate limit and with credits beside as many keys without (issue 14).
// Then the standby case (serveBench.standby, issue 16): verify through one
// and two `serve --read-db` processes reading the test cluster's standby,
// beside verify on its primary; skipped without the cluster.
// Last the flush case (serveBench.flush): verify's latency over time,
// before, during and after serve's first flush.
// KEYADM_BENCH_ENGINE (sqlite, postgres, standby, flush; default sqlite,
// postgres when KEYADM_TEST_POSTGRES is set, standby and flush),
// KEYADM_BENCH_KEYS and KEYADM_BENCH_SECONDS change the cases, size and
// length.
func TestServe(t *testing.T) {
	if os.Getenv("KEYADM_BENCH_SERVE") != "1" {
		t.Skip("load benchmark: set KEYADM_BENCH_SERVE=1 (make bench-serve) to run it")
	}
	bin := os.Getenv("KEYADM_BIN")
	if bin == "" {
		t.Fatal("set KEYADM_BIN to a built keyadm (make bench-serve does)")
	}
	b := &serveBench{
		bin: bin, keys: envInt(t, "KEYADM_BENCH_KEYS", 100_000),
		d:       time.Duration(envInt(t, "KEYADM_BENCH_SECONDS", 5)) * time.Second,
		trivial: tool(t, "trivial"), loadgen: tool(t, "loadgen"), pin: "not pinned",
	}
	if runtime.NumCPU() >= 2 {
		b.serverCPU, b.genCPU = "0", "1"
		if os.Getenv("KEYADM_BENCH_PIN") != "0" {
			b.pin = "servers on CPU 0, generator on CPU 1"
		}
	}
	list := append(engines(), "standby", "flush")
	if e := os.Getenv("KEYADM_BENCH_ENGINE"); e != "" {
		list = []string{e}
	}
	for _, engine := range list {
		t.Run(engine, func(t *testing.T) {
			switch engine {
			case "standby":
				b.standby(t)
				return
			case "flush":
				b.flush(t)
				return
			}
			b.engine(t, engine)
		})
	}
}

// serveBench is what TestServe's cases share: the programs, the size and
// length of a run, and where each process runs.
type serveBench struct {
	bin, trivial, loadgen string
	keys                  int
	d                     time.Duration
	serverCPU, genCPU     string // "" when not pinned
	pin                   string // says so, for the reports
}

// gen runs the load generator against url (several, comma separated,
// share the load) with the keys of a file, expecting status: closed loop
// when rate is 0, else open loop at rate. Failed requests fail the test.
func (b *serveBench) gen(t *testing.T, url, keys string, status int, rate float64, d time.Duration) genResult {
	t.Helper()
	args := []string{"-url", url, "-keys", keys, "-status", strconv.Itoa(status), "-d", d.String()}
	if rate > 0 {
		args = append(args, "-rate", fmt.Sprint(rate))
	}
	out, err := pinned(b.genCPU, b.loadgen, args...).Output()
	if err != nil {
		t.Fatalf("loadgen: %v", err)
	}
	var r genResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("loadgen: %v: %s", err, out)
	}
	if r.Failures > 0 {
		t.Errorf("%s: %d requests failed", url, r.Failures)
	}
	return r
}

// peaks measures each case's peak throughput, closed loop, in two
// interleaved rounds (so drift hits each alike), after a one-second warm
// up of each, and returns the best of the two rounds of each. each, when
// not nil, is told after every measured run which case ran and when.
func (b *serveBench) peaks(t *testing.T, cases []loadCase, each func(i int, from, to time.Time)) []float64 {
	t.Helper()
	for _, c := range cases {
		b.gen(t, c.url, c.keys, c.status, 0, time.Second)
	}
	best := make([]float64, len(cases))
	for range 2 {
		for i, c := range cases {
			from := time.Now()
			best[i] = max(best[i], b.gen(t, c.url, c.keys, c.status, 0, b.d).RPS)
			if each != nil {
				each(i, from, time.Now())
			}
		}
	}
	return best
}

// loadCase is one kind of load: where it goes, which keys, which answer.
type loadCase struct {
	url, keys string
	status    int
}

// engine is the single-database case: verify on the engine beside the
// trivial handler and beside malformed keys; then verify of a few hundred
// keys without a limit, with a rate limit and with credits (limitKeys).
func (b *serveBench) engine(t *testing.T, engine string) {
	url, keysFile, badFile := seedServe(t, serveDB(t, engine), b.keys)
	lim := b.limitKeys(t, url, keysFile)
	pin := b.pin
	if engine == "postgres" {
		url = withApp(t, url)
		pin += "; " + pinBackends(t, pgBase(), b.serverCPU)
	}
	serveArgs := []string{"--db", url, "serve", "--listen", "ADDR"}
	if hasFlag(b.bin, "serve", "--max-failed-verifies") {
		serveArgs = append(serveArgs, "--max-failed-verifies", limitRate)
	}
	trivialURL := startServer(t, pinned(b.serverCPU, b.trivial, "--listen", "ADDR"), "/")
	verifyURL := startServer(t, pinned(b.serverCPU, b.bin, serveArgs...), "/healthz")
	verifyPath := verifyURL + "/v1/verify"
	cases := []loadCase{{trivialURL, keysFile, 200}, {verifyPath, keysFile, 200}, {verifyPath, badFile, 401}}
	if lim.n > 0 {
		cases = append(cases, loadCase{verifyPath, lim.plain, 200}, loadCase{verifyPath, lim.rated, 200}, loadCase{verifyPath, lim.credits, 200})
	}
	p := b.peaks(t, cases, nil)
	trivial, verify, noRead := p[0], p[1], p[2]
	limits := "  limits: " + lim.why + "\n"
	if lim.n > 0 {
		// A limit's cost: the time it adds to each request at the server's
		// peak, against the same number of keys without one.
		plain, rated, credits := p[3], p[4], p[5]
		cost := func(rps float64) float64 { return (1/rps - 1/plain) * 1e6 }
		limits = fmt.Sprintf(`  limits, %d keys of each kind (never reached: %s, %s uses):
    no limit                                   %7.0f req/s   ratio %.2f
    rate-limited key                           %7.0f req/s   ratio %.2f, %.2fx no limit, %+.0fus a request
    key with credits                           %7.0f req/s   ratio %.2f, %.2fx no limit, %+.0fus a request
`, lim.n, limitRate, limitUses, plain, plain/trivial,
			rated, rated/trivial, rated/plain, cost(rated), credits, credits/trivial, credits/plain, cost(credits))
	}
	half := verify / 2
	lat := b.gen(t, verifyPath, keysFile, 200, half, b.d)
	control := b.gen(t, trivialURL, keysFile, 200, half, b.d)
	noReadLat := b.gen(t, verifyPath, badFile, 401, half, b.d)
	ratio := verify / trivial
	report := fmt.Sprintf(`
serve benchmark: %s, %d keys, separate processes (%s), %s per run, load %s
  trivial net/http process                     %7.0f req/s
  keyadm serve, POST /v1/verify                %7.0f req/s   ratio %.2f (goal >= 0.50: %s)
  keyadm serve, malformed key (no db read)     %7.0f req/s   ratio %.2f
%s  at half of verify's peak (%.0f req/s, open loop, %d requests each):
    POST /v1/verify            p50 %6.2fms p99 %6.2fms max %6.2fms (goal p99 <= 2x trivial's and < 5ms: %s)
    malformed key (no db read) p50 %6.2fms p99 %6.2fms max %6.2fms
    trivial net/http process   p50 %6.2fms p99 %6.2fms max %6.2fms
`, engine, b.keys, pin, b.d, loadAverage(), trivial, verify, ratio, verdict(ratio >= 0.5),
		noRead, noRead/trivial, limits, half, lat.Requests,
		lat.P50, lat.P99, lat.Max, verdict(lat.P99 <= 2*control.P99 && lat.P99 < 5),
		noReadLat.P50, noReadLat.P99, noReadLat.Max,
		control.P50, control.P99, control.Max)
	t.Log(report)
	fmt.Print(report)
}

type genResult struct {
	RPS           float64
	Requests      int
	Failures      int64
	P50, P99, Max float64 `json:",omitempty"`
}

func (r *genResult) UnmarshalJSON(b []byte) error {
	var raw struct {
		RPS      float64 `json:"rps"`
		Requests int     `json:"requests"`
		Failures int64   `json:"failures"`
		P50      float64 `json:"p50_ms"`
		P99      float64 `json:"p99_ms"`
		Max      float64 `json:"max_ms"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*r = genResult{raw.RPS, raw.Requests, raw.Failures, raw.P50, raw.P99, raw.Max}
	return nil
}

// serveDB is the URL of a new, empty database of the engine, removed when
// the test ends.
func serveDB(t *testing.T, engine string) string {
	if engine == "sqlite" {
		return filepath.Join(t.TempDir(), "serve.db")
	}
	return pgSchema(t, pgBase())
}

// pgSchema is the URL of a new schema on the PostgreSQL server at base,
// dropped when the test ends.
func pgSchema(t *testing.T, base string) string {
	u, drop, err := storetest.NewSchema(base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	return u
}

// seedServe fills the database at url with n keys, every secret known,
// analyses it, and returns its URL and two files for the generator: the
// keys, one a line, and the same keys with a broken checksum.
func seedServe(t *testing.T, url string, n int) (_, keys, bad string) {
	ctx := context.Background()
	db, err := store.OpenSQL(ctx, url, store.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	secrets := make([]string, n)
	began := time.Now()
	err = storetest.Seed(ctx, db, n, func(i int, k *apikey.Key, _ []byte) []byte {
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
	if _, err := db.RW.Exec(`ANALYZE`); err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded and analysed %d keys in %s", n, time.Since(began).Round(time.Millisecond))
	malformed := make([]string, n)
	for i, s := range secrets {
		last := byte('a')
		if s[len(s)-1] == 'a' {
			last = 'b'
		}
		malformed[i] = s[:len(s)-1] + string(last)
	}
	keys, bad = filepath.Join(t.TempDir(), "keys"), filepath.Join(t.TempDir(), "bad")
	for name, lines := range map[string][]string{keys: secrets, bad: malformed} {
		if err := os.WriteFile(name, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return url, keys, bad
}

// startServer starts cmd, its "ADDR" argument replaced by a free loopback
// port, waits until GET ready answers 200, and stops it when the test ends.
// Its output is discarded (keyadm serve logs one line per request, as in
// production).
func startServer(t *testing.T, cmd *exec.Cmd, ready string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	for i, a := range cmd.Args {
		if a == "ADDR" {
			cmd.Args[i] = addr
		}
	}
	cmd.Env = append(os.Environ(), "HOME="+tmpDir, "XDG_CONFIG_HOME="+tmpDir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	base := "http://" + addr
	for deadline := time.Now().Add(15 * time.Second); ; {
		resp, err := http.Get(base + ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer on %s: %v", cmd.Path, addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// loadAverage is the machine's load average (1, 5, 15 min), for the
// report: the machine may be shared.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
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

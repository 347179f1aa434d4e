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
// off). It measures the peak throughput of POST /v1/verify, each request
// with a random one of the keys, beside the trivial handler's and beside
// verify with malformed keys (the whole path but the database read), best
// of two interleaved runs; then, open loop at half of verify's peak, the
// latencies of the three. Goals (issue 17): verify ≥ 0.5× the trivial
// handler; at half of peak, p99 ≤ 2× the trivial handler's p99 and < 5 ms.
// KEYADM_BENCH_ENGINE (sqlite, postgres; default both when
// KEYADM_TEST_POSTGRES is set), KEYADM_BENCH_KEYS and KEYADM_BENCH_SECONDS
// change the engines, size and length.
func TestServe(t *testing.T) {
	if os.Getenv("KEYADM_BENCH_SERVE") != "1" {
		t.Skip("load benchmark: set KEYADM_BENCH_SERVE=1 (make bench-serve) to run it")
	}
	bin := os.Getenv("KEYADM_BIN")
	if bin == "" {
		t.Fatal("set KEYADM_BIN to a built keyadm (make bench-serve does)")
	}
	nKeys := envInt(t, "KEYADM_BENCH_KEYS", 100_000)
	seconds := envInt(t, "KEYADM_BENCH_SECONDS", 5)
	list := engines()
	if e := os.Getenv("KEYADM_BENCH_ENGINE"); e != "" {
		list = []string{e}
	}
	serverCPU, genCPU := "", ""
	if runtime.NumCPU() >= 2 {
		serverCPU, genCPU = "0", "1"
	}
	trivialBin, loadgen := tool(t, "trivial"), tool(t, "loadgen")
	for _, engine := range list {
		t.Run(engine, func(t *testing.T) {
			url, keysFile, badFile := seedServe(t, engine, nKeys)
			trivialURL := startServer(t, pinned(serverCPU, trivialBin, "--listen", "ADDR"), "/")
			verifyURL := startServer(t, pinned(serverCPU, bin, "--db", url, "serve", "--listen", "ADDR"), "/healthz")
			d := time.Duration(seconds) * time.Second
			gen := func(url, keys string, status int, rate float64, d time.Duration) genResult {
				args := []string{"-url", url, "-keys", keys, "-status", strconv.Itoa(status), "-d", d.String()}
				if rate > 0 {
					args = append(args, "-rate", fmt.Sprint(rate))
				}
				out, err := pinned(genCPU, loadgen, args...).Output()
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
			verifyPath := verifyURL + "/v1/verify"
			gen(trivialURL, keysFile, 200, 0, time.Second) // warm up
			gen(verifyPath, keysFile, 200, 0, time.Second)
			var trivial, verify, noRead float64
			for range 2 { // interleaved, best of two, so drift hits each alike
				trivial = max(trivial, gen(trivialURL, keysFile, 200, 0, d).RPS)
				verify = max(verify, gen(verifyPath, keysFile, 200, 0, d).RPS)
				noRead = max(noRead, gen(verifyPath, badFile, 401, 0, d).RPS)
			}
			half := verify / 2
			lat := gen(verifyPath, keysFile, 200, half, d)
			control := gen(trivialURL, keysFile, 200, half, d)
			noReadLat := gen(verifyPath, badFile, 401, half, d)
			ratio := verify / trivial
			pin := "not pinned"
			if serverCPU != "" && os.Getenv("KEYADM_BENCH_PIN") != "0" {
				pin = "servers on CPU " + serverCPU + ", generator on CPU " + genCPU
			}
			report := fmt.Sprintf(`
serve benchmark: %s, %d keys, separate processes (%s), %s per run, load %s
  trivial net/http process                     %7.0f req/s
  keyadm serve, POST /v1/verify                %7.0f req/s   ratio %.2f (goal >= 0.50: %s)
  keyadm serve, malformed key (no db read)     %7.0f req/s   ratio %.2f
  at half of verify's peak (%.0f req/s, open loop, %d requests each):
    POST /v1/verify            p50 %6.2fms p99 %6.2fms max %6.2fms (goal p99 <= 2x trivial's and < 5ms: %s)
    malformed key (no db read) p50 %6.2fms p99 %6.2fms max %6.2fms
    trivial net/http process   p50 %6.2fms p99 %6.2fms max %6.2fms
`, engine, nKeys, pin, d, loadAverage(), trivial, verify, ratio, verdict(ratio >= 0.5),
				noRead, noRead/trivial, half, lat.Requests,
				lat.P50, lat.P99, lat.Max, verdict(lat.P99 <= 2*control.P99 && lat.P99 < 5),
				noReadLat.P50, noReadLat.P99, noReadLat.Max,
				control.P50, control.P99, control.Max)
			t.Log(report)
			fmt.Print(report)
		})
	}
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

// seedServe makes a database of n keys, every secret known, analysed, and
// returns its URL and two files for the generator: the keys, one a line,
// and the same keys with a broken checksum.
func seedServe(t *testing.T, engine string, n int) (url, keys, bad string) {
	ctx := context.Background()
	switch engine {
	case "sqlite":
		url = filepath.Join(t.TempDir(), "serve.db")
	case "postgres":
		u, drop, err := storetest.NewSchema(pgBase())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(drop)
		url = u
	}
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
	t.Logf("seeded and analysed %d keys on %s in %s", n, engine, time.Since(began).Round(time.Millisecond))
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

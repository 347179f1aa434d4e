package bench

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// flushEvery is serve's default --touch-interval: its first flush falls
// due that long after it starts.
const flushEvery = time.Minute

// flush is the latency-over-time case (KEYADM_BENCH_ENGINE=flush): serve
// on SQLite, its peak measured, then open loop at half of it in windows of
// KEYADM_BENCH_SECONDS from then until the first flush (due a minute after
// the server started, writing every key used so far: most of the 100,000)
// has had flushEvery*4/5 to finish, each window's p50 and p99 reported
// with its offset from the server's start. One window per run, as the
// engine case measures, cannot tell a flush's effect from the machine's
// noise; this shows before, during and after.
func (b *serveBench) flush(t *testing.T) {
	url, keysFile, _ := seedServe(t, serveDB(t, "sqlite"), b.keys)
	serveArgs := []string{"--db", url, "serve", "--listen", "ADDR", "--max-failed-verifies", limitRate}
	verifyPath := startServer(t, pinned(b.serverCPU, b.bin, serveArgs...), "/healthz") + "/v1/verify"
	started := time.Now()
	peak := b.gen(t, verifyPath, keysFile, 200, 0, b.d).RPS
	rate := peak / 2
	var rows []string
	var before, during windowStats
	for time.Since(started) < flushEvery+flushEvery*4/5 {
		from := time.Since(started)
		r := b.gen(t, verifyPath, keysFile, 200, rate, b.d)
		rows = append(rows, fmt.Sprintf("    %5.0fs  p50 %8.2fms  p99 %8.2fms", from.Seconds(), r.P50, r.P99))
		if from+b.d <= flushEvery {
			before.add(r)
		} else {
			during.add(r)
		}
	}
	report := fmt.Sprintf(`
serve flush benchmark: sqlite, %d keys, %s, verify at half of its peak (%.0f of %.0f req/s), %s windows from the server's start (first flush due at %s), load %s
%s
  before the flush: worst p50 %.2fms, worst p99 %.2fms
  from the flush on: worst p50 %.2fms, worst p99 %.2fms, windows with p99 >= 5ms: %d of %d
`, b.keys, b.pin, rate, peak, b.d, flushEvery, loadAverage(), strings.Join(rows, "\n"),
		before.p50, before.p99, during.p50, during.p99, during.over, during.n)
	t.Log(report)
	fmt.Print(report)
}

// windowStats keeps the worst of several windows' latencies.
type windowStats struct {
	p50, p99 float64
	n, over  int
}

func (w *windowStats) add(r genResult) {
	w.p50, w.p99, w.n = max(w.p50, r.P50), max(w.p99, r.P99), w.n+1
	if r.P99 >= 5 {
		w.over++
	}
}

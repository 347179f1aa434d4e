// Command loadgen is the serve benchmark's load generator, a process of its
// own: POST url with a random key of a file in x-api-key, either closed loop
// (workers requests in flight, for the peak throughput) or open loop (a
// fixed rate, for latencies). -url may list several servers, comma
// separated: the workers (or senders) are shared out among them evenly. It
// prints one JSON object.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type result struct {
	RPS      float64 `json:"rps"`
	Requests int     `json:"requests"`
	Failures int64   `json:"failures"`
	P50      float64 `json:"p50_ms,omitempty"`
	P99      float64 `json:"p99_ms,omitempty"`
	Max      float64 `json:"max_ms,omitempty"`
}

func main() {
	url := flag.String("url", "", "URL to POST to; several, comma separated, share the load")
	keysFile := flag.String("keys", "", "file of keys, one a line")
	status := flag.Int("status", http.StatusOK, "expected status")
	workers := flag.Int("workers", 64, "closed loop: requests in flight")
	rate := flag.Float64("rate", 0, "open loop: requests per second (0: closed loop)")
	d := flag.Duration("d", 5*time.Second, "how long")
	flag.Parse()
	keys, err := readLines(*keysFile)
	if err != nil || len(keys) == 0 {
		fmt.Fprintln(os.Stderr, "loadgen: keys:", err)
		os.Exit(2)
	}
	g := &gen{urls: strings.Split(*url, ","), keys: keys, status: *status, client: &http.Client{Transport: &http.Transport{
		MaxIdleConns: 512, MaxIdleConnsPerHost: 512, DisableCompression: true,
	}}}
	var r result
	if *rate > 0 {
		lat := g.openLoop(*rate, *d)
		r = result{RPS: *rate, Requests: len(lat), P50: pct(lat, 50), P99: pct(lat, 99), Max: pct(lat, 100)}
	} else {
		r.RPS = g.closedLoop(*workers, *d)
	}
	r.Failures = g.failures.Load()
	json.NewEncoder(os.Stdout).Encode(r)
}

func readLines(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out, sc.Err()
}

type gen struct {
	urls     []string
	keys     []string
	status   int
	client   *http.Client
	failures atomic.Int64
}

// send makes one request to url and reports whether it got the expected
// status.
func (g *gen) send(url string, rng *rand.Rand) bool {
	req, err := http.NewRequest(http.MethodPost, url, nil)
	if err != nil {
		panic(err)
	}
	req.Header.Set("x-api-key", g.keys[rng.IntN(len(g.keys))])
	resp, err := g.client.Do(req)
	if err != nil {
		g.failures.Add(1)
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != g.status {
		g.failures.Add(1)
		return false
	}
	return true
}

// closedLoop keeps workers requests in flight for d and returns the
// throughput: the peak the server sustains.
func (g *gen) closedLoop(workers int, d time.Duration) float64 {
	var done atomic.Int64
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			url := g.urls[w%len(g.urls)]
			for time.Now().Before(deadline) {
				if g.send(url, rng) {
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds()
}

// openLoop sends requests at a fixed rate for d, whatever the answers take,
// and returns their latencies, sorted. Request i is due at start + i/rate;
// a pool of senders takes turns, each sleeping until its next request is
// due. A sender that wakes late (timers are coarse) counts from when it
// woke: the generator's lateness is not the server's. A sender still busy
// with its previous request when the next is due counts from the due time,
// so a slow server is charged for the requests it kept waiting.
func (g *gen) openLoop(rate float64, d time.Duration) []time.Duration {
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
			url := g.urls[w%len(g.urls)]
			var mine []time.Duration
			for i := w; i < n; i += senders {
				from := start.Add(time.Duration(i) * interval)
				if wait := time.Until(from); wait > 0 {
					time.Sleep(wait)
					from = time.Now()
				}
				g.send(url, rng)
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

// pct is the p-th percentile of sorted latencies, in milliseconds.
func pct(sorted []time.Duration, p int) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[min(len(sorted)-1, len(sorted)*p/100)]) / float64(time.Millisecond)
}

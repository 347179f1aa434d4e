package bench

import (
	"bufio"
	"database/sql"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/store/storetest"
)

// lagMetric is the gauge serve --read-db exports: the standby's replay lag
// as the primary's pg_stat_replication last saw it.
const lagMetric = "keyadm_replication_replay_lag_seconds"

// lagCheck is how often the standby servers check replication in the
// benchmark (serve --replication-check-interval; 10 s by default), so the
// gauge is fresh when it is sampled, every lagCheck too.
const lagCheck = 250 * time.Millisecond

// standbyTouch is the standby case's serve --touch-interval (1 min by
// default) for every serve process, the primary-only one too: last uses are
// then written to the primary every second during the runs, so the standby
// replays a stream of writes while it serves verify, and its replay lag
// means something (with the default, a 5 s run writes nothing and the lag
// reads 0).
const standbyTouch = time.Second

// clusterSchema is a new schema on the test cluster's primary and the same
// schema on its standby, as URLs, and whether the standby is synchronous;
// it skips the test without the cluster.
func clusterSchema(t *testing.T) (primary, standby, syncState string) {
	primaryBase, standbyBase := os.Getenv(storetest.PrimaryEnv), os.Getenv(storetest.StandbyEnv)
	if primaryBase == "" || standbyBase == "" {
		t.Skip("standby cases skipped: they need the test cluster; run eval \"$(./.ci/cluster up)\" (make cluster-up) to set " +
			storetest.PrimaryEnv + " and " + storetest.StandbyEnv + " (docs/scaling.md)")
	}
	syncState = replicationState(t, primaryBase)
	primary = pgSchema(t, primaryBase)
	pu, _ := url.Parse(primary)
	su, err := url.Parse(standbyBase)
	if err != nil {
		t.Fatalf("%s: %v", storetest.StandbyEnv, err)
	}
	su.RawQuery = pu.RawQuery // the same schema, replicated
	return primary, su.String(), syncState
}

// standby is TestServe's scaling case (issue 16): verify through one and
// two `keyadm serve --db PRIMARY --read-db STANDBY` processes, beside verify
// on the primary alone and the trivial handler, on the test cluster
// (.ci/cluster up: a primary and its streaming hot standby, synchronous with
// remote_apply). Two servers on a 2-CPU machine cannot show scaling: both
// pinned to CPU 0 shows what splitting the load costs on the same CPU;
// spread over CPU 0 and CPU 1 the second shares its CPU with the generator,
// and PostgreSQL's own processes run on either. The figure that matters is
// each run's ratio to the primary-only run of the same test. The replay
// lag gauge of each standby server is sampled every lagCheck throughout,
// while last uses are written every standbyTouch.
func (b *serveBench) standby(t *testing.T) {
	primary, standby, syncState := clusterSchema(t)
	_, keysFile, _ := seedServe(t, primary, b.keys)

	primaryArgs := []string{"--db", primary, "serve", "--listen", "ADDR", "--touch-interval", standbyTouch.String()}
	readArgs := append(slices.Clone(primaryArgs), "--read-db", standby, "--replication-check-interval", lagCheck.String())
	if syncState != "sync" {
		// serve refuses an asynchronous standby by default; measure it anyway.
		readArgs = append(readArgs, "--read-db-async", "allow")
	}
	serverCPU2 := b.genCPU // the spread pair's second server
	trivialURL := startServer(t, pinned(b.serverCPU, b.trivial, "--listen", "ADDR"), "/")
	onPrimary := startServer(t, pinned(b.serverCPU, b.bin, primaryArgs...), "/healthz")
	readA := startServer(t, pinned(b.serverCPU, b.bin, readArgs...), "/healthz")
	readB := startServer(t, pinned(b.serverCPU, b.bin, readArgs...), "/healthz")
	readC := startServer(t, pinned(serverCPU2, b.bin, readArgs...), "/healthz")

	lag := sampleLag(t, []string{readA, readB, readC}, lagCheck)
	v := func(bases ...string) string {
		for i := range bases {
			bases[i] += "/v1/verify"
		}
		return strings.Join(bases, ",")
	}
	cases := []loadCase{
		{trivialURL, keysFile, 200},
		{v(onPrimary), keysFile, 200},
		{v(readA), keysFile, 200},
		{v(readA, readB), keysFile, 200},
		{v(readA, readC), keysFile, 200},
	}
	runLag := make([]float64, len(cases)) // the largest lag seen during each case's runs
	began := time.Now()
	p := b.peaks(t, cases, func(i int, from, to time.Time) {
		runLag[i] = max(runLag[i], lag.maxBetween(from, to))
	})
	trivial, prim := p[0], p[1]
	half := prim / 2
	primLat := b.gen(t, v(onPrimary), keysFile, 200, half, b.d)
	from := time.Now()
	readLat := b.gen(t, v(readA), keysFile, 200, half, b.d)
	latLag := lag.maxBetween(from, time.Now())
	all := lag.stop(began)

	spread := "CPU " + b.serverCPU + " and CPU " + serverCPU2 + " (with the generator)"
	if b.serverCPU == "" {
		spread = "not pinned"
	}
	ms := func(s float64) float64 { return s * 1000 }
	report := fmt.Sprintf(`
serve standby benchmark: %d keys on the primary, standby %s, separate processes (%s), %s per run, every serve --touch-interval %s, load %s
  trivial net/http process                              %7.0f req/s
  verify, one serve on the primary (--db)               %7.0f req/s   %.2fx trivial
  verify, one serve reading the standby (--read-db)     %7.0f req/s   %.2fx primary   lag max %6.1fms
  verify, two serves reading the standby, both CPU %s    %7.0f req/s   %.2fx primary   lag max %6.1fms
  verify, two serves reading the standby, %s
                                                        %7.0f req/s   %.2fx primary   lag max %6.1fms
  at half of the primary's peak (%.0f req/s, open loop, %d requests each):
    one serve on the primary             p50 %6.2fms p99 %6.2fms max %6.2fms
    one serve reading the standby        p50 %6.2fms p99 %6.2fms max %6.2fms   lag max %6.1fms
  replay lag (%s on the standby servers, every %s, %s): %d samples, %d above zero, median %.1fms, p99 %.1fms, max %.1fms
`, b.keys, syncState, b.pin, b.d, standbyTouch, loadAverage(),
		trivial, prim, prim/trivial,
		p[2], p[2]/prim, ms(runLag[2]),
		b.serverCPU, p[3], p[3]/prim, ms(runLag[3]),
		spread, p[4], p[4]/prim, ms(runLag[4]),
		half, primLat.Requests,
		primLat.P50, primLat.P99, primLat.Max,
		readLat.P50, readLat.P99, readLat.Max, ms(latLag),
		lagMetric, lagCheck, "whole case", len(all), countAbove(all, 0), ms(pctOf(all, 50)), ms(pctOf(all, 99)), ms(pctOf(all, 100)))
	t.Log(report)
	fmt.Print(report)
}

// replicationState is the standby's sync_state in the primary's
// pg_stat_replication (sync, async, potential, ...).
func replicationState(t *testing.T, primary string) string {
	db, err := sql.Open("pgx", primary)
	if err != nil {
		t.Fatalf("%s: %v", storetest.PrimaryEnv, err)
	}
	defer db.Close()
	var state, commit string
	if err := db.QueryRow(`SELECT COALESCE(string_agg(sync_state, ','), 'none'), current_setting('synchronous_commit')
		FROM pg_stat_replication WHERE state = 'streaming'`).Scan(&state, &commit); err != nil {
		t.Fatalf("%s: %v", storetest.PrimaryEnv, err)
	}
	if state == "none" {
		t.Fatalf("%s has no streaming standby (.ci/cluster up starts one)", storetest.PrimaryEnv)
	}
	if state == "sync" && commit != "remote_apply" {
		state += ", synchronous_commit " + commit
	}
	return state
}

// lagSampler reads the replay lag gauge of serve processes on a timer.
type lagSampler struct {
	mu      sync.Mutex
	samples []lagSample
	done    chan struct{}
	stopped chan struct{}
}

type lagSample struct {
	at  time.Time
	lag float64 // seconds
}

// sampleLag reads lagMetric from each base's /metrics every interval until
// stop; a gauge not yet set (NaN, before serve's first check) is left out.
func sampleLag(t *testing.T, bases []string, every time.Duration) *lagSampler {
	s := &lagSampler{done: make(chan struct{}), stopped: make(chan struct{})}
	client := &http.Client{Timeout: 2 * time.Second}
	go func() {
		defer close(s.stopped)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-tick.C:
			}
			for _, base := range bases {
				if v, ok := readGauge(client, base+"/metrics", lagMetric); ok {
					s.mu.Lock()
					s.samples = append(s.samples, lagSample{time.Now(), v})
					s.mu.Unlock()
				}
			}
		}
	}()
	t.Cleanup(func() { s.stop(time.Time{}) })
	return s
}

// maxBetween is the largest lag sampled between from and to (0 if none).
func (s *lagSampler) maxBetween(from, to time.Time) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var m float64
	for _, x := range s.samples {
		if !x.at.Before(from) && !x.at.After(to) {
			m = max(m, x.lag)
		}
	}
	return m
}

// stop ends the sampling (once) and returns the lags sampled since from,
// sorted.
func (s *lagSampler) stop(from time.Time) []float64 {
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	<-s.stopped
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []float64
	for _, x := range s.samples {
		if !x.at.Before(from) {
			out = append(out, x.lag)
		}
	}
	slices.Sort(out)
	return out
}

// readGauge reads one unlabelled gauge from a Prometheus text page.
func readGauge(client *http.Client, url, name string) (float64, bool) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil && !math.IsNaN(f)
		}
	}
	return 0, false
}

// pctOf is the p-th percentile of sorted values (0 when there are none).
func pctOf(sorted []float64, p int) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, len(sorted)*p/100)]
}

func countAbove(xs []float64, v float64) int {
	n := 0
	for _, x := range xs {
		if x > v {
			n++
		}
	}
	return n
}

package server

import (
	"net/http"
	"strconv"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
)

// outcomeValid is the verify outcome of a key that grants access; the
// others are the rejection reasons, and "error" for a failure to decide.
const (
	outcomeValid = "valid"
	outcomeError = "error"
)

// latencyBuckets: verification takes well under a millisecond on a local
// database, so the buckets start at 100µs.
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// metrics are the server's metrics in the Prometheus text format, on a set
// of their own so that two servers in one process (tests) never collide.
// github.com/VictoriaMetrics/metrics, not the Prometheus client: that one's
// package initialisation (its protobuf registry, procfs) cost every
// one-shot command about 3 ms before main (issue 17).
type metrics struct {
	set      *vm.Set
	inflight *vm.Gauge
}

func init() {
	// # TYPE lines, so that histograms are histograms to a scraper.
	vm.ExposeMetadata(true)
}

func newMetrics(pending func() int) *metrics {
	m := &metrics{set: vm.NewSet()}
	m.inflight = m.set.NewGauge("keyadm_http_requests_in_flight", nil)
	m.set.NewGauge("keyadm_last_use_pending", func() float64 { return float64(pending()) })
	return m
}

// observe counts one answered request.
func (m *metrics) observe(route, method string, status int, took time.Duration) {
	m.set.GetOrCreateCounter(`keyadm_http_requests_total{code="` + strconv.Itoa(status) +
		`",method="` + methodLabel(method) + `",route="` + route + `"}`).Inc()
	m.set.GetOrCreatePrometheusHistogramExt(`keyadm_http_request_duration_seconds{route="`+route+`"}`,
		latencyBuckets).Update(took.Seconds())
}

// verified counts a POST /v1/verify result by outcome: valid, missing,
// malformed, unknown, revoked, expired, disabled or error.
func (m *metrics) verified(outcome string) {
	m.set.GetOrCreateCounter(`keyadm_verify_total{outcome="` + outcome + `"}`).Inc()
}

// lastUses counts keys whose last use was written (result ok) or failed to
// be (result error).
func (m *metrics) lastUses(result string, n int) {
	m.set.GetOrCreateCounter(`keyadm_last_use_writes_total{result="` + result + `"}`).Add(n)
}

func (m *metrics) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		m.set.WritePrometheus(w)
		vm.WriteProcessMetrics(w)
	})
}

// methodLabel keeps the method label to a known set: a client cannot grow
// the metrics with made-up methods.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

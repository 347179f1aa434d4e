package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// outcomeValid is the verify outcome of a key that grants access; the
// others are the rejection reasons, and "error" for a failure to decide.
const (
	outcomeValid = "valid"
	outcomeError = "error"
)

// metrics are the server's Prometheus metrics, on a registry of its own so
// that two servers in one process (tests) never collide.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	verifies *prometheus.CounterVec
	lastUses *prometheus.CounterVec
	inflight prometheus.Gauge
}

func newMetrics(pending func() int) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyadm_http_requests_total",
			Help: "HTTP requests answered, by route, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "keyadm_http_request_duration_seconds",
			Help: "Time to answer an HTTP request, by route.",
			// Verification takes well under a millisecond on a local
			// database: the buckets start at 100µs.
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		verifies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyadm_verify_total",
			Help: "POST /v1/verify results, by outcome: valid, missing, malformed, unknown, revoked, expired, disabled or error.",
		}, []string{"outcome"}),
		lastUses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyadm_last_use_writes_total",
			Help: "Keys whose last use was written (result ok) or failed to be (result error).",
		}, []string{"result"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "keyadm_http_requests_in_flight",
			Help: "HTTP requests being answered.",
		}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.verifies, m.lastUses, m.inflight,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "keyadm_last_use_pending",
			Help: "Keys used since the last write of last uses.",
		}, func() float64 { return float64(pending()) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// observe counts one answered request.
func (m *metrics) observe(route, method string, status int, took time.Duration) {
	m.requests.WithLabelValues(route, methodLabel(method), strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(took.Seconds())
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
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

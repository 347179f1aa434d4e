// Package server is `keyadm serve`: key verification and the tenant admin
// API over HTTP, on the same apikey.Service (store, policy, audit trail) as
// the command line.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// Defaults of Config.
const (
	DefaultTouchInterval   = time.Minute
	DefaultMaxBodyBytes    = 64 << 10
	DefaultReadTimeout     = 10 * time.Second
	DefaultWriteTimeout    = 30 * time.Second
	DefaultIdleTimeout     = 2 * time.Minute
	DefaultShutdownTimeout = 30 * time.Second
	// readHeaderTimeout bounds a client that sends its headers slowly.
	readHeaderTimeout = 5 * time.Second
	maxHeaderBytes    = 32 << 10
	// flushTimeout bounds the last write of keys' activity at shutdown,
	// and each batch of a periodic flush (a batch under way at shutdown
	// finishes first).
	flushTimeout = 30 * time.Second
)

// Config is what a Server needs; zero durations and sizes take the defaults.
type Config struct {
	Service *apikey.Service
	// Log receives one line per request and the server's errors; never a
	// key or an Authorization header. Nil discards them.
	Log *slog.Logger
	// TouchInterval is how often coalesced last uses and usage counts
	// are written.
	TouchInterval time.Duration
	// MaxBodyBytes bounds request bodies; a larger one gets 413.
	MaxBodyBytes int64
	// ReadTimeout, WriteTimeout and IdleTimeout bound a request's reading,
	// its answer, and an idle keep-alive connection.
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// ShutdownTimeout is how long in-flight requests may take to finish
	// once shutdown has begun.
	ShutdownTimeout time.Duration
	// Replication, when set, checks the read database at start and every
	// ReplicationInterval (see replication.go).
	Replication         ReplicaCheck
	ReplicationInterval time.Duration
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// MaxFailedVerifies is each client address's budget of failed
	// verifications (zero: DefaultMaxFailedVerifies), per process.
	MaxFailedVerifies apikey.Rate
}

// Server answers the verification and admin API.
type Server struct {
	cfg      Config
	svc      *apikey.Service
	log      *slog.Logger
	activity *activity
	metrics  *metrics
	replica  *replica // nil without a read database
	// failures and adminRates are in-memory limits, per process.
	failures, adminRates memLimiter
	handler              http.Handler
}

// New builds a server on cfg.Service.
func New(cfg Config) *Server {
	setDefault(&cfg.TouchInterval, DefaultTouchInterval)
	setDefault(&cfg.MaxBodyBytes, DefaultMaxBodyBytes)
	setDefault(&cfg.ReadTimeout, DefaultReadTimeout)
	setDefault(&cfg.WriteTimeout, DefaultWriteTimeout)
	setDefault(&cfg.IdleTimeout, DefaultIdleTimeout)
	setDefault(&cfg.ShutdownTimeout, DefaultShutdownTimeout)
	setDefault(&cfg.ReplicationInterval, DefaultReplicationInterval)
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, svc: cfg.Service, log: cfg.Log}
	s.activity = &activity{write: cfg.Service.RecordActivity, log: cfg.Log}
	s.metrics = newMetrics(s.activity.size)
	s.activity.written = func(n int) { s.metrics.lastUses("ok", n) }
	s.activity.failed = func(n int) { s.metrics.lastUses("error", n) }
	if cfg.Replication != nil {
		s.replica = s.newReplica()
	}
	s.handler = s.middleware(s.routes())
	return s
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// routes maps each path to its methods. Methods are dispatched here rather
// than in the patterns so that a wrong method gets a JSON 405.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	for pattern, m := range s.routeTable() {
		mux.Handle(pattern, m)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, apikey.Errorf(apikey.ENOTFOUND, "no such route: %s %s", methodLabel(r.Method), shorten(r.URL.Path, 100)))
	})
	return mux
}

// routeTable is every path the server answers and its methods.
func (s *Server) routeTable() map[string]methods {
	t := map[string]methods{
		"/v1/verify": {http.MethodPost: s.verify},
		"/qsi/gather/credentials": {
			http.MethodGet:  s.admin(s.listCredentials, credentialQuery...),
			http.MethodPost: s.admin(s.createCredential),
		},
		"/qsi/gather/credentials/{credentialId}": {http.MethodDelete: s.admin(s.revokeCredential)},
		"/healthz":                               {http.MethodGet: s.healthz},
		"/metrics":                               {http.MethodGet: s.metrics.handler().ServeHTTP},
		"/openapi.yaml":                          {http.MethodGet: serveOpenAPI},
	}
	// The keys API at the seed's documented base path and at keyadm's.
	for _, base := range []string{"/v1", "/api/v1"} {
		t[base+"/api-keys"] = methods{
			http.MethodGet:  s.owners(s.listKeys, listQuery...),
			http.MethodPost: s.owners(s.createKey),
		}
		t[base+"/api-keys/{id}"] = methods{
			http.MethodGet:    s.owners(s.getKey),
			http.MethodPatch:  s.owners(s.patchKey),
			http.MethodDelete: s.owners(s.deleteKey),
		}
		// {view} is usage alone so far: /api-keys/{id}/usage would collide with configs/{tenantId}.
		t[base+"/api-keys/{id}/{view}"] = methods{http.MethodGet: s.admin(s.keySub, "since")}
		t[base+"/api-keys/configs/{tenantId}"] = methods{
			http.MethodGet:   s.admin(s.getConfig),
			http.MethodPatch: s.admin(s.patchConfig),
		}
	}
	return t
}

// Handler is the server's HTTP handler, for tests and embedding. Last uses
// it records are written only while Serve runs.
func (s *Server) Handler() http.Handler { return s.handler }

// hotPreparer is a store that can prepare the statements of the verify
// path once, which pays off in a long-lived server only.
type hotPreparer interface {
	PrepareHot(ctx context.Context) error
}

// Serve answers requests on ln until ctx is done (first preparing the
// store's verify statements, where it can), then shuts down gracefully: it stops accepting, lets in-flight requests finish (within
// the shutdown timeout), and writes the pending last uses. A clean
// shutdown returns nil.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if p, ok := s.svc.Store.(hotPreparer); ok {
		if err := p.PrepareHot(ctx); err != nil {
			ln.Close()
			if ctx.Err() != nil {
				return nil // stopped before it began
			}
			return err
		}
	}
	hs := &http.Server{
		Handler:           s.handler,
		ReadTimeout:       s.cfg.ReadTimeout,
		ReadHeaderTimeout: min(readHeaderTimeout, s.cfg.ReadTimeout),
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	flushCtx, stopFlushing := context.WithCancel(context.Background())
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		s.activity.run(flushCtx, s.cfg.TouchInterval)
	}()
	if s.replica != nil {
		// The first check ends before the first request is served, so
		// where verify reads, and the gauges that say so, are settled.
		s.replica.once(flushCtx)
		go s.replica.run(flushCtx)
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	s.log.Info("listening", "addr", ln.Addr().String(), "url", "http://"+ln.Addr().String())

	var err error
	select {
	case err = <-served:
	case <-ctx.Done():
		s.log.Info("shutting down: finishing in-flight requests", "timeout", s.cfg.ShutdownTimeout)
		shutCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		err = hs.Shutdown(shutCtx)
		cancel()
		if err != nil {
			err = errors.Join(err, hs.Close())
		}
		if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
	}
	stopFlushing()
	<-flushed
	fctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	n := s.activity.size()
	if ferr := s.activity.flush(fctx); ferr != nil {
		s.log.Error("cannot record last uses and usage counts at shutdown", "keys", s.activity.size(), "err", ferr)
		err = errors.Join(err, ferr)
	} else {
		s.log.Info("last uses written", "keys", n)
	}
	return err
}

// healthz answers 200 when the database answers a read, 503 when not.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if _, err := s.svc.Config(ctx, ""); err != nil {
		s.log.WarnContext(ctx, "health check failed", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// Routes lists every route the server answers, as "METHOD /path" with the
// path in OpenAPI's {name} form, for the test that holds openapi.yaml to
// the server.
func Routes() []string {
	var out []string
	for pattern, m := range New(Config{Service: &apikey.Service{}}).routeTable() {
		for method := range m {
			out = append(out, method+" "+pattern)
		}
	}
	return out
}

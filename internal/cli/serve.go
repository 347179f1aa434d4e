package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"regexp"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/server"
	"github.com/keyadm/keyadm/internal/store"
)

// DefaultListen is where serve listens without --listen: loopback only,
// since the API is plain HTTP.
const DefaultListen = "127.0.0.1:8080"

// ServeOptions are the inputs of serve.
type ServeOptions struct {
	Env
	Listen    string
	LogFormat string
	LogLevel  slog.Level
	Config    server.Config
	// ReadDB is a PostgreSQL hot standby of --db that verify and admin
	// reads go to (--read-db, KEYADM_READ_DB); ReadAsync says what to do
	// while it is not synchronous.
	ReadDB    string
	ReadAsync store.AsyncMode
	// TrustedProxies and MaxFailed are the flags, parsed into Config.
	TrustedProxies []string
	MaxFailed      string
}

// serveLong is serve's help: its routes, its promises and its limits.
const serveLong = `Serve the store over HTTP, for services that would rather ask than read the
tables:

  POST /v1/verify                        check a key sent in x-api-key or Authorization: Bearer
  GET, POST /v1/api-keys                 list keys (paged), create a key
  GET, PATCH, DELETE /v1/api-keys/ID     show, rename, revoke a key
  GET /v1/api-keys/ID/usage              the key's verifications per hour, by outcome
  GET, PATCH /v1/api-keys/configs/T      read and change tenant T's policy
  GET /healthz, GET /metrics             health, Prometheus metrics

The /v1/api-keys routes want a key with the admin permission and reach that
key's own tenant only (--tenant plays no part); their changes are audited
with the actor key:<admin key id>. Every request reads the database, so a
revoked or expired key is refused at once. Last use and usage counts are
written at most once per key per --touch-interval, and at shutdown: SIGINT or
SIGTERM lets the requests in flight finish, writes the pending last uses and
counts and exits 0 (a second signal stops at once). One log line per request goes to stderr, never a key.

With --read-db, a PostgreSQL hot standby of --db, verify and admin reads go
to the standby and every write (last use, admin changes) to --db. A revoke
is seen on the next request only when the standby is synchronous and the
primary has synchronous_commit = remote_apply; serve checks this at start
and every --replication-check-interval (the role needs pg_monitor to see
pg_stat_replication), and reports the replay lag as the gauge
keyadm_replication_replay_lag_seconds. While it does not hold,
--read-db-async decides: refuse to start (default), read from the primary
meanwhile, or allow reading the lagging standby. See docs/scaling.md.

Limits: a key's --rate-limit windows, and its owner's (keyadm user
--rate-limit, one budget for all of the user's keys), are kept in the
database (GCRA), so every serve process on one database shares them
exactly; its --uses are spent atomically; its --allow-ip list is checked
against the client address, which is the peer's unless the peer is a
--trusted-proxy (then the rightmost X-Forwarded-For hop that is not one).
Failed verifications are throttled per client address (--max-failed-verifies)
and the admin API per requesting key (config admin_read_rate,
admin_write_rate); both are kept in memory, per
process. Refusals are 429 with Retry-After and RateLimit-* headers.`

// NewCmdServe is serve: runF, when not nil, runs in place of serveRun.
func NewCmdServe(f *Factory, runF func(*ServeOptions) error) *cobra.Command {
	opts := &ServeOptions{}
	var readAsync string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve key verification and the tenant admin API over HTTP",
		Long:  serveLong,
		Example: `  keyadm serve --db postgres://keyadm@db/keyadm --listen :8080
  curl -s -X POST -H "x-api-key: $KEY" http://127.0.0.1:8080/v1/verify`,
		Args: args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			opts.Env = f.env(true, true)
			if err := checkListen(opts.Listen); err != nil {
				return usageErrorf("invalid --listen %s: %s", apikey.Quote(opts.Listen), err)
			}
			if opts.LogFormat != "text" && opts.LogFormat != "json" {
				return usageErrorf("invalid --log-format %s: want text or json", apikey.Quote(opts.LogFormat))
			}
			if !cmd.Flags().Changed("read-db") && f.v != nil {
				opts.ReadDB = f.v.GetString("read-db") // KEYADM_READ_DB
			}
			if opts.ReadAsync, err = store.ParseAsyncMode(readAsync); err != nil {
				return err
			}
			c := &opts.Config
			for name, d := range map[string]time.Duration{
				"replication-check-interval": c.ReplicationInterval,
				"touch-interval":             c.TouchInterval, "read-timeout": c.ReadTimeout, "write-timeout": c.WriteTimeout,
				"idle-timeout": c.IdleTimeout, "shutdown-timeout": c.ShutdownTimeout,
			} {
				if d <= 0 {
					return usageErrorf("invalid --%s %s: must be longer than zero", name, d)
				}
			}
			if err := opts.parseLimits(); err != nil {
				return err
			}
			debug, err := f.boolSetting(keyDebug) // checked in init
			if err != nil {
				return err
			}
			if opts.LogLevel = slog.LevelInfo; debug {
				opts.LogLevel = slog.LevelDebug
			}
			return runWith(cmd.Context(), opts, runF, serveRun)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Listen, "listen", DefaultListen, "address to listen on, HOST:PORT (port 0: any free port)")
	fl.DurationVar(&opts.Config.TouchInterval, "touch-interval", server.DefaultTouchInterval, "how often last uses and usage counts are written")
	fl.DurationVar(&opts.Config.ReadTimeout, "read-timeout", server.DefaultReadTimeout, "longest time to read a request")
	fl.DurationVar(&opts.Config.WriteTimeout, "write-timeout", server.DefaultWriteTimeout, "longest time to answer a request")
	fl.DurationVar(&opts.Config.IdleTimeout, "idle-timeout", server.DefaultIdleTimeout, "how long an idle keep-alive connection stays open")
	fl.DurationVar(&opts.Config.ShutdownTimeout, "shutdown-timeout", server.DefaultShutdownTimeout, "how long in-flight requests may take to finish on shutdown")
	fl.StringArrayVar(&opts.TrustedProxies, "trusted-proxy", nil, "proxy address or CIDR whose X-Forwarded-For is believed, repeatable (default none)")
	fl.StringVar(&opts.MaxFailed, "max-failed-verifies", server.DefaultMaxFailedVerifies.String(), "failed verifications a client address may make, N/DURATION, before 429 (per process)")
	fl.StringVar(&opts.LogFormat, "log-format", "text", "request log format on stderr: text or json")
	fl.StringVar(&opts.ReadDB, "read-db", "", "a PostgreSQL hot standby of --db for verify and admin reads; writes go to --db (env KEYADM_READ_DB)")
	fl.StringVar(&readAsync, "read-db-async", string(store.AsyncRefuse), "while --read-db is not a synchronous standby with remote_apply: refuse (to start), primary (read --db meanwhile) or allow (read the lagging standby)")
	fl.DurationVar(&opts.Config.ReplicationInterval, "replication-check-interval", server.DefaultReplicationInterval, "how often --read-db's replication is checked")
	return cmd
}

// checkListen refuses an address net.Listen could never take, before any
// database is opened: no port, a port beyond 65535, a host that is neither
// an IP address nor a host name. Whether a good one is free is only known
// by listening.
func checkListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want HOST:PORT, such as %s", DefaultListen)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	if host != "" && net.ParseIP(host) == nil && !hostName().MatchString(host) {
		return fmt.Errorf("host %q is not an IP address or a host name", host)
	}
	return nil
}

// hostName is an RFC 1123 host name.
var hostName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$`)
})

func serveRun(ctx context.Context, opts *ServeOptions) error {
	// Opened now, not on the first request: a bad --db fails at start, and
	// the server prepares the verify statements on the store itself.
	db, err := opts.Store(ctx)
	if err != nil {
		return err
	}
	var st apikey.Store = db
	if opts.ReadDB != "" {
		routed, err := openReadDB(ctx, opts, db)
		if err != nil {
			return err
		}
		defer routed.Close()
		st = routed
	}
	hopts := &slog.HandlerOptions{Level: opts.LogLevel}
	var h slog.Handler = slog.NewTextHandler(opts.IO.ErrOut, hopts)
	if opts.LogFormat == "json" {
		h = slog.NewJSONHandler(opts.IO.ErrOut, hopts)
	}
	log := slog.New(h)
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return apikey.Errorf(apikey.EUNAVAILABLE, "cannot listen on %s: %v", opts.Listen, err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	if !addr.IP.IsLoopback() {
		log.Warn("serving plain HTTP beyond this machine: keys cross the network in clear unless a TLS proxy fronts keyadm", "addr", addr.String())
	}
	log.Info("keyadm serve starting", "db", db.Engine(), "touch_interval", opts.Config.TouchInterval)
	opts.Config.Service = &apikey.Service{Store: st, Rand: opts.Service.Rand}
	opts.Config.Log = log
	go func() {
		// After the first SIGINT or SIGTERM, a second one stops keyadm at
		// once, without waiting for requests or writing last uses.
		<-ctx.Done()
		signal.Reset(os.Interrupt, syscall.SIGTERM)
		log.Info("signal received: a second one stops at once, without writing pending last uses")
	}()
	return server.New(opts.Config).Serve(ctx, ln)
}

// openReadDB routes reads to --read-db, refusing to start, under
// --read-db-async refuse, when a revoke would not be seen there at once.
func openReadDB(ctx context.Context, opts *ServeOptions, primary store.DB) (*store.Routed, error) {
	routed, err := store.OpenRouted(ctx, primary, opts.ReadDB, opts.ReadAsync, store.Options{
		Now: opts.Now, Log: opts.Log,
	})
	if err != nil {
		return nil, err
	}
	if _, err := routed.Check(ctx, true); err != nil {
		routed.Close()
		return nil, err
	}
	opts.Config.Replication = func(ctx context.Context) (server.ReplicaState, error) {
		st, err := routed.Check(ctx, false)
		return server.ReplicaState{OnStandby: st.OnStandby, ReplayLag: st.ReplayLag, Problem: st.Problem}, err
	}
	return routed, nil
}

// parseLimits reads the limit flags into Config.
func (opts *ServeOptions) parseLimits() error {
	for _, p := range opts.TrustedProxies {
		prefix, err := apikey.ParsePrefix(p)
		if err != nil {
			return usageErrorf("invalid --trusted-proxy %s: want a CIDR such as 10.0.0.0/8, or one address", apikey.Quote(p))
		}
		opts.Config.TrustedProxies = append(opts.Config.TrustedProxies, prefix)
	}
	r, err := apikey.ParseRate("maxFailedVerifies", opts.MaxFailed)
	if err != nil {
		return err
	}
	opts.Config.MaxFailedVerifies = r
	return nil
}

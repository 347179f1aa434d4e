package server

import (
	"context"
	"math"
	"sync/atomic"
	"time"
)

// DefaultReplicationInterval is how often serve --read-db checks the
// standby.
const DefaultReplicationInterval = 10 * time.Second

// ReplicaState is what a replication check found: where verify reads now,
// whether a revoke is seen on the next request, and the standby's replay
// lag.
type ReplicaState struct {
	OnStandby bool
	ReplayLag time.Duration
	// Problem says why a revoke may not be seen on the next request; ""
	// when it will be.
	Problem string
}

// ReplicaCheck checks the read database; the store it belongs to routes
// reads by what it finds.
type ReplicaCheck func(ctx context.Context) (ReplicaState, error)

// replica runs the check on a timer and publishes its findings as
// metrics and, when they change, as log lines.
type replica struct {
	check    ReplicaCheck
	interval time.Duration
	s        *Server
	lag      atomic.Uint64 // float64 bits, seconds; NaN before the first check
	standby  atomic.Bool
	immed    atomic.Bool
	last     string // the last problem logged; "?" before the first check
}

func (s *Server) newReplica() *replica {
	r := &replica{check: s.cfg.Replication, interval: s.cfg.ReplicationInterval, s: s, last: "?"}
	r.lag.Store(math.Float64bits(math.NaN()))
	set := s.metrics.set
	set.NewGauge("keyadm_replication_replay_lag_seconds", func() float64 { return math.Float64frombits(r.lag.Load()) })
	set.NewGauge("keyadm_replication_reads_from_standby", func() float64 { return b2f(r.standby.Load()) })
	set.NewGauge("keyadm_replication_revocation_immediate", func() float64 { return b2f(r.immed.Load()) })
	return r
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// run checks every interval until ctx is done (Start runs the first
// check itself, before it serves).
func (r *replica) run(ctx context.Context) {
	every(ctx, r.interval, func(ctx context.Context) error { r.once(ctx); return nil }, nil)
}

func (r *replica) once(ctx context.Context) {
	st, err := r.check(ctx)
	if ctx.Err() != nil {
		return
	}
	r.lag.Store(math.Float64bits(st.ReplayLag.Seconds()))
	r.standby.Store(st.OnStandby)
	r.immed.Store(st.Problem == "")
	log := r.s.log
	switch {
	case st.Problem == r.last:
	case st.Problem == "":
		log.Info("read database: a synchronous standby with remote_apply; verify reads it, and a revoke is seen on the next request")
	case st.OnStandby:
		log.Warn("read database: verify still reads the standby (--read-db-async allow); a revoked key may pass while it lags", "problem", st.Problem, "err", err)
	default:
		log.Warn("read database: verify reads the primary until the standby is fit again", "problem", st.Problem, "err", err)
	}
	r.last = st.Problem
}

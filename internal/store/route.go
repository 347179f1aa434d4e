package store

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/store/sqlstore"
)

// AsyncMode is what serve --read-db does while the read database does not
// see a commit before the primary confirms it (not a synchronous standby
// with synchronous_commit = remote_apply).
type AsyncMode string

const (
	// AsyncRefuse refuses to start; should it happen later, reads go to
	// the primary until the standby is synchronous again.
	AsyncRefuse AsyncMode = "refuse"
	// AsyncPrimary starts, and reads from the primary meanwhile.
	AsyncPrimary AsyncMode = "primary"
	// AsyncAllow reads from the standby anyway: a revoked key may pass
	// for as long as the standby lags.
	AsyncAllow AsyncMode = "allow"
)

// ParseAsyncMode parses --read-db-async.
func ParseAsyncMode(s string) (AsyncMode, error) {
	switch m := AsyncMode(s); m {
	case AsyncRefuse, AsyncPrimary, AsyncAllow:
		return m, nil
	}
	return "", apikey.Errorf(apikey.EINVALID, "invalid --read-db-async %s: want refuse, primary or allow", apikey.Quote(s))
}

// Routed is a DB that reads from a standby and writes to its primary:
// read transactions and single reads (View, Peek) go to the standby while
// Check finds it fit, everything else to the primary. The Service on it
// does not know.
type Routed struct {
	sqlDB
	standby *sqlstore.DB
	mode    AsyncMode
	// onStandby is where reads go now; Check sets it.
	onStandby atomic.Bool
}

// OpenRouted opens the read database at readURL (a PostgreSQL standby of
// primary) and routes reads to it once Check finds it fit.
func OpenRouted(ctx context.Context, primary DB, readURL string, mode AsyncMode, opts Options) (*Routed, error) {
	p, ok := primary.(sqlDB)
	if !ok || p.DB.Engine != "postgres" {
		return nil, apikey.Errorf(apikey.EINVALID, "--read-db needs a PostgreSQL --db (a primary with a hot standby)")
	}
	opts.Migrate = false // a standby is read-only; the primary's migrations reach it
	s, err := OpenSQL(ctx, readURL, opts)
	if err != nil {
		return nil, err
	}
	if s.Engine != "postgres" {
		s.Close()
		return nil, apikey.Errorf(apikey.EINVALID, "--read-db must be a PostgreSQL standby, not %s", s.Engine)
	}
	return &Routed{sqlDB: p, standby: s, mode: mode}, nil
}

// ReadState is the outcome of a Check.
type ReadState struct {
	sqlstore.Replication
	// OnStandby is where reads now go.
	OnStandby bool
	// Problem says why a revoke may not be seen on the next request;
	// "" when it will be.
	Problem string
}

// Check reads the standby's replication state and routes reads by it and
// the mode. A standby that cannot be checked (unreachable, say) is not
// read from. With AsyncRefuse, the first Check of a standby that is not
// immediate returns an error: serve refuses to start.
func (r *Routed) Check(ctx context.Context, first bool) (ReadState, error) {
	ctx, cancel := context.WithTimeout(ctx, replicationTimeout)
	defer cancel()
	rep, err := sqlstore.ReplicationOf(ctx, r.DB, r.standby)
	if err != nil {
		r.onStandby.Store(false)
		return ReadState{Problem: "cannot check the standby: " + apikey.ErrorMessage(err)}, err
	}
	st := ReadState{Replication: *rep}
	switch {
	case rep.Immediate():
	case rep.SyncState == "":
		st.Problem = fmt.Sprintf("standby %q is not connected to the primary", rep.Name)
	case rep.SyncState != "sync":
		st.Problem = fmt.Sprintf("standby %q is %s, not a synchronous standby (synchronous_standby_names)", rep.Name, rep.SyncState)
	default:
		st.Problem = fmt.Sprintf("synchronous_commit is %s on the primary, not remote_apply", rep.SynchronousCommit)
	}
	st.OnStandby = st.Problem == "" || r.mode == AsyncAllow
	r.onStandby.Store(st.OnStandby)
	if first && st.Problem != "" && r.mode == AsyncRefuse {
		return st, apikey.Errorf(apikey.EUNAVAILABLE, "--read-db: %s, so a revoked key could still verify until the standby replays the revoke; "+
			"fix the replication, or set --read-db-async primary (read from the primary meanwhile) or allow (accept the lag)", st.Problem)
	}
	return st, nil
}

func (r *Routed) reads() *sqlstore.DB {
	if r.onStandby.Load() {
		return r.standby
	}
	return r.DB
}

// View runs fn in a read transaction where reads go now.
func (r *Routed) View(ctx context.Context, fn func(apikey.Tx) error) error {
	return r.reads().View(ctx, fn)
}

// Peek runs fn outside a transaction where reads go now.
func (r *Routed) Peek(ctx context.Context, fn func(apikey.Tx) error) error {
	return r.reads().Peek(ctx, fn)
}

// PrepareHot prepares the verify path on both servers.
func (r *Routed) PrepareHot(ctx context.Context) error {
	return errors.Join(r.DB.PrepareHot(ctx), r.standby.PrepareHot(ctx))
}

// Close closes the read database; the primary stays open for whoever
// opened it.
func (r *Routed) Close() error { return r.standby.Close() }

// Standby names the read database for messages, never with a password.
func (r *Routed) Standby() string { return r.standby.Location }

var _ DB = (*Routed)(nil)

// replicationTimeout bounds one check, so a silent server cannot stall it.
const replicationTimeout = 5 * time.Second

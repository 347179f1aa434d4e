package postgres_test

import (
	"context"
	"database/sql"
	"net/url"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/store/storetest"
)

// replica is a store on the cluster's primary and a direct connection to
// the same schema on its standby.
type replica struct {
	svc     *apikey.Service
	primary *sql.DB // the superuser's, for the primary's WAL position
	standby *sql.DB
}

// newReplica opens a fresh schema on the primary, with extra connection
// parameters for the store, and the same schema on the standby.
func newReplica(t *testing.T, params url.Values) *replica {
	t.Helper()
	primary, standby, _ := storetest.ClusterURLs(t)
	u, drop, err := storetest.NewSchema(primary)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := pu.Query()
	schema := q.Get("search_path")
	for k, v := range params {
		q[k] = v
	}
	pu.RawQuery = q.Encode()
	r := &replica{svc: &apikey.Service{Store: openMigrated(t, pu.String(), time.Now)}}
	r.primary = sqlOpen(t, primary)
	r.standby = sqlOpen(t, withQuery(t, standby, "search_path", schema))
	return r
}

func sqlOpen(t *testing.T, u string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// revokedOnStandby reads the key's row on the standby.
func (r *replica) revokedOnStandby(t *testing.T, id string) (exists, revoked bool) {
	t.Helper()
	err := r.standby.QueryRow(`SELECT revoked_at IS NOT NULL FROM api_keys WHERE id = $1`, id).Scan(&revoked)
	if err == sql.ErrNoRows {
		return false, false
	}
	if err != nil {
		t.Fatalf("read the standby: %v", err)
	}
	return true, revoked
}

func (r *replica) create(t *testing.T) *apikey.Created {
	t.Helper()
	c, err := r.svc.Create(context.Background(), apikey.CreateInput{Name: "k", Actor: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (r *replica) revoke(t *testing.T, id string) {
	t.Helper()
	if _, _, err := r.svc.Revoke(context.Background(), "", []string{id}, "test", "tester"); err != nil {
		t.Fatal(err)
	}
}

// TestSynchronousStandby: with the standby synchronous and
// synchronous_commit = remote_apply, a key created or revoked on the
// primary is seen so on the standby as soon as the call returns, with no
// wait: the guarantee serve --read-db relies on.
func TestSynchronousStandby(t *testing.T) {
	r := newReplica(t, nil)
	var commit, state string
	if err := r.primary.QueryRow(`SELECT current_setting('synchronous_commit'),
		coalesce((SELECT sync_state FROM pg_stat_replication WHERE application_name = 'keyadm_standby'), 'none')`).Scan(&commit, &state); err != nil {
		t.Fatal(err)
	}
	if commit != "remote_apply" || state != "sync" {
		t.Skipf("the standby is not synchronous (synchronous_commit %s, sync_state %s): run SYNC=1 make cluster-up", commit, state)
	}
	for i := range 20 {
		c := r.create(t)
		if exists, _ := r.revokedOnStandby(t, c.Key.ID); !exists {
			t.Fatalf("round %d: a created key is not on the standby yet", i)
		}
		r.revoke(t, c.Key.ID)
		if _, revoked := r.revokedOnStandby(t, c.Key.ID); !revoked {
			t.Fatalf("round %d: a revoked key still reads as active on the standby", i)
		}
	}
}

// TestAsynchronousStandby documents what an asynchronous standby gives: a
// commit returns before the standby has replayed it, so a revoked key
// reads as active there until replay catches up. The store commits with
// synchronous_commit = local, as every commit does when the standby is not
// synchronous, and the standby's replay is paused for the length of the
// test so that the lag is there to be seen, not left to chance.
func TestAsynchronousStandby(t *testing.T) {
	r := newReplica(t, url.Values{"synchronous_commit": {"local"}})
	c := r.create(t)
	r.caughtUp(t)
	if exists, revoked := r.revokedOnStandby(t, c.Key.ID); !exists || revoked {
		t.Fatalf("before the revoke: on the standby exists %v, revoked %v", exists, revoked)
	}

	if _, err := r.standby.Exec(`SELECT pg_wal_replay_pause()`); err != nil {
		t.Fatal(err)
	}
	resume := func() { r.standby.Exec(`SELECT pg_wal_replay_resume()`) }
	defer resume()
	r.revoke(t, c.Key.ID)
	if _, revoked := r.revokedOnStandby(t, c.Key.ID); revoked {
		t.Fatal("the standby saw the revoke while its replay was paused")
	}
	if lag := r.lagBytes(t); lag <= 0 {
		t.Fatalf("replay lag %d bytes, want some", lag)
	} else {
		t.Logf("revoked on the primary; the standby still says active, %d bytes of WAL behind", lag)
	}

	resume()
	r.caughtUp(t)
	if _, revoked := r.revokedOnStandby(t, c.Key.ID); !revoked {
		t.Fatal("the standby replayed past the revoke and still says active")
	}
}

// lagBytes is how far the standby's replay is behind the primary's WAL.
func (r *replica) lagBytes(t *testing.T) int64 {
	t.Helper()
	var primaryLSN string
	if err := r.primary.QueryRow(`SELECT pg_current_wal_lsn()::text`).Scan(&primaryLSN); err != nil {
		t.Fatal(err)
	}
	var lag int64
	if err := r.standby.QueryRow(`SELECT pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::bigint`, primaryLSN).Scan(&lag); err != nil {
		t.Fatal(err)
	}
	return lag
}

// caughtUp waits until the standby has replayed what the primary had
// written when it was called: the wait an asynchronous standby needs.
func (r *replica) caughtUp(t *testing.T) {
	t.Helper()
	var target string
	if err := r.primary.QueryRow(`SELECT pg_current_wal_lsn()::text`).Scan(&target); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var done bool
		if err := r.standby.QueryRow(`SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn`, target).Scan(&done); err != nil {
			t.Fatal(err)
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the standby has not replayed up to %s in 10 s", target)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

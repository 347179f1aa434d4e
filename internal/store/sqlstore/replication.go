package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// Replication is how a PostgreSQL standby follows its primary, as far as
// the promise that a revoked key fails on the next request needs: seen
// from the primary, which is the only side that knows.
type Replication struct {
	// SameServer is true when the read database is the primary itself
	// (not in recovery, same system): nothing can lag.
	SameServer bool
	// Name is the standby's application_name on the primary.
	Name string
	// SyncState is pg_stat_replication's sync_state ("sync", "async",
	// "potential", "quorum"), "" when the standby is not connected.
	SyncState string
	// SynchronousCommit is the primary's synchronous_commit for keyadm's
	// sessions: what a revoke's commit waits for.
	SynchronousCommit string
	// ReplayLag is pg_stat_replication's replay_lag (0 when idle).
	ReplayLag time.Duration
}

// Immediate reports whether a commit on the primary is visible on the
// standby before it returns: a synchronous standby and remote_apply.
func (r *Replication) Immediate() bool {
	return r.SameServer || (r.SyncState == "sync" && r.SynchronousCommit == "remote_apply")
}

// ReplicationOf reads how standby replicates primary.
func ReplicationOf(ctx context.Context, primary, standby *DB) (*Replication, error) {
	var inRecovery bool
	var clusterName, conninfo string
	err := standby.RO.QueryRowContext(ctx, `SELECT pg_is_in_recovery(), current_setting('cluster_name'),
		COALESCE((SELECT conninfo FROM pg_stat_wal_receiver LIMIT 1), '')`).Scan(&inRecovery, &clusterName, &conninfo)
	if err != nil {
		return nil, standby.formatError(err)
	}
	r := &Replication{}
	if err := primary.RW.QueryRowContext(ctx, `SELECT current_setting('synchronous_commit')`).Scan(&r.SynchronousCommit); err != nil {
		return nil, primary.formatError(err)
	}
	if !inRecovery {
		same, err := sameSystem(ctx, primary, standby)
		if err != nil {
			return nil, err
		}
		if !same {
			return nil, apikey.Errorf(apikey.EINVALID, "the read database %s is not a standby of %s (nor the same server)",
				apikey.QuotePath(standby.Location), apikey.QuotePath(primary.Location))
		}
		r.SameServer = true
		return r, nil
	}
	r.Name = walReceiverName(conninfo, clusterName)
	// A name two standbys share: the weakest of them decides.
	rows, err := primary.RW.QueryContext(ctx, `SELECT COALESCE(sync_state, ''), COALESCE(EXTRACT(EPOCH FROM replay_lag), 0)::float8
		FROM pg_stat_replication WHERE application_name = $1`, r.Name)
	if err != nil {
		return nil, primary.formatError(err)
	}
	defer rows.Close()
	for n := 0; rows.Next(); n++ {
		var state string
		var lag float64
		if err := rows.Scan(&state, &lag); err != nil {
			return nil, primary.formatError(err)
		}
		if n == 0 || state != "sync" {
			r.SyncState = state
		}
		r.ReplayLag = max(r.ReplayLag, time.Duration(lag*float64(time.Second)))
	}
	return r, primary.formatError(rows.Err())
}

// sameSystem tells whether two servers are one (the read database is the
// primary itself) by their system identifiers.
func sameSystem(ctx context.Context, a, b *DB) (bool, error) {
	var ids [2]sql.NullInt64
	for i, db := range []*DB{a, b} {
		if err := db.RO.QueryRowContext(ctx, `SELECT system_identifier FROM pg_control_system()`).Scan(&ids[i]); err != nil {
			return false, db.formatError(err)
		}
	}
	return ids[0] == ids[1], nil
}

// walReceiverName is the application_name a standby's WAL receiver gives
// the primary: the one in primary_conninfo, else cluster_name, else
// PostgreSQL's default.
func walReceiverName(conninfo, clusterName string) string {
	for _, f := range strings.Fields(conninfo) {
		if v, ok := strings.CutPrefix(f, "application_name="); ok {
			return strings.Trim(v, "'")
		}
	}
	if clusterName != "" {
		return clusterName
	}
	return "walreceiver"
}

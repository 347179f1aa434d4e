package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
)

// The variables `make cluster-up` prints (docs/scaling.md): its primary,
// its streaming hot standby, and pgbouncer in transaction pooling mode in
// front of the primary.
const (
	PrimaryEnv   = "KEYADM_TEST_PRIMARY"
	StandbyEnv   = "KEYADM_TEST_STANDBY"
	PgbouncerEnv = "KEYADM_TEST_PGBOUNCER"
)

// ClusterSkipMessage says how to run the tests that need the cluster.
const ClusterSkipMessage = "cluster tests skipped: run eval \"$(make -s cluster-up)\" to set " +
	PrimaryEnv + ", " + StandbyEnv + " and " + PgbouncerEnv + " (docs/scaling.md)"

// ClusterURLs returns the URLs of the cluster's primary, standby and
// pgbouncer; without them, the test is skipped.
func ClusterURLs(t testing.TB) (primary, standby, pgbouncer string) {
	t.Helper()
	primary, standby, pgbouncer = os.Getenv(PrimaryEnv), os.Getenv(StandbyEnv), os.Getenv(PgbouncerEnv)
	if primary == "" || standby == "" || pgbouncer == "" {
		t.Skip(ClusterSkipMessage)
	}
	return primary, standby, pgbouncer
}

// PooledURL returns a URL through the cluster's pgbouncer to a fresh, empty
// schema of its primary, dropped when the test ends. pgbouncer 1.18 refuses
// search_path as a connection parameter, so the schema belongs to a role of
// its own whose search_path it is, and the URL logs in as that role.
func PooledURL(t testing.TB) string {
	t.Helper()
	primary, _, pgbouncer := ClusterURLs(t)
	admin, err := sql.Open("pgx", primary)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	rand.Read(b)
	role := "keyadm_test_" + hex.EncodeToString(b)
	for _, q := range []string{
		`CREATE ROLE ` + role + ` LOGIN`,
		`CREATE SCHEMA ` + role + ` AUTHORIZATION ` + role,
		`ALTER ROLE ` + role + ` SET search_path = ` + role,
	} {
		if _, err := admin.Exec(q); err != nil {
			t.Fatalf("%s: %v", PrimaryEnv, err)
		}
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", primary)
		if err != nil {
			return
		}
		defer db.Close()
		ctx := context.Background()
		// pgbouncer keeps the role's server connections a while: end them,
		// or a long suite runs the primary out of connections.
		_, _ = db.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, role)
		_, _ = db.ExecContext(ctx, `DROP SCHEMA `+role+` CASCADE`)
		_, _ = db.ExecContext(ctx, `DROP ROLE `+role)
	})
	u, err := url.Parse(pgbouncer)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	return u.String()
}

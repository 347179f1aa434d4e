package main

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/store/storetest"
)

// cluster returns the URLs of a fresh schema on the test cluster's primary
// and of the same schema on its standby (docs/scaling.md: make cluster-up).
func cluster(t *testing.T) (primary, standby string) {
	t.Helper()
	p, s := os.Getenv("KEYADM_TEST_PRIMARY"), os.Getenv("KEYADM_TEST_STANDBY")
	if p == "" || s == "" {
		t.Skip("needs the test cluster: run `eval \"$(make cluster-up)\"` to set KEYADM_TEST_PRIMARY and KEYADM_TEST_STANDBY")
	}
	primary, drop, err := storetest.NewSchema(p)
	if err != nil {
		t.Fatalf("KEYADM_TEST_PRIMARY: %v", err)
	}
	t.Cleanup(drop)
	pu, _ := url.Parse(primary)
	su, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	su.RawQuery = pu.RawQuery // the same search_path
	return primary, su.String()
}

// withSetting adds a session setting (-c name=value) to a PostgreSQL URL.
func withSetting(u, setting string) string {
	// pgx reads + as itself, not as a space.
	return u + "&options=" + strings.ReplaceAll(url.QueryEscape("-c "+setting), "+", "%20")
}

func createKey(t *testing.T, db, name string) (id, key string) {
	t.Helper()
	code, out, errOut := keyadm(db, "", "create", "--name", name, "-o", "json")
	if code != 0 {
		t.Fatalf("create: %d %s", code, errOut)
	}
	var c struct{ ID, Key string }
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatal(err)
	}
	return c.ID, c.Key
}

func revoke(t *testing.T, db, id string) {
	t.Helper()
	if code, _, errOut := keyadm(db, "", "revoke", id, "--yes"); code != 0 {
		t.Fatalf("revoke: %d %s", code, errOut)
	}
}

func wantStatus(t *testing.T, s *serveProc, key string, want int, what string) {
	t.Helper()
	if got, body := verifyOverHTTP(t, s.base, key); got != want {
		t.Fatalf("%s: verify answered %d %v, want %d", what, got, body, want)
	}
}

func wantMetric(t *testing.T, s *serveProc, line string) {
	t.Helper()
	if m := httpGet(t, s.base+"/metrics"); !strings.Contains(m, "\n"+line+"\n") {
		t.Fatalf("no %q in /metrics", line)
	}
}

// TestReadDBRevocationSeenAtOnce: serve reads from a synchronous standby,
// and a key revoked by the real `keyadm revoke` on the primary is refused
// on the very next request: with remote_apply, the revoke returned only
// once the standby had applied it. No sleep, no retry.
func TestReadDBRevocationSeenAtOnce(t *testing.T) {
	primary, standby := cluster(t)
	id, key := createKey(t, primary, "via-standby")
	s := startServe(t, primary, "--read-db", standby)
	wantStatus(t, s, key, http.StatusOK, "before the revoke")
	wantMetric(t, s, "keyadm_replication_reads_from_standby 1")
	wantMetric(t, s, "keyadm_replication_revocation_immediate 1")
	if m := httpGet(t, s.base+"/metrics"); !strings.Contains(m, "keyadm_replication_replay_lag_seconds ") {
		t.Fatal("no replay lag gauge")
	}
	revoke(t, primary, id)
	wantStatus(t, s, key, http.StatusUnauthorized, "the request after the revoke")
}

// pauseReplay stops the standby applying WAL until the returned function
// runs (and at the test's end at the latest): a standby as far behind as
// an asynchronous one can be.
func pauseReplay(t *testing.T, standby string) func() {
	t.Helper()
	db, err := sql.Open("pgx", standby)
	if err != nil {
		t.Fatal(err)
	}
	resume := func() { db.Exec(`SELECT pg_wal_replay_resume()`); db.Close() }
	t.Cleanup(resume)
	if _, err := db.Exec(`SELECT pg_wal_replay_pause()`); err != nil {
		t.Fatal(err)
	}
	return resume
}

// TestReadDBAsync: where a revoke is not applied on the standby before it
// returns (here the primary's sessions of serve commit with
// synchronous_commit = local), serve refuses to start by default;
// --read-db-async primary reads from the primary, so a revoke is still
// seen at once; --read-db-async allow reads the standby, which answers
// from before the revoke for as long as it lags (here: replay paused).
func TestReadDBAsync(t *testing.T) {
	primary, standby := cluster(t)
	id, key := createKey(t, primary, "async")
	local := withSetting(primary, "synchronous_commit=local")

	code, out, errOut := keyadm(local, "", "serve", "--read-db", standby, "--listen", "127.0.0.1:0")
	if code != 1 || out != "" || !strings.HasPrefix(errOut, "keyadm: --read-db: synchronous_commit is local on the primary, not remote_apply, so a revoked key could still verify") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("serve on a standby without remote_apply: exit %d, stdout %q, stderr %q; want exit 1 and one line", code, out, errOut)
	}

	fromPrimary := startServe(t, local, "--read-db", standby, "--read-db-async", "primary")
	fromStandby := startServe(t, local, "--read-db", standby, "--read-db-async", "allow")
	for _, s := range []*serveProc{fromPrimary, fromStandby} {
		wantStatus(t, s, key, http.StatusOK, "before the revoke")
		wantMetric(t, s, "keyadm_replication_revocation_immediate 0")
		if !strings.Contains(s.log(), "level=WARN") || !strings.Contains(s.log(), "synchronous_commit is local") {
			t.Fatalf("no warning at start:\n%s", s.log())
		}
	}
	wantMetric(t, fromPrimary, "keyadm_replication_reads_from_standby 0")
	wantMetric(t, fromStandby, "keyadm_replication_reads_from_standby 1")

	resume := pauseReplay(t, standby)
	revoke(t, local, id)
	wantStatus(t, fromPrimary, key, http.StatusUnauthorized, "primary: the request after the revoke")
	wantStatus(t, fromStandby, key, http.StatusOK, "allow: the request after the revoke, the standby not yet replayed")
	resume()
	deadline := time.Now().Add(10 * time.Second)
	for code, _ := verifyOverHTTP(t, fromStandby.base, key); code != http.StatusUnauthorized; code, _ = verifyOverHTTP(t, fromStandby.base, key) {
		if time.Now().After(deadline) {
			t.Fatal("allow: the revoke never reached the standby")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTwoServesExactLastUse: two serve processes on one PostgreSQL record
// the uses of one key; whichever writes last, the key's last use is the
// latest of them, never moved back (no lost update). Each process has its
// own clock, so the times are known.
func TestTwoServesExactLastUse(t *testing.T) {
	db := storetest.PostgresURL(t)
	id, key := createKey(t, db, "shared")
	early, late := "2026-03-01T12:00:00Z", "2026-03-01T13:00:00Z"
	a := startServeEnv(t, []string{"KEYADM_TEST_NOW=" + late}, db, "--touch-interval", "1h")
	b := startServeEnv(t, []string{"KEYADM_TEST_NOW=" + early}, db, "--touch-interval", "1h")
	wantStatus(t, a, key, http.StatusOK, "serve A")
	wantStatus(t, b, key, http.StatusOK, "serve B")
	// A writes the later use first; B's earlier one must not overwrite it.
	for _, s := range []*serveProc{a, b} {
		s.cmd.Process.Signal(syscall.SIGTERM)
		<-s.done
		if c := s.cmd.ProcessState.ExitCode(); c != 0 {
			t.Fatalf("exit %d: %s", c, s.log())
		}
	}
	_, out, _ := keyadm(db, "", "show", id, "-o", "json")
	if !strings.Contains(out, `"lastUsedAt": "`+late+`"`) {
		t.Fatalf("last use is not %s:\n%s", late, out)
	}
}

package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/store"
	"github.com/keyadm/keyadm/internal/store/storetest"
)

// engines returns the databases to run a process-level test against: a
// fresh SQLite file always, a fresh PostgreSQL schema when configured.
func engines(t *testing.T) map[string]func(t *testing.T) string {
	m := map[string]func(t *testing.T) string{
		"sqlite": func(t *testing.T) string { return filepath.Join(t.TempDir(), "keyadm.db") },
	}
	if os.Getenv(storetest.PostgresEnv) != "" {
		m["postgres"] = func(t *testing.T) string { return storetest.PostgresURL(t) }
	} else {
		t.Log(storetest.PostgresSkipMessage)
	}
	return m
}

// service opens the database a test's processes used, for its checks;
// it is closed when the test ends.
func service(t *testing.T, db string) *apikey.Service {
	t.Helper()
	st, err := store.Open(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &apikey.Service{Store: st}
}

// keyadm runs the real binary (installed on PATH by testscript.Main).
func keyadm(db, stdin string, args ...string) (code int, stdout, stderr string) {
	return keyadmAt(time.Time{}, db, stdin, args...)
}

// keyadmAt runs keyadm, which waits until start (if set) before it begins.
func keyadmAt(start time.Time, db, stdin string, args ...string) (code int, stdout, stderr string) {
	cmd := exec.Command("keyadm", append([]string{"--db", db, "--actor", "tester"}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+os.TempDir())
	if !start.IsZero() {
		cmd.Env = append(cmd.Env, "KEYADM_TEST_START_AT="+strconv.FormatInt(start.UnixNano(), 10))
	}
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		code = -1
		errOut.WriteString(err.Error())
	}
	return code, out.String(), errOut.String()
}

// TestQuotaAcrossProcesses: 16 processes creating keys for one owner at
// once, against max_keys_per_user=3, end with exactly 3 active keys, on
// each engine; every refused one exits 4 and every printed secret verifies.
func TestQuotaAcrossProcesses(t *testing.T) {
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			if code, _, errOut := keyadm(db, "", "config", "set", "max_keys_per_user", "3", "--tenant", "race"); code != 0 {
				t.Fatalf("config set: %d %s", code, errOut)
			}
			// Three rounds, one owner each: more chances for a broken lock to show.
			for _, owner := range []string{"svc-1", "svc-2", "svc-3"} {
				raceCreates(t, db, owner)
			}
		})
	}
}

// raceCreates starts 16 creates for one owner at the same instant and
// checks that exactly 3 win.
func raceCreates(t *testing.T, db, owner string) {
	t.Helper()
	const n = 16
	type result struct {
		code        int
		out, errOut string
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	start := time.Now().Add(500 * time.Millisecond)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, out, errOut := keyadmAt(start, db, "", "create", "--tenant", "race", "--owner", owner, "--name", "racer", "-q")
			results[i] = result{code, out, errOut}
		}()
	}
	wg.Wait()
	var secrets []string
	refused := 0
	for i, r := range results {
		switch r.code {
		case 0:
			secrets = append(secrets, strings.TrimSpace(r.out))
		case 4:
			refused++
			if !strings.Contains(r.errOut, "max_keys_per_user=3") {
				t.Errorf("process %d refused with %q", i, r.errOut)
			}
		default:
			t.Errorf("process %d: exit %d: %s", i, r.code, r.errOut)
		}
	}
	if len(secrets) != 3 || refused != n-3 {
		t.Fatalf("owner %s: %d created, %d refused; want 3 and %d", owner, len(secrets), refused, n-3)
	}
	_, out, _ := keyadm(db, "", "list", "--tenant", "race", "--owner", owner, "--status", "active", "-q")
	if ids := strings.Fields(out); len(ids) != 3 {
		t.Fatalf("owner %s: %d active keys in the database, want 3", owner, len(ids))
	}
	for _, s := range secrets {
		if code, _, errOut := keyadm(db, s+"\n", "verify", "-q"); code != 0 {
			t.Fatalf("a printed secret does not verify: %s", errOut)
		}
	}
}

// TestMigrationsAcrossProcesses: processes opening a new database at once
// all succeed, and the schema is migrated once.
func TestMigrationsAcrossProcesses(t *testing.T) {
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			var wg sync.WaitGroup
			errs := make(chan string, 8)
			start := time.Now().Add(time.Second)
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if code, _, errOut := keyadmAt(start, db, "", "create", "--name", "first", "-q"); code != 0 {
						errs <- errOut
					}
				}()
			}
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Errorf("a concurrent first run failed: %s", e)
			}
			code, out, errOut := keyadm(db, "", "db", "status", "-o", "json")
			if code != 0 || !strings.Contains(out, `"pending": 0`) || !strings.Contains(out, `"version": 1`) {
				t.Fatalf("db status: %d %s %s", code, out, errOut)
			}
		})
	}
}

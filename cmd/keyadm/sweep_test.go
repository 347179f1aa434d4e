package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/store"
	"github.com/keyadm/keyadm/internal/store/sqlstore"
	"github.com/keyadm/keyadm/internal/store/storetest"
)

// seedStale fills a database with stale keys (created 200 days before now,
// never used) in tenant "acme", plus fresh and recently used ones that a
// 90-day sweep must leave alone.
func seedStale(t *testing.T, dbURL string, stale int) *sqlstore.DB {
	t.Helper()
	ctx := context.Background()
	old := time.Now().Add(-200 * apikey.Day)
	db, err := store.OpenSQL(ctx, dbURL, store.Options{Migrate: true, Now: func() time.Time { return old }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := storetest.Seed(ctx, db, stale, func(i int, k *apikey.Key, h []byte) []byte {
		k.TenantID = "acme"
		return h
	}); err != nil {
		t.Fatal(err)
	}
	recent := time.Now().Add(-time.Hour)
	if err := storetest.Seed(ctx, db, 10, func(i int, k *apikey.Key, h []byte) []byte {
		k.TenantID = "acme"
		k.Name = "recently-used"
		k.LastUsedAt = &recent
		return h
	}); err != nil {
		t.Fatal(err)
	}
	if err := storetest.Seed(ctx, db, 10, func(i int, k *apikey.Key, h []byte) []byte {
		k.TenantID = "other"
		return h
	}); err != nil {
		t.Fatal(err)
	}
	db.Now = nil
	return db
}

func countKeys(t *testing.T, db *sqlstore.DB, f apikey.KeyFilter) int {
	t.Helper()
	n := 0
	err := (&apikey.Service{Store: db}).Each(context.Background(), apikey.ListInput{Filter: f}, func(*apikey.Key, time.Time) error {
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func countEvents(t *testing.T, db *sqlstore.DB, action string) int {
	t.Helper()
	n := 0
	err := (&apikey.Service{Store: db}).Events(context.Background(), apikey.EventQuery{Action: action}, func(*apikey.AuditEvent) error {
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSweep: a dry run over thousands of stale keys lists them and changes
// nothing; the real sweep revokes exactly them, with an event each.
func TestSweep(t *testing.T) {
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			url := open(t)
			db := seedStale(t, url, 3000)

			code, out, errOut := keyadm(url, "", "revoke", "--unused-for", "90d", "--tenant", "acme", "--dry-run", "-q")
			if code != 0 || len(strings.Fields(out)) != 3000 || !strings.Contains(errOut, "Dry run: would revoke 3000 active keys unused for P90D in tenant acme; nothing was changed.") {
				t.Fatalf("dry run: exit %d, %d ids, stderr %q", code, len(strings.Fields(out)), errOut)
			}
			if n := countKeys(t, db, apikey.KeyFilter{Status: apikey.StatusRevoked}); n != 0 {
				t.Fatalf("dry run revoked %d keys", n)
			}

			code, _, errOut = keyadm(url, "", "revoke", "--unused-for", "90d", "--tenant", "acme")
			if code != 2 || !strings.Contains(errOut, "--yes required") {
				t.Fatalf("sweep without --yes off a terminal: exit %d %q", code, errOut)
			}

			code, out, errOut = keyadm(url, "", "revoke", "--unused-for", "90d", "--tenant", "acme", "--yes", "--reason", "stale")
			if code != 0 || out != "Revoked 3000 active keys unused for P90D in tenant acme.\n" || errOut != "" {
				t.Fatalf("sweep: exit %d, stdout %q, stderr %q", code, out, errOut)
			}
			if n := countKeys(t, db, apikey.KeyFilter{TenantID: "acme", Status: apikey.StatusRevoked}); n != 3000 {
				t.Fatalf("%d keys revoked, want 3000", n)
			}
			if n := countKeys(t, db, apikey.KeyFilter{Status: apikey.StatusActive}); n != 20 {
				t.Fatalf("%d keys still active, want the 20 recent or other-tenant ones", n)
			}
			if n := countEvents(t, db, apikey.ActionKeyRevoke); n != 3000 {
				t.Fatalf("%d revoke events, want 3000", n)
			}

			// Nothing is left to sweep; json output is an empty array.
			code, out, _ = keyadm(url, "", "revoke", "--unused-for", "90d", "--tenant", "acme", "--yes", "-o", "json")
			var none []any
			if code != 0 || json.Unmarshal([]byte(out), &none) != nil || len(none) != 0 {
				t.Fatalf("second sweep: exit %d, %q", code, out)
			}
		})
	}
}

// TestSweepInterrupted: Ctrl-C in the middle of a sweep leaves whole
// batches revoked and the rest untouched, and says how many were revoked.
func TestSweepInterrupted(t *testing.T) {
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			const total = 30000
			url := open(t)
			db := seedStale(t, url, total)

			cmd := exec.Command("keyadm", "--db", url, "--actor", "tester", "revoke", "--unused-for", "90d", "--yes")
			var errOut bytes.Buffer
			cmd.Stderr = &errOut
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Interrupt once the first batch has committed.
			deadline := time.Now().Add(30 * time.Second)
			for countEvents(t, db, apikey.ActionKeyRevoke) == 0 {
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					t.Fatal("no batch committed in 30s")
				}
				time.Sleep(5 * time.Millisecond)
			}
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			revoked := countKeys(t, db, apikey.KeyFilter{Status: apikey.StatusRevoked})
			events := countEvents(t, db, apikey.ActionKeyRevoke)
			if code == 0 {
				t.Skipf("the sweep of %d keys finished before the interrupt arrived", total)
			}
			if code != 1 || revoked == 0 || revoked >= total || revoked%apikey.DefaultSweepBatch != 0 || events != revoked {
				t.Fatalf("exit %d, %d revoked (batches of %d), %d events; stderr %q", code, revoked, apikey.DefaultSweepBatch, events, errOut.String())
			}
			want := "keyadm: interrupted: revoked " + strconv.Itoa(revoked) + " active keys unused for P90D in every tenant"
			if !strings.HasPrefix(errOut.String(), want) {
				t.Fatalf("stderr %q, want it to start %q", errOut.String(), want)
			}
		})
	}
}

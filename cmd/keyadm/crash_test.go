package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// stress skips a long test unless KEYADM_STRESS is set (make stress).
func stress(t *testing.T) {
	t.Helper()
	if os.Getenv("KEYADM_STRESS") == "" {
		t.Skip("a stress test: set KEYADM_STRESS=1 (make stress) to run it")
	}
}

// run is one keyadm process: what it was asked, how it ended, what it said.
type run struct {
	args   []string
	name   string   // create: the key's name, unique to the run
	ids    []string // revoke: the keys it targets
	code   int      // exit status; -1 when killed
	killed bool
	stdout string
	stderr string
}

// printed is the id and the secret a create printed with -o json: the
// secret is any whole, well-formed key on stdout, however the output
// ends; the id is that of the first JSON object, if there is one.
func (r *run) printed() (id, secret string) {
	for _, m := range keyPattern.FindAllString(r.stdout, -1) {
		if _, err := apikey.ParseSecret(m); err == nil {
			secret = m
			break
		}
	}
	var v struct{ ID string }
	if secret != "" && json.NewDecoder(strings.NewReader(r.stdout)).Decode(&v) == nil {
		id = v.ID
	}
	return id, secret
}

func (r *run) secret() string {
	_, s := r.printed()
	return s
}

// start runs keyadm on db and, when killAfter > 0, sends it SIGKILL after
// that long (if it is still running by then).
func start(db string, killAfter time.Duration, r *run) {
	cmd := exec.Command("keyadm", append([]string{"--db", db, "--actor", "tester"}, r.args...)...)
	cmd.Env = append(os.Environ(), "HOME="+os.TempDir())
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		r.code, r.stderr = -2, err.Error()
		return
	}
	if killAfter > 0 {
		timer := time.AfterFunc(killAfter, func() { _ = cmd.Process.Signal(syscall.SIGKILL) })
		defer timer.Stop()
	}
	err := cmd.Wait()
	r.stdout, r.stderr = out.String(), errOut.String()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			r.killed = true
		}
	case err != nil:
		r.code, r.stderr = -2, err.Error()
	}
}

// TestStressCrash: keyadm is killed with SIGKILL at random moments of a
// loop of creates and revokes (a revoke of two keys at a time, which is all
// or none). Afterwards, on each engine, the database is sound (SQLite:
// PRAGMA integrity_check), no file holds a plaintext key, every printed
// secret verifies, every key not accounted for by a printed secret is a
// never-used key of a killed create (at most one per kill: each create
// names its key uniquely), and the audit trail holds exactly one event for
// each change in the database, and none for a change that is not.
func TestStressCrash(t *testing.T) {
	stress(t)
	iterations := map[string]int{"sqlite": 300, "postgres": 300}
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			file := ""
			if name == "sqlite" {
				file = db
			}
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 6))
			// How long a whole create takes here: kills land across it.
			var runs []*run
			var took []time.Duration
			for i := range 7 {
				r := &run{name: fmt.Sprintf("calibrate-%d", i)}
				r.args = []string{"create", "-o", "json", "--name", r.name}
				began := time.Now()
				start(db, 0, r)
				took = append(took, time.Since(began))
				if r.code != 0 {
					t.Fatalf("create: exit %d: %s", r.code, r.stderr)
				}
				runs = append(runs, r)
			}
			slices.Sort(took)
			span := took[len(took)/2]
			// Kill from a fifth of the way in to a little past the end.
			from, window := span/5, span*9/10
			t.Logf("a create takes about %v; each run is killed at random %v to %v after it starts", span, from, from+window)
			kills, failures := 0, 0
			for i := range iterations[name] {
				r := &run{}
				if revocable := unrevoked(runs); len(revocable) >= 2 && rng.IntN(3) == 0 {
					pick := rng.Perm(len(revocable))[:2]
					r.ids = []string{revocable[pick[0]], revocable[pick[1]]}
					r.args = append([]string{"revoke", "--yes", "--reason", "crash test"}, r.ids...)
				} else {
					r.name = fmt.Sprintf("crash-%d", i)
					r.args = []string{"create", "-o", "json", "--name", r.name, "--meta", "loop=crash"}
				}
				start(db, from+time.Duration(rng.Int64N(int64(window))), r)
				runs = append(runs, r)
				if r.killed {
					kills++
					if file != "" {
						// What the kill left behind, before anything recovers it.
						noKeysInFiles(t, file)
					}
				} else if r.code != 0 {
					t.Errorf("%v: exit %d without a kill: %s", r.args, r.code, r.stderr)
					if failures++; failures == 5 {
						break
					}
				}
				if file != "" && i%50 == 49 {
					integrityCheck(t, file)
				}
			}
			t.Logf("%d runs, %d killed", len(runs), kills)
			if failures == 0 && kills < iterations[name]/5 {
				t.Fatalf("only %d of %d runs were killed: the kill window misses", kills, iterations[name])
			}
			if file != "" {
				noKeysInFiles(t, file)
				integrityCheck(t, file)
			}
			unseen := checkAccounts(t, db, runs)
			t.Logf("%d killed creates left a key whose secret nobody saw", unseen)
		})
	}
}

// unrevoked lists the keys created with a printed secret that no revoke
// has targeted yet, so each revoke's outcome is its own.
func unrevoked(runs []*run) []string {
	targeted := map[string]bool{}
	for _, r := range runs {
		for _, id := range r.ids {
			targeted[id] = true
		}
	}
	var ids []string
	for _, r := range runs {
		if id, _ := r.printed(); r.name != "" && id != "" && !targeted[id] {
			ids = append(ids, id)
		}
	}
	return ids
}

// checkAccounts compares the database with what the runs printed and
// answered; it returns how many keys exist whose secret was never printed.
func checkAccounts(t *testing.T, db string, runs []*run) int {
	t.Helper()
	svc := service(t, db)
	keys, byName, events := accountsOf(t, svc)
	unseen := checkCreates(t, svc, runs, keys, byName)
	checkRevokes(t, runs, keys)
	checkKeyEvents(t, keys, events)
	return unseen
}

// accountsOf reads the database: its keys by id and by name (two keys of
// one name fail the test: a create made more than one key), and how many
// events of each action each key has.
func accountsOf(t *testing.T, svc *apikey.Service) (keys, byName map[string]*apikey.Key, events map[string]map[string]int) {
	t.Helper()
	ctx := context.Background()
	keys = map[string]*apikey.Key{}
	byName = map[string]*apikey.Key{}
	err := svc.Each(ctx, apikey.ListInput{}, func(k *apikey.Key, _ time.Time) error {
		keys[k.ID] = k
		if byName[k.Name] != nil {
			return fmt.Errorf("two keys named %q: a create made more than one key", k.Name)
		}
		byName[k.Name] = k
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	events = map[string]map[string]int{} // action → key id → count
	err = svc.Events(ctx, apikey.EventQuery{}, func(e *apikey.AuditEvent) error {
		if events[e.Action] == nil {
			events[e.Action] = map[string]int{}
		}
		if e.KeyID != nil {
			events[e.Action][*e.KeyID]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys, byName, events
}

// checkCreates: a printed secret verifies as its create's key; a key is
// made by a create of the test, and one whose create did not print is left
// by a kill or fault, never used. It returns how many keys were not printed.
func checkCreates(t *testing.T, svc *apikey.Service, runs []*run, keys, byName map[string]*apikey.Key) int {
	t.Helper()
	creates := map[string]*run{}
	for _, r := range runs {
		if r.name == "" {
			continue
		}
		creates[r.name] = r
		secret := r.secret()
		if secret == "" {
			continue
		}
		// A printed secret is in the database, as the key of its own create.
		k, _, err := svc.Check(context.Background(), secret)
		if apikey.ErrorReason(err) == apikey.ReasonRevoked {
			k, err = byName[r.name], nil
		}
		if err != nil || k == nil || k.Name != r.name {
			t.Errorf("%s printed a secret that does not verify as its key: %v", r.name, err)
		}
	}
	unseen := 0
	for _, k := range keys {
		r := creates[k.Name]
		if r == nil {
			t.Errorf("key %s (%q) was made by no create of the test", k.ID, k.Name)
			continue
		}
		if r.secret() != "" {
			continue
		}
		// A create that did not print: only a kill (or a fault) between its
		// commit and its print may leave its key, never used, never revoked.
		unseen++
		if !r.killed && r.code != 1 {
			t.Errorf("%s exited %d without printing, yet its key %s exists", r.name, r.code, k.ID)
		}
		if k.LastUsedAt != nil || k.RevokedAt != nil || k.CreatedBy != "tester" {
			t.Errorf("unprinted key %s of %s is not a plain never-used key: %+v", k.ID, r.name, k)
		}
	}
	return unseen
}

// checkRevokes: revokes are all or none, and one that said so did it.
func checkRevokes(t *testing.T, runs []*run, keys map[string]*apikey.Key) {
	t.Helper()
	for _, r := range runs {
		if len(r.ids) != 2 {
			continue
		}
		a, b := keys[r.ids[0]], keys[r.ids[1]]
		if a == nil || b == nil {
			t.Errorf("revoke %v: a key is gone", r.ids)
			continue
		}
		if (a.RevokedAt == nil) != (b.RevokedAt == nil) {
			t.Errorf("revoke %v (killed %v) revoked one key of two", r.ids, r.killed)
		}
		if r.code == 0 && a.RevokedAt == nil {
			t.Errorf("revoke %v exited 0, yet the keys are active", r.ids)
		}
	}
}

// checkKeyEvents: one event for each change that is in the database, none
// for another.
func checkKeyEvents(t *testing.T, keys map[string]*apikey.Key, events map[string]map[string]int) {
	t.Helper()
	for id, k := range keys {
		if n := events[apikey.ActionKeyCreate][id]; n != 1 {
			t.Errorf("key %s has %d key.create events, want 1", id, n)
		}
		want := 0
		if k.RevokedAt != nil {
			want = 1
		}
		if n := events[apikey.ActionKeyRevoke][id]; n != want {
			t.Errorf("key %s (revoked: %v) has %d key.revoke events, want %d", id, k.RevokedAt != nil, n, want)
		}
	}
	for action, ids := range events {
		for id := range ids {
			if keys[id] == nil {
				t.Errorf("a %s event for key %s, which is not in the database", action, id)
			}
		}
	}
}

// integrityCheck runs PRAGMA integrity_check on a SQLite file (recovering
// its WAL first, as any opener does).
func integrityCheck(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`PRAGMA integrity_check`)
	if err != nil {
		t.Fatalf("integrity_check: %v", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out, []string{"ok"}) {
		t.Fatalf("integrity_check of %s: %q", path, out)
	}
}

// keyPattern finds anything shaped like a key; ParseSecret then keeps only
// those whose check matches, so random bytes never count.
var keyPattern = regexp.MustCompile(`[a-z][a-z0-9]{1,15}_[0-9A-Za-z]{46}`)

// noKeysInFiles fails if a plaintext key is in a SQLite database's files:
// the main file, its WAL and shared memory, and a rollback journal.
func noKeysInFiles(t *testing.T, path string, extra ...string) int {
	t.Helper()
	scanned := 0
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		b, err := os.ReadFile(path + suffix)
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		scanned += len(b)
		for _, m := range keyPattern.FindAll(b, -1) {
			if _, err := apikey.ParseSecret(string(m)); err == nil {
				t.Fatalf("a plaintext key is in %s", filepath.Base(path+suffix))
			}
		}
		for _, s := range extra {
			if bytes.Contains(b, []byte(s)) {
				t.Fatalf("secret text %q is in %s", s, filepath.Base(path+suffix))
			}
		}
	}
	return scanned
}

// TestNoSecretInDatabaseFiles: while another connection holds a read
// transaction open (as a reader or a crash would), the WAL keeps every
// page keyadm wrote; neither it, nor the shared memory, nor the main file
// holds any part of a secret past its hint, after creates, rotations,
// verifies, updates and revokes.
func TestNoSecretInDatabaseFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyadm.db")
	if code, _, errOut := keyadm(path, "", "db", "migrate"); code != 0 {
		t.Fatalf("db migrate: %s", errOut)
	}
	reader, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	hold, err := reader.Begin()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := hold.QueryRow(`SELECT COUNT(*) FROM api_keys`).Scan(&n); err != nil {
		t.Fatal(err)
	}

	var secrets []string
	must := func(stdin string, args ...string) string {
		t.Helper()
		code, out, errOut := keyadm(path, stdin, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		return out
	}
	for i := range 3 {
		secret := strings.TrimSpace(must("", "create", "-q", "--name", fmt.Sprintf("held-%d", i), "--meta", "env=prod"))
		secrets = append(secrets, secret)
		must(secret+"\n", "verify", "-q")
	}
	ids := strings.Fields(must("", "list", "-q"))
	for _, id := range ids[:2] {
		secret := strings.TrimSpace(must("", "rotate", id, "-q", "--grace", "1h"))
		secrets = append(secrets, secret)
		must(secret+"\n", "verify", "-q")
	}
	must("", "update", ids[2], "--description", "changed")
	must("", "revoke", ids[2], "--yes")

	info, err := os.Stat(path + "-wal")
	if err != nil || info.Size() == 0 {
		t.Fatalf("the WAL is not there to check (%v): the held reader did not keep it", err)
	}
	var tails []string
	for _, s := range secrets {
		// Past the prefix and the four characters of the hint.
		tails = append(tails, s[strings.IndexByte(s, '_')+1+apikey.HintSecretLen:])
	}
	scanned := noKeysInFiles(t, path, tails...)
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	reader.Close()
	noKeysInFiles(t, path, tails...)
	t.Logf("%d bytes of database, WAL and shared memory hold none of %d secrets", scanned, len(secrets))
}

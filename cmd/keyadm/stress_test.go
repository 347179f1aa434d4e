package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// stressWorkers is how many keyadm processes run at once.
const stressWorkers = 16

// stressDuration is how long the mixed load runs on each engine (20 s;
// KEYADM_STRESS_DURATION, a Go duration, changes it).
func stressDuration(t *testing.T) time.Duration {
	if s := os.Getenv("KEYADM_STRESS_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("KEYADM_STRESS_DURATION: %v", err)
		}
		return d
	}
	return 20 * time.Second
}

// worker is one simulated user: it owns the keys it creates (its owner id
// is its own), so it knows exactly what the database must say about them.
type worker struct {
	t      *testing.T
	db     string
	owner  string
	rng    *rand.Rand
	active []string          // secrets
	ids    map[string]string // secret → id
	dead   []string          // revoked secrets
	ops    map[string]int
	errs   []string
}

// TestStressMixedLoad: 16 processes at a time create, verify, revoke and
// list keys on one database for 20 s, on each engine. No command fails,
// none says "database is locked", and at the end the counts add up: every
// key created is listed, every active key verifies, every revoked key is
// rejected as revoked, and the audit trail has one event per change.
func TestStressMixedLoad(t *testing.T) {
	stress(t)
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			if code, _, errOut := keyadm(db, "", "db", "migrate"); code != 0 {
				t.Fatalf("db migrate: %s", errOut)
			}
			deadline := time.Now().Add(stressDuration(t))
			workers := make([]*worker, stressWorkers)
			var wg sync.WaitGroup
			for i := range workers {
				w := &worker{t: t, db: db, owner: fmt.Sprintf("svc-%02d", i), ids: map[string]string{}, ops: map[string]int{},
					rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(i)))}
				workers[i] = w
				wg.Add(1)
				go func() {
					defer wg.Done()
					for time.Now().Before(deadline) && len(w.errs) < 5 {
						w.step()
					}
				}()
			}
			wg.Wait()

			ops := map[string]int{}
			created, revoked := 0, 0
			for _, w := range workers {
				for _, e := range w.errs {
					t.Errorf("%s: %s", w.owner, e)
				}
				for op, n := range w.ops {
					ops[op] += n
				}
				created += len(w.active) + len(w.dead)
				revoked += len(w.dead)
			}
			t.Logf("%d workers ran %v commands: %d keys created, %d revoked", stressWorkers, ops, created, revoked)
			if t.Failed() {
				return
			}
			checkTotals(t, db, workers, created, revoked)
		})
	}
}

// step runs one command, chosen at random, and checks its answer.
func (w *worker) step() {
	switch p := w.rng.IntN(100); {
	case p < 35 || len(w.active) == 0:
		w.create()
	case p < 65:
		w.verify(w.active[w.rng.IntN(len(w.active))], 0)
	case p < 75 && len(w.dead) > 0:
		w.verify(w.dead[w.rng.IntN(len(w.dead))], 5)
	case p < 85:
		w.revoke()
	default:
		w.list()
	}
}

func (w *worker) fail(format string, args ...any) {
	w.errs = append(w.errs, fmt.Sprintf(format, args...))
}

// do runs keyadm and checks its exit status and that stderr says nothing
// unless the status is want and the message matches.
func (w *worker) do(want int, stdin, wantErr string, args ...string) (string, bool) {
	w.ops[args[0]]++
	code, out, errOut := keyadm(w.db, stdin, args...)
	if strings.Contains(errOut, "locked") {
		w.fail("%v: a lock reached the user: %s", args, errOut)
		return "", false
	}
	if code != want || (want == 0 && errOut != "") || (want != 0 && !strings.Contains(errOut, wantErr)) {
		w.fail("%v: exit %d, want %d: %q", args, code, want, errOut)
		return "", false
	}
	return out, true
}

func (w *worker) create() {
	out, ok := w.do(0, "", "", "create", "-o", "json", "--owner", w.owner, "--name", fmt.Sprintf("load-%d", w.ops["create"]))
	if !ok {
		return
	}
	r := &run{stdout: out}
	id, secret := r.printed()
	if secret == "" {
		w.fail("create printed no key: %q", out)
		return
	}
	w.active = append(w.active, secret)
	w.ids[secret] = id
}

func (w *worker) verify(secret string, want int) {
	out, ok := w.do(want, secret+"\n", "was revoked", "verify", "-o", "json")
	if ok && want == 0 && !strings.Contains(out, w.ids[secret]) {
		w.fail("verify printed another key: %s", out)
	}
}

func (w *worker) revoke() {
	if len(w.active) == 0 {
		return
	}
	i := w.rng.IntN(len(w.active))
	secret := w.active[i]
	if _, ok := w.do(0, "", "", "revoke", w.ids[secret], "--yes", "-q"); !ok {
		return
	}
	w.active = append(w.active[:i], w.active[i+1:]...)
	w.dead = append(w.dead, secret)
}

// list checks the worker's own keys: all of them, and the revoked ones.
func (w *worker) list() {
	out, ok := w.do(0, "", "", "list", "--owner", w.owner, "--all", "-q")
	if ok && len(strings.Fields(out)) != len(w.active)+len(w.dead) {
		w.fail("list shows %d keys of %s, want %d", len(strings.Fields(out)), w.owner, len(w.active)+len(w.dead))
	}
	out, ok = w.do(0, "", "", "list", "--owner", w.owner, "--status", "revoked", "--all", "-q")
	if ok && len(strings.Fields(out)) != len(w.dead) {
		w.fail("list shows %d revoked keys of %s, want %d", len(strings.Fields(out)), w.owner, len(w.dead))
	}
}

// checkTotals compares the whole database with what the workers did.
func checkTotals(t *testing.T, db string, workers []*worker, created, revoked int) {
	ctx := context.Background()
	svc := service(t, db)
	count := func(status apikey.Status) int {
		n := 0
		if err := svc.Each(ctx, apikey.ListInput{Filter: apikey.KeyFilter{Status: status}}, func(*apikey.Key, time.Time) error {
			n++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	events := func(action string) int {
		n := 0
		if err := svc.Events(ctx, apikey.EventQuery{Action: action}, func(*apikey.AuditEvent) error {
			n++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(""); n != created {
		t.Errorf("%d keys in the database, %d created", n, created)
	}
	if n := count(apikey.StatusRevoked); n != revoked {
		t.Errorf("%d revoked keys in the database, %d revoked", n, revoked)
	}
	if n := events(apikey.ActionKeyCreate); n != created {
		t.Errorf("%d key.create events, %d keys created", n, created)
	}
	if n := events(apikey.ActionKeyRevoke); n != revoked {
		t.Errorf("%d key.revoke events, %d keys revoked", n, revoked)
	}
	for _, w := range workers {
		for _, s := range w.active {
			if k, _, err := svc.Check(ctx, s); err != nil || k.ID != w.ids[s] {
				t.Errorf("%s: an active key does not verify: %v", w.owner, err)
			}
		}
		for _, s := range w.dead {
			if _, _, err := svc.Check(ctx, s); apikey.ErrorReason(err) != apikey.ReasonRevoked {
				t.Errorf("%s: a revoked key is not rejected as revoked: %v", w.owner, err)
			}
		}
	}
}

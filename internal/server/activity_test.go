package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// fakeWrites records what an activity writes, and fails from the batch
// failAt on (-1: never).
type fakeWrites struct {
	mu      sync.Mutex
	batches []apikey.Activity
	failAt  int
	written int
	failed  int
}

func (f *fakeWrites) activity() *activity {
	return &activity{
		write: func(_ context.Context, a apikey.Activity) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.failAt >= 0 && len(f.batches) >= f.failAt {
				return errors.New("database down")
			}
			f.batches = append(f.batches, apikey.Activity{Uses: maps.Clone(a.Uses), Counts: append([]apikey.UsageCount(nil), a.Counts...)})
			return nil
		},
		log:     slog.New(slog.DiscardHandler),
		written: func(n int) { f.written += n },
		failed:  func(n int) { f.failed += n },
	}
}

func (f *fakeWrites) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.batches)
}

// totals sums what the batches wrote: each key's last use, and counts by
// key and outcome.
func (f *fakeWrites) totals(t *testing.T) (uses map[string]time.Time, counts map[string]int64) {
	t.Helper()
	uses, counts = map[string]time.Time{}, map[string]int64{}
	for _, b := range f.batches {
		for id, at := range b.Uses {
			if _, ok := uses[id]; ok {
				t.Fatalf("%s's last use written twice", id)
			}
			uses[id] = at
		}
		for _, c := range b.Counts {
			counts[c.KeyID+" "+c.Outcome] += c.Count
		}
	}
	return uses, counts
}

// TestActivityCoalesces: many uses of a key make one write of its latest
// use, however they arrive, with its counts, in one batch.
func TestActivityCoalesces(t *testing.T) {
	f := &fakeWrites{failAt: -1}
	a := f.activity()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a.use("a", t0.Add(3*time.Second))
	a.use("a", t0.Add(time.Second)) // out of order: never moves back
	a.use("b", t0)
	for i := range 100 {
		a.use("c", t0.Add(time.Duration(i)*time.Millisecond))
		a.count(&apikey.Key{ID: "c", TenantID: "t"}, t0, "valid")
	}
	a.count(&apikey.Key{ID: "d", TenantID: "t"}, t0, "revoked") // counted, not used
	if a.size() != 3 {
		t.Fatalf("%d pending, want 3", a.size())
	}
	if err := a.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Time{"a": t0.Add(3 * time.Second), "b": t0, "c": t0.Add(99 * time.Millisecond)}
	if len(f.batches) != 1 || !maps.Equal(f.batches[0].Uses, want) || f.written != 3 {
		t.Fatalf("writes %v, want one batch of %v", f.batches, want)
	}
	wantCounts := []apikey.UsageCount{{KeyID: "c", TenantID: "t", Hour: t0, Outcome: "valid", Count: 100}, {KeyID: "d", TenantID: "t", Hour: t0, Outcome: "revoked", Count: 1}}
	if got := f.batches[0].Counts; len(got) != 2 || !(got[0] == wantCounts[0] && got[1] == wantCounts[1] || got[0] == wantCounts[1] && got[1] == wantCounts[0]) {
		t.Fatalf("counts %v, want %v", got, wantCounts)
	}
	if err := a.flush(context.Background()); err != nil || len(f.batches) != 1 {
		t.Fatalf("a flush with nothing pending wrote: %v %v", f.batches, err)
	}
}

// TestActivityBatches: a flush writes at most activityBatch keys per
// transaction, each key's use and counts in the same one, every key and
// every count once.
func TestActivityBatches(t *testing.T) {
	f := &fakeWrites{failAt: -1}
	a := f.activity()
	hour := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	n := 2*activityBatch + 7
	for i := range n {
		k := &apikey.Key{ID: fmt.Sprintf("k%04d", i), TenantID: "t"}
		if i%10 != 0 { // every tenth key is only counted: rejected
			a.use(k.ID, hour)
		}
		for _, outcome := range []string{"valid", "revoked", "expired"} {
			a.count(k, hour, outcome)
		}
	}
	if err := a.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, b := range f.batches {
		keys := map[string]bool{}
		for id := range b.Uses {
			keys[id] = true
		}
		for _, c := range b.Counts {
			keys[c.KeyID] = true
		}
		if len(keys) > activityBatch {
			t.Fatalf("a batch of %d keys", len(keys))
		}
		for _, c := range b.Counts {
			if _, used := b.Uses[c.KeyID]; !used && c.KeyID[4] != '0' {
				t.Fatalf("%s's counts and its use in different batches", c.KeyID)
			}
		}
	}
	uses, counts := f.totals(t)
	if len(f.batches) != 3 || len(uses) != n-(n+9)/10 || len(counts) != 3*n {
		t.Fatalf("%d batches, %d uses, %d counts; want 3, %d, %d", len(f.batches), len(uses), len(counts), n-(n+9)/10, 3*n)
	}
	for k, c := range counts {
		if c != 1 {
			t.Fatalf("%s counted %d times", k, c)
		}
	}
}

// TestActivityKeepsFailedWrites: the batch that fails and those after it
// stay pending for the next flush (a later use recorded meanwhile wins,
// counts add up); those before it are written once.
func TestActivityKeepsFailedWrites(t *testing.T) {
	f := &fakeWrites{failAt: 1}
	a := f.activity()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	n := activityBatch + 2
	for i := range n {
		k := &apikey.Key{ID: fmt.Sprint(i), TenantID: "t"}
		a.use(k.ID, t0)
		a.count(k, t0, "valid")
	}
	if err := a.flush(context.Background()); err == nil {
		t.Fatal("a failed write was not reported")
	}
	if len(f.batches) != 1 || f.written != len(f.batches[0].Uses) || f.failed != n-f.written || a.size() != f.failed {
		t.Fatalf("%d batches, written %d, failed %d, pending %d; want 1 batch, the rest failed and pending", len(f.batches), f.written, f.failed, a.size())
	}
	var kept string
	for id := range a.uses {
		kept = id
	}
	a.use(kept, t0.Add(time.Hour))
	a.count(&apikey.Key{ID: kept, TenantID: "t"}, t0, "valid")
	f.failAt = -1
	if err := a.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	uses, counts := f.totals(t)
	if len(uses) != n || !uses[kept].Equal(t0.Add(time.Hour)) || counts[kept+" valid"] != 2 || len(counts) != n {
		t.Fatalf("%d uses (%s at %v, counted %d), %d counts; want %d, the later use, 2, %d", len(uses), kept, uses[kept], counts[kept+" valid"], len(counts), n, n)
	}
}

// TestActivityFinishesBatch: a batch begun when the flush's context ends
// runs to its end (a commit cut short could have landed: writing its counts
// again would count them twice); the batches after it stay pending.
func TestActivityFinishesBatch(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var writes []error
	a := &activity{log: slog.New(slog.DiscardHandler), written: func(int) {}, failed: func(int) {},
		write: func(wctx context.Context, _ apikey.Activity) error {
			cancel() // shutdown, while the batch commits
			writes = append(writes, wctx.Err())
			return wctx.Err()
		}}
	for i := range activityBatch + 1 {
		a.use(fmt.Sprint(i), time.Now())
	}
	if err := a.flush(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("flush: %v, want the end of its context", err)
	}
	if len(writes) != 1 || writes[0] != nil || a.size() == 0 || a.size() > activityBatch {
		t.Fatalf("writes %v, %d pending; want one whole write and the other batch pending", writes, a.size())
	}
}

// TestActivityBatchDeadline: a batch keeps to the deadline of the flush's
// context (shutdown's), though not to its cancellation.
func TestActivityBatchDeadline(t *testing.T) {
	a := &activity{log: slog.New(slog.DiscardHandler), written: func(int) {}, failed: func(int) {},
		write: func(wctx context.Context, _ apikey.Activity) error {
			<-wctx.Done() // a database that does not answer
			return wctx.Err()
		}}
	a.use("a", time.Now())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	began := time.Now()
	if err := a.flush(ctx); !errors.Is(err, context.DeadlineExceeded) || time.Since(began) > 5*time.Second {
		t.Fatalf("flush: %v after %s, want the deadline's error after about 50ms", err, time.Since(began))
	}
	if a.size() != 1 {
		t.Fatalf("%d pending, want the unwritten use", a.size())
	}
}

// TestActivityRun: run flushes at each tick until its context ends.
func TestActivityRun(t *testing.T) {
	f := &fakeWrites{failAt: -1}
	a := f.activity()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.run(ctx, 5*time.Millisecond)
	}()
	for i := range 3 {
		a.use("a", time.Unix(int64(i), 0))
		deadline := time.Now().Add(5 * time.Second)
		for f.count() <= i {
			if time.Now().After(deadline) {
				t.Fatalf("tick %d: no flush", i)
			}
			time.Sleep(time.Millisecond)
		}
	}
	cancel()
	<-done
	if f.count() != 3 {
		t.Fatalf("%d writes, want 3: one per tick with a use", f.count())
	}
}

// TestPacer: a paced flush rests after each batch restFactor times as
// long as the batch took, or until the next batch is due on a schedule
// spread evenly over its budget, whichever is longer; unpaced, or at the
// end of its context, it does not wait.
func TestPacer(t *testing.T) {
	ctx := context.Background()
	waited := func(p *pacer, ctx context.Context, next int, took time.Duration) time.Duration {
		began := time.Now()
		p.pause(ctx, next, took)
		return time.Since(began)
	}
	var unpaced *pacer
	unpaced.plan(10)
	if d := waited(unpaced, ctx, 5, time.Second); d > 10*time.Millisecond {
		t.Fatalf("unpaced: waited %s", d)
	}
	p := newPacer(200 * time.Millisecond)
	p.plan(4)
	if d := time.Since(p.start) + waited(p, ctx, 1, 0); d < 45*time.Millisecond || d > 2*time.Second {
		t.Fatalf("batch 1 of 4 over 200ms started %s after the first, want about 50ms", d)
	}
	if d := waited(p, ctx, 1, 0); d > 10*time.Millisecond {
		t.Fatalf("a quick batch behind its schedule: waited %s", d)
	}
	if d := waited(p, ctx, 1, 20*time.Millisecond); d < restFactor*20*time.Millisecond-5*time.Millisecond {
		t.Fatalf("a 20ms batch behind its schedule: rested %s, want %s", d, restFactor*20*time.Millisecond)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	p = newPacer(time.Hour)
	p.plan(2)
	if d := waited(p, done, 1, time.Minute); d > 10*time.Millisecond {
		t.Fatalf("paused %s after the context's end", d)
	}
}

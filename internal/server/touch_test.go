package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// fakeWrites records what lastUse writes, and fails while failing is set.
type fakeWrites struct {
	mu      sync.Mutex
	batches []map[string]time.Time
	failing bool
	written int
	failed  int
}

func (f *fakeWrites) lastUse() *lastUse {
	return &lastUse{
		write: func(_ context.Context, uses map[string]time.Time) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.failing {
				return errors.New("database down")
			}
			f.batches = append(f.batches, maps.Clone(uses))
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

// TestLastUseCoalesces: many uses of a key make one write, of its latest
// use, however they arrive.
func TestLastUseCoalesces(t *testing.T) {
	f := &fakeWrites{}
	l := f.lastUse()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l.record("a", t0.Add(3*time.Second))
	l.record("a", t0.Add(time.Second)) // out of order: never moves back
	l.record("b", t0)
	for i := range 100 {
		l.record("c", t0.Add(time.Duration(i)*time.Millisecond))
	}
	if l.size() != 3 {
		t.Fatalf("%d pending, want 3", l.size())
	}
	if err := l.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Time{"a": t0.Add(3 * time.Second), "b": t0, "c": t0.Add(99 * time.Millisecond)}
	if len(f.batches) != 1 || !maps.Equal(f.batches[0], want) || f.written != 3 {
		t.Fatalf("writes %v, want one batch %v", f.batches, want)
	}
	if err := l.flush(context.Background()); err != nil || len(f.batches) != 1 {
		t.Fatalf("a flush with nothing pending wrote: %v %v", f.batches, err)
	}
}

// TestLastUseBatches: a flush writes at most touchBatch keys per
// transaction, and every key once.
func TestLastUseBatches(t *testing.T) {
	f := &fakeWrites{}
	l := f.lastUse()
	now := time.Now()
	n := 2*touchBatch + 7
	for i := range n {
		l.record(fmt.Sprint(i), now)
	}
	if err := l.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, b := range f.batches {
		if len(b) > touchBatch {
			t.Fatalf("a batch of %d", len(b))
		}
		for id := range b {
			if seen[id] {
				t.Fatalf("%s written twice", id)
			}
			seen[id] = true
		}
	}
	if len(f.batches) != 3 || len(seen) != n {
		t.Fatalf("%d batches, %d keys; want 3 and %d", len(f.batches), len(seen), n)
	}
}

// TestLastUseKeepsFailedWrites: uses whose write failed stay pending (the
// later time winning over a use recorded meanwhile) for the next flush.
func TestLastUseKeepsFailedWrites(t *testing.T) {
	f := &fakeWrites{failing: true}
	l := f.lastUse()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l.record("a", t0)
	l.record("b", t0.Add(time.Minute))
	if err := l.flush(context.Background()); err == nil {
		t.Fatal("a failed write was not reported")
	}
	if f.failed != 2 || l.size() != 2 {
		t.Fatalf("failed %d, pending %d; want 2 and 2", f.failed, l.size())
	}
	l.record("a", t0.Add(time.Hour))
	l.record("b", t0) // older than the failed one: the failed one stays
	f.failing = false
	if err := l.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Time{"a": t0.Add(time.Hour), "b": t0.Add(time.Minute)}
	if len(f.batches) != 1 || !maps.Equal(f.batches[0], want) {
		t.Fatalf("writes %v, want %v", f.batches, want)
	}
}

// TestLastUseRun: run flushes at each tick until its context ends.
func TestLastUseRun(t *testing.T) {
	f := &fakeWrites{}
	l := f.lastUse()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.run(ctx, 5*time.Millisecond)
	}()
	for i := range 3 {
		l.record("a", time.Unix(int64(i), 0))
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

// TestUsageBatches: a flush writes the counts in batches of about
// usageBatch, each key's counts in one of them, every count once; a batch
// that fails goes back to pending with those after it, for the next flush.
func TestUsageBatches(t *testing.T) {
	var batches [][]apikey.UsageCount
	failAt := -1
	u := &usageCounts{log: slog.New(slog.DiscardHandler), write: func(_ context.Context, c []apikey.UsageCount) error {
		if len(batches) == failAt {
			return errors.New("database down")
		}
		batches = append(batches, slices.Clone(c))
		return nil
	}}
	hour := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	n := 2*usageBatch + 7
	for i := range n {
		k := &apikey.Key{ID: fmt.Sprintf("k%04d", i), TenantID: "t"}
		for _, outcome := range []string{"valid", "revoked", "expired"} { // 3: batches end mid-key
			u.record(k, hour, outcome)
		}
	}
	failAt = 1
	if err := u.flush(context.Background()); err == nil {
		t.Fatal("a failed batch was not reported")
	}
	if len(batches) != 1 || len(u.pending) != 3*n-len(batches[0]) {
		t.Fatalf("%d batches written, %d counts pending; want 1 and the rest", len(batches), len(u.pending))
	}
	failAt = -1
	if err := u.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for i, b := range batches {
		if len(b) > usageBatch+2 {
			t.Fatalf("a batch of %d", len(b))
		}
		for _, c := range b {
			if j, ok := seen[c.KeyID+c.Outcome]; ok || c.Count != 1 {
				t.Fatalf("%s %s counted %d, again in batch %d", c.KeyID, c.Outcome, c.Count, j)
			}
			seen[c.KeyID+c.Outcome] = i
		}
	}
	for i := range n {
		id := fmt.Sprintf("k%04d", i)
		if seen[id+"valid"] != seen[id+"revoked"] || seen[id+"valid"] != seen[id+"expired"] {
			t.Fatalf("%s's counts split over batches", id)
		}
	}
	if len(seen) != 3*n || len(u.pending) != 0 {
		t.Fatalf("%d counts written, %d pending; want %d and 0", len(seen), len(u.pending), 3*n)
	}
}

// TestPacer: a paced flush pauses after a batch as long as it took, until
// its budget is spent; unpaced, or at the end of its context, never.
func TestPacer(t *testing.T) {
	ctx := context.Background()
	var unpaced *pacer
	start := time.Now().Add(-time.Hour)
	if err := unpaced.pause(ctx, start); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if err := newPacer(time.Hour).pause(ctx, began.Add(-20*time.Millisecond)); err != nil || time.Since(began) < restFactor*20*time.Millisecond {
		t.Fatalf("paused %s (%v), want %s", time.Since(began), err, restFactor*20*time.Millisecond)
	}
	began = time.Now()
	if err := newPacer(10*time.Millisecond).pause(ctx, began.Add(-20*time.Millisecond)); err != nil || time.Since(began) > 10*time.Millisecond {
		t.Fatalf("paused %s (%v) past the budget", time.Since(began), err)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if err := newPacer(time.Hour).pause(done, time.Now().Add(-time.Minute)); !errors.Is(err, context.Canceled) {
		t.Fatalf("after the context's end: %v", err)
	}
}

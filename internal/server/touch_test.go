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

package server

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// touchBatch is how many keys one last-use transaction writes: few, so
// that a flush after a busy interval holds the write lock briefly, and a
// request waits for one batch at most (see pacer).
const touchBatch = 100

// lastUse coalesces key uses in memory: each key keeps only its latest use
// until the next flush, so a key is written at most once per interval
// however often it is used. Verification never waits for it.
type lastUse struct {
	// write records uses in one transaction (Service.Touch).
	write func(ctx context.Context, uses map[string]time.Time) error
	log   *slog.Logger
	// written counts keys written, and failed those whose write failed.
	written, failed func(n int)

	mu      sync.Mutex
	pending map[string]time.Time
	// last is how many keys the last flush took: the next interval's map
	// starts that large rather than growing to it again, request by
	// request.
	last int
}

// record notes a use of key id at a time.
func (l *lastUse) record(id string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pending == nil {
		l.pending = make(map[string]time.Time, l.last)
	}
	if prev, ok := l.pending[id]; !ok || at.After(prev) {
		l.pending[id] = at
	}
}

// size is how many keys wait to be written.
func (l *lastUse) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pending)
}

// flush writes every pending use, in batches, at once.
func (l *lastUse) flush(ctx context.Context) error { return l.flushPaced(ctx, nil) }

// flushPaced writes every pending use, in batches paced by p (nil: not
// paced). A batch that fails goes back to pending (unless a later use has
// come meanwhile), for the next flush, and so do the uses not yet tried
// when ctx ends.
func (l *lastUse) flushPaced(ctx context.Context, p *pacer) error {
	l.mu.Lock()
	uses := l.pending
	l.pending, l.last = nil, len(uses)
	l.mu.Unlock()
	var firstErr error
	batch := make(map[string]time.Time, min(len(uses), touchBatch))
	send := func() {
		if len(batch) == 0 {
			return
		}
		start := time.Now()
		err := l.write(ctx, batch)
		if err == nil {
			l.written(len(batch))
			err = p.pause(ctx, start)
		} else {
			l.failed(len(batch))
			l.keep(batch)
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
		clear(batch)
	}
	for id, at := range uses {
		if ctx.Err() != nil {
			l.record(id, at) // for the next flush
			continue
		}
		batch[id] = at
		if len(batch) == touchBatch {
			send()
		}
	}
	send()
	return firstErr
}

// keep puts uses whose write failed back to pending.
func (l *lastUse) keep(uses map[string]time.Time) {
	for id, at := range uses {
		l.record(id, at)
	}
}

// run flushes every interval, paced, until ctx is done. The final flush
// is the caller's, once no request can record a use any more.
func (l *lastUse) run(ctx context.Context, interval time.Duration) {
	every(ctx, interval, func(ctx context.Context) error {
		return l.flushPaced(ctx, newPacer(interval*4/5))
	}, func(err error) {
		l.log.Error("cannot record last use; will retry", "keys", l.size(), "err", err)
	})
}

package server

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// touchBatch is how many keys one last-use transaction writes, so a flush
// after a busy interval does not hold the write lock for long.
const touchBatch = 500

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
}

// record notes a use of key id at a time.
func (l *lastUse) record(id string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pending == nil {
		l.pending = map[string]time.Time{}
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

// flush writes every pending use, in batches. A batch that fails goes back
// to pending (unless a later use has come meanwhile), for the next flush.
func (l *lastUse) flush(ctx context.Context) error {
	l.mu.Lock()
	uses := l.pending
	l.pending = nil
	l.mu.Unlock()
	var firstErr error
	batch := make(map[string]time.Time, min(len(uses), touchBatch))
	send := func() {
		if len(batch) == 0 {
			return
		}
		if err := l.write(ctx, batch); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			l.failed(len(batch))
			for id, at := range batch {
				l.record(id, at)
			}
		} else {
			l.written(len(batch))
		}
		clear(batch)
	}
	for id, at := range uses {
		batch[id] = at
		if len(batch) == touchBatch {
			send()
		}
	}
	send()
	return firstErr
}

// run flushes every interval until ctx is done. The final flush is the
// caller's, once no request can record a use any more.
func (l *lastUse) run(ctx context.Context, interval time.Duration) {
	flushEvery(ctx, interval, l.flush, func(err error) {
		l.log.Error("cannot record last use; will retry", "keys", l.size(), "err", err)
	})
}

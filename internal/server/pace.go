package server

import (
	"context"
	"time"
)

// A flush of last uses or usage counts shares the CPU with the requests
// (SQLite runs in the process; on a small machine PostgreSQL shares its
// cores too). After a busy interval it writes as many keys as were used
// in it, tens of thousands: in one go that took seconds of CPU, and every
// request arriving meanwhile waited behind it (issue 17: p99 of hundreds
// of milliseconds at half of verify's peak). So a periodic flush writes
// small batches and, after each, pauses restFactor times as long as the
// batch took: a request waits for one batch at most, and the two flushes
// (last uses, usage counts), each busy a quarter of the time at most,
// leave the requests at least half the CPU. Once its budget has gone a
// flush stops pausing, so that it still ends before the next one is due.
// The flush at shutdown does not pause.
type pacer struct {
	until time.Time // no pauses from then on; zero: none at all
}

// restFactor is how many times a batch's time a paced flush then rests.
const restFactor = 3

// newPacer paces a flush that should be over within budget.
func newPacer(budget time.Duration) *pacer {
	return &pacer{until: time.Now().Add(budget)}
}

// pause waits restFactor times as long as the batch that began at start
// took, while the flush is paced; it returns early, with ctx's error, when
// ctx ends.
func (p *pacer) pause(ctx context.Context, start time.Time) error {
	if p == nil {
		return ctx.Err()
	}
	now := time.Now()
	rest := restFactor * now.Sub(start)
	if rest <= 0 || now.Add(rest).After(p.until) {
		return ctx.Err()
	}
	t := time.NewTimer(rest)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// every calls fn every interval until ctx is done, and failed with each
// error (a flush's pending writes stay for the next one). An error of a
// call that ctx's end cut short is not one: the caller's last flush, at
// shutdown, writes what it left.
func every(ctx context.Context, interval time.Duration, fn func(context.Context) error, failed func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				failed(err)
			}
		}
	}
}

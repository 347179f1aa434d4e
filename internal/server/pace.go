package server

import (
	"context"
	"time"
)

// A flush of keys' activity shares the CPU with the requests (SQLite runs
// in the process; on a small machine PostgreSQL shares its cores too).
// After a busy interval it writes as many keys as were used in it, tens of
// thousands: in one go that took seconds of CPU, and requests arriving
// meanwhile waited behind it (issue 17). So a periodic flush writes
// batches and rests after each, for whichever is longer: restFactor times
// as long as the batch took (the flush takes at most a quarter of the
// time, however slow its batches are under load), or until the next batch
// is due on a schedule that spreads the batches evenly over the budget,
// four fifths of the interval (100,000 keys in batches of 500 over 48 s:
// one every 240 ms). A flush that cannot finish within its budget at that
// pace runs on, and the next one starts when it ends: under load, last
// uses are written later rather than requests answered later. (An
// earlier pacer stopped resting once its budget had gone; under load its
// batches were slow, it fell behind, and then held the core until it
// ended: p50 of 50-250 ms for 15-25 s after each busy minute.) The flush
// at shutdown does not pause.
type pacer struct {
	start  time.Time
	budget time.Duration
	step   time.Duration // between the starts of two batches (plan)
}

// restFactor is how many times a batch's time a paced flush rests at
// least.
const restFactor = 3

// newPacer paces a flush that should be over within budget.
func newPacer(budget time.Duration) *pacer {
	return &pacer{start: time.Now(), budget: budget}
}

// plan shares the budget out among n batches.
func (p *pacer) plan(n int) {
	if p != nil && n > 0 {
		p.step = p.budget / time.Duration(n)
	}
}

// pause rests after a batch that took took, before batch next, while the
// flush is paced; it returns early when ctx ends.
func (p *pacer) pause(ctx context.Context, next int, took time.Duration) {
	if p == nil {
		return
	}
	rest := max(restFactor*took, time.Until(p.start.Add(time.Duration(next)*p.step)))
	if rest <= 0 {
		return
	}
	t := time.NewTimer(rest)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
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

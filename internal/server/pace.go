package server

import (
	"context"
	"time"
)

// A flush of keys' activity shares the CPU with the requests (SQLite runs
// in the process; on a small machine PostgreSQL shares its cores too).
// After a busy interval it writes as many keys as were used in it, tens of
// thousands: in one go that took seconds of CPU, and requests arriving
// meanwhile waited behind it. Paced so that each batch rested three times
// as long as it took, the flush still held a quarter of the core for a
// quarter of the interval, and at half of verify's peak the requests
// queued (issue 17: p50 of 10-30 ms, p99 over 100 ms). So a periodic
// flush spreads its batches evenly over its budget, four fifths of the
// interval: 100,000 keys in batches of 100 over 48 s start one batch every
// 48 ms, a few milliseconds of work each. A flush behind its schedule
// (its batches slower than their share) does not pause, so that it still
// ends before the next one is due. The flush at shutdown does not pause.
type pacer struct {
	start  time.Time
	budget time.Duration
	step   time.Duration // between the starts of two batches (plan)
}

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

// pause waits until batch next is due, while the flush is paced; it
// returns early when ctx ends.
func (p *pacer) pause(ctx context.Context, next int) {
	if p == nil {
		return
	}
	wait := time.Until(p.start.Add(time.Duration(next) * p.step))
	if wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
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

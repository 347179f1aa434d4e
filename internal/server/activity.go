package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// activityBatch is how many keys one flush transaction writes. Each
// commit on SQLite empties the page caches of serve's read connections,
// which then read their pages again: with batches of 100 (1,000 commits
// for 100,000 keys) verify's p50 during a flush was 2-700 ms at half of
// its peak on one core; with 500, 0.4-60 ms, mostly under 7; with 1,000,
// 0.6-18 ms (bench-serve's flush case: two runs of 100 and of 500, one
// of 1,000). 500 keeps a batch's hold on the write lock, and on
// PostgreSQL on its keys' rows, to about 50-100 ms.
const activityBatch = 500

// activity coalesces in memory what requests record of keys until the
// next flush: each key's latest use, and its verifications by hour and
// outcome. A key is written at most once per interval however often it is
// used, and its last use and its counts go in the same transaction, so
// that its row is written once. Requests never wait for it.
type activity struct {
	// write records a batch in one transaction (Service.RecordActivity).
	write func(ctx context.Context, a apikey.Activity) error
	log   *slog.Logger
	// written counts last uses written, and failed those whose write
	// failed or was not tried (they stay pending).
	written, failed func(n int)

	mu     sync.Mutex
	uses   map[string]time.Time
	counts map[usageKey]int64
	// lastUses and lastCounts are how large the last flush's maps were:
	// the next interval's maps start that large rather than growing to
	// it again, request by request.
	lastUses, lastCounts int
}

// usageKey is what a usage count is kept by until it is written.
type usageKey struct {
	keyID, tenant, outcome string
	hour                   time.Time
}

// use notes a use of key id at a time.
func (a *activity) use(id string, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.keepUse(id, at)
}

// count counts one verification of a key with an outcome at a time.
func (a *activity) count(k *apikey.Key, at time.Time, outcome string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.keepCount(usageKey{k.ID, k.TenantID, outcome, at.UTC().Truncate(time.Hour)}, 1)
}

// keepUse and keepCount add to pending; a.mu is held.
func (a *activity) keepUse(id string, at time.Time) {
	if a.uses == nil {
		a.uses = make(map[string]time.Time, a.lastUses)
	}
	if prev, ok := a.uses[id]; !ok || at.After(prev) {
		a.uses[id] = at
	}
}

func (a *activity) keepCount(k usageKey, n int64) {
	if a.counts == nil {
		a.counts = make(map[usageKey]int64, a.lastCounts)
	}
	a.counts[k] += n
}

// size is how many keys' last uses wait to be written.
func (a *activity) size() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.uses)
}

// take empties pending into batches of at most activityBatch keys, each
// key's use and counts in the same batch.
func (a *activity) take() []apikey.Activity {
	a.mu.Lock()
	uses, counts := a.uses, a.counts
	a.uses, a.counts = nil, nil
	a.lastUses, a.lastCounts = len(uses), len(counts)
	a.mu.Unlock()
	byKey := make(map[string][]apikey.UsageCount)
	for k, n := range counts {
		byKey[k.keyID] = append(byKey[k.keyID], apikey.UsageCount{KeyID: k.keyID, TenantID: k.tenant, Hour: k.hour, Outcome: k.outcome, Count: n})
	}
	var out []apikey.Activity
	var b apikey.Activity
	keys := 0
	add := func(id string) {
		if keys == activityBatch {
			out, b, keys = append(out, b), apikey.Activity{}, 0
		}
		if at, ok := uses[id]; ok {
			if b.Uses == nil {
				b.Uses = make(map[string]time.Time, activityBatch)
			}
			b.Uses[id] = at
		}
		b.Counts = append(b.Counts, byKey[id]...)
		keys++
	}
	for id := range uses {
		add(id)
	}
	for id := range byKey {
		if _, ok := uses[id]; !ok {
			add(id)
		}
	}
	if keys > 0 {
		out = append(out, b)
	}
	return out
}

// keep puts batches back to pending, for the next flush: a last use
// recorded meanwhile wins if it is later, and counts add up.
func (a *activity) keep(batches []apikey.Activity) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, b := range batches {
		for id, at := range b.Uses {
			a.keepUse(id, at)
		}
		for _, c := range b.Counts {
			a.keepCount(usageKey{c.KeyID, c.TenantID, c.Outcome, c.Hour}, c.Count)
		}
	}
}

// flush writes everything pending, in batches, at once.
func (a *activity) flush(ctx context.Context) error { return a.flushPaced(ctx, nil) }

// flushPaced writes everything pending, one transaction per batch, paced
// by p (nil: not paced). It stops at the first batch that fails, or when
// ctx ends, and puts that batch and those not yet tried back to pending.
// A batch once begun runs to its end even if ctx is cancelled meanwhile
// (shutdown): a commit cut short could have landed, and writing its counts
// again would count them twice. So counts are written once unless a
// commit's outcome is unknown (its deadline passed, or the connection
// broke, during COMMIT): then they are written again, at least once.
func (a *activity) flushPaced(ctx context.Context, p *pacer) error {
	batches := a.take()
	p.plan(len(batches))
	for i, b := range batches {
		began := time.Now()
		err := ctx.Err()
		if err == nil {
			err = a.writeBatch(ctx, b)
		}
		if err != nil {
			n := 0
			for _, left := range batches[i:] {
				n += len(left.Uses)
			}
			a.failed(n)
			a.keep(batches[i:])
			return err
		}
		a.written(len(b.Uses))
		if i < len(batches)-1 {
			p.pause(ctx, i+1, time.Since(began))
		}
	}
	return nil
}

// writeBatch writes one batch, by ctx's deadline if it has one (the flush
// at shutdown), else within flushTimeout, and whether or not ctx is
// cancelled meanwhile (see flushPaced).
func (a *activity) writeBatch(ctx context.Context, b apikey.Activity) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(flushTimeout)
	}
	wctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	return a.write(wctx, b)
}

// run flushes every interval, paced (see pacer), until ctx is done; a
// tick that comes while a flush runs is dropped. The final flush is the
// caller's, once no request can record anything any more.
func (a *activity) run(ctx context.Context, interval time.Duration) {
	every(ctx, interval, func(ctx context.Context) error {
		return a.flushPaced(ctx, newPacer(interval*4/5))
	}, func(err error) {
		a.log.Error("cannot record last uses and usage counts; will retry", "keys", a.size(), "err", err)
	})
}

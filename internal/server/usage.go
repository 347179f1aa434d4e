package server

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// usageCounts coalesces verification counts per key, hour and outcome in
// memory until the next flush (with last uses, every touch interval and
// at shutdown), so verification never waits for them.
type usageCounts struct {
	write func(ctx context.Context, counts []apikey.UsageCount) error
	log   *slog.Logger

	mu      sync.Mutex
	pending map[usageKey]int64
	last    int // how many counts the last flush took (see lastUse.last)
}

// usageBatch is how many counts one transaction writes (see touchBatch).
const usageBatch = 250

type usageKey struct {
	keyID, tenant, outcome string
	hour                   time.Time
}

// record counts one verification of a key with an outcome at a time.
func (u *usageCounts) record(k *apikey.Key, at time.Time, outcome string) {
	u.add(usageKey{k.ID, k.TenantID, outcome, at.UTC().Truncate(time.Hour)}, 1)
}

func (u *usageCounts) add(k usageKey, n int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.pending == nil {
		u.pending = make(map[usageKey]int64, u.last)
	}
	u.pending[k] += n
}

// flush writes every pending count, in batches, at once.
func (u *usageCounts) flush(ctx context.Context) error { return u.flushPaced(ctx, nil) }

// flushPaced writes every pending count, in batches of one transaction
// each, by key, paced by p (nil: not paced); the counts of a batch that
// fails, and those not yet tried when ctx ends, go back to pending for the
// next flush.
func (u *usageCounts) flushPaced(ctx context.Context, p *pacer) error {
	u.mu.Lock()
	pending := u.pending
	u.pending, u.last = nil, len(pending)
	u.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	counts := make([]apikey.UsageCount, 0, len(pending))
	for k, n := range pending {
		counts = append(counts, apikey.UsageCount{KeyID: k.keyID, TenantID: k.tenant, Hour: k.hour, Outcome: k.outcome, Count: n})
	}
	// By key, so that a key's counts go in one transaction (they stay
	// in the order the store takes its locks in, within each batch).
	slices.SortFunc(counts, func(a, b apikey.UsageCount) int { return strings.Compare(a.KeyID, b.KeyID) })
	var err error
	for len(counts) > 0 && err == nil {
		n := min(len(counts), usageBatch)
		for n < len(counts) && counts[n].KeyID == counts[n-1].KeyID {
			n++
		}
		start := time.Now()
		if err = u.write(ctx, counts[:n]); err == nil {
			counts = counts[n:]
			err = p.pause(ctx, start)
		}
	}
	for _, c := range counts {
		u.add(usageKey{c.KeyID, c.TenantID, c.Outcome, c.Hour}, c.Count)
	}
	return err
}

// run flushes every interval until ctx is done; the last flush is the
// caller's.
func (u *usageCounts) run(ctx context.Context, interval time.Duration) {
	every(ctx, interval, func(ctx context.Context) error {
		return u.flushPaced(ctx, newPacer(interval*4/5))
	}, func(err error) {
		u.log.Error("cannot record usage counts; will retry", "err", err)
	})
}

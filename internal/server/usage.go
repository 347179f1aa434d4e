package server

import (
	"context"
	"log/slog"
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
}

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
		u.pending = map[usageKey]int64{}
	}
	u.pending[k] += n
}

// flush writes every pending count in one transaction; on failure they go
// back to pending, for the next flush.
func (u *usageCounts) flush(ctx context.Context) error {
	u.mu.Lock()
	pending := u.pending
	u.pending = nil
	u.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	counts := make([]apikey.UsageCount, 0, len(pending))
	for k, n := range pending {
		counts = append(counts, apikey.UsageCount{KeyID: k.keyID, TenantID: k.tenant, Hour: k.hour, Outcome: k.outcome, Count: n})
	}
	err := u.write(ctx, counts)
	if err != nil {
		for k, n := range pending {
			u.add(k, n)
		}
	}
	return err
}

// run flushes every interval until ctx is done; the last flush is the
// caller's.
func (u *usageCounts) run(ctx context.Context, interval time.Duration) {
	flushEvery(ctx, interval, u.flush, func(err error) {
		u.log.Error("cannot record usage counts; will retry", "err", err)
	})
}

// flushEvery calls flush every interval until ctx is done, and failed
// with each error (the pending writes stay for the next one).
func flushEvery(ctx context.Context, interval time.Duration, flush func(context.Context) error, failed func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := flush(ctx); err != nil {
				failed(err)
			}
		}
	}
}

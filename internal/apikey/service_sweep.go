package apikey

import (
	"context"
	"time"
)

// SweepInput describes a revocation of stale keys: every active key not
// used for UnusedFor (never-used keys count from their creation).
type SweepInput struct {
	TenantID  string // "" for every tenant
	UnusedFor time.Duration
	Reason    string
	Actor     string
	// BatchSize is how many keys one transaction revokes (default 500).
	BatchSize int
	// Progress, when set, hears how many keys are done out of how many.
	Progress func(done, total int)
	// Revoked, when set, hears each key revoked, after its batch committed.
	Revoked func(*Key)
}

// DefaultSweepBatch is how many keys one sweep transaction revokes.
const DefaultSweepBatch = 500

func (in *SweepInput) validate() error {
	if in.TenantID != "" {
		if err := ValidateID("tenant", in.TenantID); err != nil {
			return err
		}
	}
	if err := positive("unusedFor", &in.UnusedFor); err != nil {
		return err
	}
	if in.BatchSize <= 0 {
		in.BatchSize = DefaultSweepBatch
	}
	return ValidateText("reason", in.Reason, 0, MaxReasonLen)
}

func (in *SweepInput) filter() ListInput {
	return ListInput{
		Filter:    KeyFilter{TenantID: in.TenantID, Status: StatusActive},
		UnusedFor: &in.UnusedFor,
		Sort:      Sort{Field: SortCreated},
	}
}

// StaleKeys streams the keys a sweep would revoke now, oldest first.
func (s *Service) StaleKeys(ctx context.Context, in SweepInput, fn func(k *Key, now time.Time) error) error {
	if err := in.validate(); err != nil {
		return err
	}
	return s.Each(ctx, in.filter(), fn)
}

// RevokeStale revokes stale keys in batches, each its own transaction, so
// an interrupted sweep leaves every batch either done or untouched. A key
// used (or changed) since the sweep began is left alone. It returns how
// many keys it revoked, with ctx's error when interrupted.
func (s *Service) RevokeStale(ctx context.Context, in SweepInput) (int, error) {
	if err := in.validate(); err != nil {
		return 0, err
	}
	var ids []string
	var cutoff time.Time
	err := s.Each(ctx, in.filter(), func(k *Key, now time.Time) error {
		cutoff = now.Add(-in.UnusedFor)
		ids = append(ids, k.ID)
		return nil
	})
	if err != nil {
		return 0, err
	}
	done := 0
	if in.Progress != nil {
		in.Progress(0, len(ids))
	}
	for start := 0; start < len(ids); start += in.BatchSize {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		batch := ids[start:min(start+in.BatchSize, len(ids))]
		var revoked []*Key
		// One read, one write and one insert of events per batch: a
		// round trip per key made a sweep slow on a networked server.
		err := s.Store.Update(ctx, func(tx Tx) error {
			now := tx.Now()
			keys, err := tx.GetKeys(batch, in.TenantID) // a key deleted meanwhile is simply absent
			if err != nil {
				return err
			}
			var stale []*Key
			for _, k := range keys {
				if k.StatusAt(now) == StatusActive && (k.LastUsedAt == nil || k.LastUsedAt.Before(cutoff)) {
					stale = append(stale, k)
				}
			}
			revoked, err = revokeKeys(tx, stale, now, in.Actor, in.Reason, map[string]any{"unusedFor": FormatDuration(in.UnusedFor)})
			return err
		})
		if err != nil {
			return done, err
		}
		done += len(revoked)
		if in.Revoked != nil {
			for _, k := range revoked {
				in.Revoked(k)
			}
		}
		if in.Progress != nil {
			in.Progress(start+len(batch), len(ids))
		}
	}
	return done, nil
}

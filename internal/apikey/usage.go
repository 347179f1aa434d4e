package apikey

import (
	"context"
	"time"
)

// UsageCount is how many verifications of one key ended in one outcome
// (valid, or a rejection reason) within one hour.
type UsageCount struct {
	KeyID    string
	TenantID string
	Hour     time.Time
	Outcome  string
	Count    int64
}

// OutcomeValid is the usage outcome of a verification that passed.
const OutcomeValid = "valid"

// UsageQuery selects usage counts: of a tenant and a key ("" for any),
// from the hour of Since on.
type UsageQuery struct {
	TenantID string
	KeyID    string
	Since    time.Time
}

// Usage streams the usage counts a query selects, by key then hour. A key
// id must name a key of the tenant (if given).
func (s *Service) Usage(ctx context.Context, q UsageQuery, fn func(UsageCount) error) error {
	if q.KeyID != "" {
		if err := ValidateKeyID(q.KeyID); err != nil {
			return err
		}
	}
	return s.Store.View(ctx, func(tx Tx) error {
		if q.KeyID != "" {
			k, err := tx.GetKey(q.KeyID, q.TenantID)
			if err != nil {
				return err
			}
			q.KeyID = k.ID
		}
		q.Since = q.Since.UTC().Truncate(time.Hour)
		return tx.EachUsage(q, fn)
	})
}

// Activity is what verifications leave behind: each key's latest use
// (a time never moves a key's last use backwards) and counts by key, hour
// and outcome, whose valid ones add to the key's use count.
type Activity struct {
	Uses   map[string]time.Time
	Counts []UsageCount
}

// Empty reports whether a holds nothing to record.
func (a Activity) Empty() bool { return len(a.Uses) == 0 && len(a.Counts) == 0 }

// RecordActivity records last uses and usage counts in one transaction
// (the server's flush); deleted keys' last uses are skipped, and their
// counts kept.
func (s *Service) RecordActivity(ctx context.Context, a Activity) error {
	if a.Empty() {
		return nil
	}
	return s.Store.Update(ctx, func(tx Tx) error { return tx.RecordActivity(a) })
}

package apikey

import (
	"context"
	"time"
)

// RateState is one rate-limit window's answer to a request, by GCRA (the
// generic cell rate algorithm): the window keeps one time, the theoretical
// arrival time (TAT) of the next request at the steady rate; a request is
// let through when TAT - Per ≤ now, and moves TAT one interval (Per/Limit)
// on. The store keeps TAT, so every process sharing a database shares the
// budget exactly.
type RateState struct {
	Rate    Rate
	Allowed bool
	// Remaining is how many more requests the window lets through now.
	Remaining int64
	// Reset is how long until the window's whole budget is back.
	Reset time.Duration
	// RetryAfter is, for a refused request, how long until one would pass.
	RetryAfter time.Duration
}

// NewRateState is the state of a window whose TAT (microseconds since the
// epoch) is tat at now, after a request allowed or not.
func NewRateState(r Rate, tat int64, now time.Time, allowed bool) RateState {
	us := now.UnixMicro()
	per, iv := r.Per.Microseconds(), r.Interval()
	st := RateState{Rate: r, Allowed: allowed}
	st.Remaining = min(r.Limit, max(0, (us+per-tat)/iv))
	st.Reset = time.Duration(max(0, tat-us)) * time.Microsecond
	if !allowed {
		st.RetryAfter = time.Duration(max(0, tat+iv-per-us)) * time.Microsecond
	}
	return st
}

// Tightest is the window with the fewest requests left (the refusing one,
// if any): the one to report in RateLimit headers.
func Tightest(states []RateState) *RateState {
	var t *RateState
	for i := range states {
		s := &states[i]
		if t == nil || (!s.Allowed && t.Allowed) || (s.Allowed == t.Allowed && s.Remaining < t.Remaining) {
			t = s
		}
	}
	return t
}

// Admission is what a key's limits said of one verification.
type Admission struct {
	// Rates are the key's rate-limit windows after the request (serve only).
	Rates []RateState
	// Remaining and RefillsAt are the credits left and their next refill,
	// where the key has credits.
	Remaining *int64
	RefillsAt *time.Time
}

// Admit enforces k's limits that spend on one verification at now, after
// Check (or CheckFrom) let it through: in one write transaction, every
// rate-limit window of the key, then those of its registered owner (shared
// by all of the owner's keys), then the credits, so a request refused by
// one spends nothing of the others, and the stricter limit decides. It returns what the limits said even when it
// refuses (for RateLimit headers). A key without such limits costs no
// write.
func (s *Service) Admit(ctx context.Context, k *Key) (*Admission, error) {
	adm := &Admission{}
	if !k.Limited() {
		return adm, nil
	}
	err := s.Store.Update(ctx, func(tx Tx) error {
		now := tx.Now()
		adm.Rates = adm.Rates[:0]
		for _, r := range k.RateLimits {
			if err := takeRate(tx, adm, "k:"+k.ID, r, now, "key %s is over its rate limit of %s", k.ID); err != nil {
				return err
			}
		}
		for _, r := range k.OwnerRateLimits {
			// Tenant ids hold no "/": the subject names one user of one tenant.
			err := takeRate(tx, adm, "u:"+k.TenantID+"/"+deref(k.OwnerID), r, now,
				"key %s's owner %s is over the user's rate limit of %s", k.ID, Quote(deref(k.OwnerID)))
			if err != nil {
				return err
			}
		}
		return spend(tx, k, now, adm)
	})
	return adm, err
}

// takeRate lets the request through subject's window r, noting the
// window's state, or refuses it (rate_limited) in the words of format and
// args, which the window and the wait follow.
func takeRate(tx Tx, adm *Admission, subject string, r Rate, now time.Time, format string, args ...any) error {
	st, err := tx.TakeRate(subject, r, now)
	if err != nil {
		return err
	}
	adm.Rates = append(adm.Rates, st)
	if !st.Allowed {
		return Rejectf(ReasonRateLimited, "key rejected: "+format+"; retry in %s", append(args, r, retryWords(st.RetryAfter))...)
	}
	return nil
}

// spend takes one of k's credits, if it has any limit on them.
func spend(tx Tx, k *Key, now time.Time, adm *Admission) error {
	if k.UsesRemaining == nil {
		return nil
	}
	left, refilled, ok, err := tx.SpendUse(k.ID, now)
	if err != nil {
		return err
	}
	k.UsesRemaining, k.RefilledAt = &left, refilled
	adm.Remaining, adm.RefillsAt = k.Remaining(now), k.NextRefill(now)
	if !ok {
		msg := "key rejected: key %s has no uses left"
		if at := adm.RefillsAt; at != nil {
			return Rejectf(ReasonUsageExceeded, msg+"; it refills %s", k.ID, at.UTC().Format(time.RFC3339))
		}
		return Rejectf(ReasonUsageExceeded, msg, k.ID)
	}
	return nil
}

// retryWords is a wait in whole seconds, at least one.
func retryWords(d time.Duration) string {
	return FormatDuration(max(time.Second, d.Round(time.Second)))
}

// LimitTx is the store's part of limits and usage.
type LimitTx interface {
	// TakeRate lets one request through subject's window r at now, or
	// refuses it, in one statement (exact under concurrency).
	TakeRate(subject string, r Rate, now time.Time) (RateState, error)
	// SpendUse takes one of key id's credits at now, after applying the
	// refills due, in one statement; ok is false when none is left.
	SpendUse(id string, now time.Time) (left int64, refilledAt *time.Time, ok bool, err error)
	// EachUsage streams the counts a query selects, by key then hour.
	EachUsage(q UsageQuery, fn func(UsageCount) error) error
}

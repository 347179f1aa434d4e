package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// limitColumns are a key's limits, after keyColumns and in KeyByHash.
const limitColumns = `k.rate_limits, k.uses_remaining, k.refill_amount, k.refill_period_us,
	k.refilled_at, k.allow_ips, k.use_count`

// storedRate is a rate-limit window as the rate_limits column holds it.
type storedRate struct {
	Limit    int64 `json:"limit"`
	PeriodUs int64 `json:"periodUs"`
}

// limitValues are a key's limits as stored, in limitColumns' order (less
// use_count, which only RecordActivity writes).
func limitValues(l *apikey.Limits) ([]any, error) {
	rj, err := encodeRates(l.RateLimits)
	if err != nil {
		return nil, err
	}
	ij, err := json.Marshal(apikey.PrefixStrings(l.AllowIPs))
	if err != nil {
		return nil, err
	}
	var amount, period, refilled any
	if l.Refill != nil {
		amount, period = l.Refill.Limit, l.Refill.Per.Microseconds()
	}
	if l.RefilledAt != nil {
		refilled = l.RefilledAt.UnixMicro()
	}
	return []any{rj, l.UsesRemaining, amount, period, refilled, string(ij)}, nil
}

// encodeRates is rate-limit windows as a rate_limits column (a key's or a
// user's) holds them.
func encodeRates(rs []apikey.Rate) (string, error) {
	stored := make([]storedRate, len(rs))
	for i, r := range rs {
		stored[i] = storedRate{r.Limit, r.Per.Microseconds()}
	}
	b, err := json.Marshal(stored)
	return string(b), err
}

// decodeRates reads a rate_limits column; most hold none, and cost no
// JSON decoding.
func decodeRates(b []byte) ([]apikey.Rate, error) {
	var stored []storedRate
	if err := unmarshalList(b, &stored); err != nil {
		return nil, err
	}
	var rs []apikey.Rate
	for _, r := range stored {
		rs = append(rs, apikey.Rate{Limit: r.Limit, Per: time.Duration(r.PeriodUs) * time.Microsecond})
	}
	return rs, nil
}

// limitScan receives limitColumns.
type limitScan struct {
	rates, ips       []byte
	uses, amount     sql.NullInt64
	period, refilled sql.NullInt64
	useCount         int64
}

func (s *limitScan) targets() []any {
	return []any{&s.rates, &s.uses, &s.amount, &s.period, &s.refilled, &s.ips, &s.useCount}
}

// decode fills l from the scanned columns.
func (s *limitScan) decode(id string, l *apikey.Limits) error {
	var ips []string
	var err error
	// Most keys have neither: no JSON decoding on their verify path.
	l.RateLimits, err = decodeRates(s.rates)
	if err := errors.Join(err, unmarshalList(s.ips, &ips)); err != nil {
		return fmt.Errorf("key %s limits: %w", id, err)
	}
	l.AllowIPs = nil
	for _, s := range ips {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("key %s allowed IPs: %w", id, err)
		}
		l.AllowIPs = append(l.AllowIPs, p)
	}
	l.UsesRemaining, l.Refill, l.RefilledAt = nil, nil, nil
	if s.uses.Valid {
		l.UsesRemaining = &s.uses.Int64
	}
	if s.amount.Valid && s.period.Valid {
		l.Refill = &apikey.Rate{Limit: s.amount.Int64, Per: time.Duration(s.period.Int64) * time.Microsecond}
	}
	if s.refilled.Valid {
		t := time.UnixMicro(s.refilled.Int64).UTC()
		l.RefilledAt = &t
	}
	l.UseCount = s.useCount
	return nil
}

// saveLimits writes a key's limits (SaveKey's part).
func (tx *Tx) saveLimits(k *apikey.Key) error {
	vals, err := limitValues(&k.Limits)
	if err != nil {
		return err
	}
	_, err = tx.exec(`UPDATE api_keys SET rate_limits = ?, uses_remaining = ?, refill_amount = ?,
		refill_period_us = ?, refilled_at = ?, allow_ips = ? WHERE id = ?`, append(vals, k.ID)...)
	return err
}

// The limit statements. Times are integer microseconds; every parameter
// is cast, as PostgreSQL cannot infer the type of one in arithmetic.
//
// execTakeRate is GCRA in one statement: the first request of a window
// inserts its TAT; a later one moves it on only where the request fits
// (TAT' - period ≤ now), and RETURNING says whether it did. A row lock (on
// PostgreSQL) or the write lock (SQLite) makes it exact under concurrency.
const execTakeRate = `INSERT INTO rate_limit_state (subject, period_us, tat)
	VALUES (?, CAST(? AS BIGINT), CAST(? AS BIGINT))
	ON CONFLICT (subject, period_us) DO UPDATE
	SET tat = %[1]s(rate_limit_state.tat, CAST(? AS BIGINT)) + CAST(? AS BIGINT)
	WHERE %[1]s(rate_limit_state.tat, CAST(? AS BIGINT)) + CAST(? AS BIGINT) - CAST(? AS BIGINT) <= CAST(? AS BIGINT)
	RETURNING tat`

// TakeRate lets one request through a window, or refuses it.
func (tx *Tx) TakeRate(subject string, r apikey.Rate, now time.Time) (apikey.RateState, error) {
	us, iv, per := now.UnixMicro(), r.Interval(), r.Per.Microseconds()
	var tat int64
	err := tx.q().QueryRowContext(tx.ctx, tx.db.Dialect.Rebind(fmt.Sprintf(execTakeRate, tx.db.Dialect.greatest())),
		subject, per, us+iv, us, iv, us, iv, per, us).Scan(&tat)
	if errors.Is(err, sql.ErrNoRows) {
		err = tx.q().QueryRowContext(tx.ctx, tx.db.Dialect.Rebind(`SELECT tat FROM rate_limit_state
			WHERE subject = ? AND period_us = CAST(? AS BIGINT)`), subject, per).Scan(&tat)
		return apikey.NewRateState(r, tat, now, false), err
	}
	return apikey.NewRateState(r, tat, now, true), err
}

// refillDue is whether a refill is due at the parameter's time; refilled
// is the credits after it.
const (
	refillDue = `(refill_period_us IS NOT NULL AND CAST(? AS BIGINT) >= refilled_at + refill_period_us)`
	refilled  = `CASE WHEN ` + refillDue + ` THEN %[1]s(uses_remaining, refill_amount) ELSE uses_remaining END`
)

// execSpendUse takes one credit, applying the refills due first, where one
// is left: the WHERE is checked again on the locked row (PostgreSQL) or
// under the write lock (SQLite), so no two spend the last one.
const execSpendUse = `UPDATE api_keys SET uses_remaining = ` + refilled + ` - 1,
	refilled_at = CASE WHEN ` + refillDue + `
		THEN refilled_at + ((CAST(? AS BIGINT) - refilled_at) / refill_period_us) * refill_period_us
		ELSE refilled_at END
	WHERE id = ? AND uses_remaining IS NOT NULL AND ` + refilled + ` > 0
	RETURNING uses_remaining, refilled_at`

// SpendUse takes one credit of a key.
func (tx *Tx) SpendUse(id string, now time.Time) (int64, *time.Time, bool, error) {
	us := now.UnixMicro()
	var left int64
	var at sql.NullInt64
	err := tx.q().QueryRowContext(tx.ctx, tx.db.Dialect.Rebind(fmt.Sprintf(execSpendUse, tx.db.Dialect.greatest())),
		us, us, us, id, us).Scan(&left, &at)
	ok := err == nil
	if errors.Is(err, sql.ErrNoRows) {
		err = tx.q().QueryRowContext(tx.ctx, tx.db.Dialect.Rebind(`SELECT COALESCE(uses_remaining, 0), refilled_at
			FROM api_keys WHERE id = ?`), id).Scan(&left, &at)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, false, notFound(id)
	}
	var t *time.Time
	if at.Valid {
		v := time.UnixMicro(at.Int64).UTC()
		t = &v
	}
	return left, t, ok, err
}

// greatest is the engine's two-argument maximum.
func (d Dialect) greatest() string {
	if d.Greatest == "" {
		return "MAX"
	}
	return d.Greatest
}

// unmarshalList decodes a JSON list, the empty one without the decoder.
func unmarshalList[T any](b []byte, v *[]T) error {
	if string(b) == "[]" {
		*v = nil
		return nil
	}
	return json.Unmarshal(b, v)
}

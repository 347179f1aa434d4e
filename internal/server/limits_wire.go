package server

import (
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// limitsRecord is a key's limits as the API sends them, within its record
// and in a verify answer (the credits left count refills due by now).
type limitsRecord struct {
	RateLimits    []string   `json:"rateLimits"`
	UsesRemaining *int64     `json:"usesRemaining"`
	Refill        *string    `json:"refill"`
	RefillsAt     *timestamp `json:"refillsAt"`
	AllowIPs      []string   `json:"allowIps"`
	UseCount      int64      `json:"useCount"`
}

func newLimitsRecord(l *apikey.Limits, now time.Time) limitsRecord {
	r := limitsRecord{UsesRemaining: l.Remaining(now), RefillsAt: stamp(l.NextRefill(now)),
		AllowIPs: apikey.PrefixStrings(l.AllowIPs), UseCount: l.UseCount, RateLimits: apikey.RateStrings(l.RateLimits)}
	if l.Refill != nil {
		s := l.Refill.String()
		r.Refill = &s
	}
	return r
}

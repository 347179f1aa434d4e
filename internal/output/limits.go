package output

import (
	"strconv"
	"strings"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// LimitsRecord is a key's limits as written, within its KeyRecord.
type LimitsRecord struct {
	RateLimits    []string `json:"rateLimits" yaml:"rateLimits"`
	UsesRemaining *int64   `json:"usesRemaining" yaml:"usesRemaining"`
	Refill        *string  `json:"refill" yaml:"refill"`
	RefillsAt     *string  `json:"refillsAt" yaml:"refillsAt"`
	AllowIPs      []string `json:"allowIps" yaml:"allowIps"`
	UseCount      int64    `json:"useCount" yaml:"useCount"`
}

// newLimitsRecord describes l as of now: the credits left count the
// refills due since the last one recorded.
func newLimitsRecord(l *apikey.Limits, now time.Time) LimitsRecord {
	r := LimitsRecord{
		RateLimits: apikey.RateStrings(l.RateLimits), UsesRemaining: l.Remaining(now),
		RefillsAt: timestampPtr(l.NextRefill(now)), AllowIPs: apikey.PrefixStrings(l.AllowIPs), UseCount: l.UseCount,
	}
	if l.Refill != nil {
		s := l.Refill.String()
		r.Refill = &s
	}
	return r
}

var limitsCSVHeader = []string{"rateLimits", "usesRemaining", "refill", "refillsAt", "allowIps", "useCount"}

func limitsCSV(r LimitsRecord) []string {
	uses := ""
	if r.UsesRemaining != nil {
		uses = strconv.FormatInt(*r.UsesRemaining, 10)
	}
	return []string{strings.Join(r.RateLimits, " "), uses, str(r.Refill), str(r.RefillsAt),
		strings.Join(r.AllowIPs, " "), strconv.FormatInt(r.UseCount, 10)}
}

// limitColumns are the table rows of a key's limits.
var limitColumns = []Column[KeyRecord]{
	{Header: "RATE LIMITS", Cell: func(r KeyRecord) string { return orNoneList(r.RateLimits) }},
	{Header: "USES LEFT", Cell: usesLeft},
	{Header: "ALLOWED CLIENTS", Cell: func(r KeyRecord) string { return orNoneList(r.AllowIPs) }},
	{Header: "USES", Cell: func(r KeyRecord) string { return strconv.FormatInt(r.UseCount, 10) }},
}

// usesLeft is the credits left and when they refill, or "unlimited".
func usesLeft(r KeyRecord) string {
	if r.UsesRemaining == nil {
		return "unlimited"
	}
	s := strconv.FormatInt(*r.UsesRemaining, 10)
	if r.Refill != nil {
		s += " (refill " + *r.Refill + ", next " + when(r.k.NextRefill(r.now), r.now) + ")"
	}
	return s
}

func orNoneList(l []string) string {
	if len(l) == 0 {
		return "-"
	}
	return strings.Join(l, ", ")
}

package apikey

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Rejection reasons of limits (see Limits).
const (
	ReasonUsageExceeded = "usage_exceeded"
	ReasonRateLimited   = "rate_limited"
	ReasonIPNotAllowed  = "ip_not_allowed"
)

// Limits are what a key may do beyond who it is: how often (rate limits,
// enforced by serve), how many times (credits, spent by every successful
// verification) and from where (client allowlist, enforced by serve).
type Limits struct {
	// RateLimits are windows, each N requests per period (GCRA).
	RateLimits []Rate
	// UsesRemaining is the credits left; nil means no limit.
	UsesRemaining *int64
	// Refill tops the credits up to Refill.Limit every Refill.Per, counted
	// from RefilledAt (never lowers them).
	Refill     *Rate
	RefilledAt *time.Time
	// AllowIPs are the client networks allowed; empty allows any.
	AllowIPs []netip.Prefix
	// UseCount is how many verifications the key has passed, as recorded.
	UseCount int64
	// OwnerRateLimits are the windows of the key's registered owner, one
	// budget for all of the owner's keys; only verify (Check) fills them.
	OwnerRateLimits []Rate
}

// Limited reports whether verification must spend or check something in
// the store beyond reading the key.
func (l *Limits) Limited() bool {
	return len(l.RateLimits) > 0 || l.UsesRemaining != nil || len(l.OwnerRateLimits) > 0
}

// Rate is Limit events per Per.
type Rate struct {
	Limit int64
	Per   time.Duration
}

// MaxRateLimits bounds a key's rate-limit windows.
const MaxRateLimits = 8

// ParseRate parses N/DUR, as in 100/1m or 1000/P1D: N at least 1, the
// duration at least a second.
func ParseRate(field, s string) (Rate, error) {
	n, d, ok := strings.Cut(s, "/")
	limit, err := strconv.ParseInt(n, 10, 64)
	if !ok || err != nil || n == "" || n[0] == '+' {
		return Rate{}, Errorf(EINVALID, "invalid %s %s: want N/DURATION, as in 100/1m", Field(field), Quote(s))
	}
	if limit < 1 || limit > 1_000_000_000 {
		return Rate{}, Errorf(EINVALID, "invalid %s %s: want 1 to 1000000000 per window", Field(field), Quote(s))
	}
	per, err := ParseDuration(d)
	if err != nil {
		return Rate{}, Errorf(EINVALID, "invalid %s %s: %s", Field(field), Quote(s), ErrorMessage(err))
	}
	if per < time.Second {
		return Rate{}, Errorf(EINVALID, "invalid %s %s: the window must be at least 1s", Field(field), Quote(s))
	}
	return Rate{Limit: limit, Per: per}, nil
}

// ParseRates parses rate-limit windows; two with the same period are refused.
func ParseRates(field string, ss []string) ([]Rate, error) {
	if len(ss) > MaxRateLimits {
		return nil, Errorf(EINVALID, "too many %s windows: at most %d", Field(field), MaxRateLimits)
	}
	out := make([]Rate, 0, len(ss))
	for _, s := range ss {
		r, err := ParseRate(field, s)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(out, func(o Rate) bool { return o.Per == r.Per }) {
			return nil, Errorf(EINVALID, "invalid %s: two limits for the window %s", Field(field), shortDuration(r.Per))
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Rate) int { return int(a.Per - b.Per) })
	return out, nil
}

func (r Rate) String() string { return strconv.FormatInt(r.Limit, 10) + "/" + shortDuration(r.Per) }

// shortDuration words a window in the largest whole unit: 1s, 1m, 1h, 1d.
func shortDuration(d time.Duration) string {
	for _, u := range []struct {
		d    time.Duration
		unit string
	}{{Day, "d"}, {time.Hour, "h"}, {time.Minute, "m"}} {
		if d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.unit
		}
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

// Interval is the time between two events at the steady rate (GCRA's
// emission interval), in microseconds, at least one.
func (r Rate) Interval() int64 { return max(1, r.Per.Microseconds()/r.Limit) }

// ParseUses parses a number of credits: 0 or more.
func ParseUses(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || s[0] == '+' {
		return 0, Errorf(EINVALID, "invalid %s %s: want a whole number, 0 or more", Field("uses"), Quote(s))
	}
	return n, nil
}

// MaxAllowIPs bounds a key's allowlist.
const MaxAllowIPs = 64

// ParseAllowIPs parses CIDR prefixes (or single addresses), masked.
func ParseAllowIPs(ss []string) ([]netip.Prefix, error) {
	if len(ss) > MaxAllowIPs {
		return nil, Errorf(EINVALID, "too many %s entries: at most %d", Field("allowIps"), MaxAllowIPs)
	}
	out := make([]netip.Prefix, 0, len(ss))
	for _, s := range ss {
		p, err := ParsePrefix(s)
		if err != nil {
			return nil, Errorf(EINVALID, "invalid %s %s: want a CIDR such as 10.0.0.0/8 or 2001:db8::/32, or one address", Field("allowIps"), Quote(s))
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// ParsePrefix parses a CIDR or a single address (as a /32 or /128).
func ParsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, Errorf(EINVALID, "IPv4-mapped prefix")
	}
	return p.Masked(), nil
}

// AllowsIP reports whether a client address may use the key.
func (l *Limits) AllowsIP(a netip.Addr) bool {
	if len(l.AllowIPs) == 0 {
		return true
	}
	a = a.Unmap()
	for _, p := range l.AllowIPs {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// LimitsInput changes a key's limits; nil fields stay as they are. A
// ClearX flag removes that limit.
type LimitsInput struct {
	RateLimits      []Rate
	ClearRateLimits bool
	Uses            *int64
	Refill          *Rate
	ClearUses       bool
	AllowIPs        []netip.Prefix
	ClearAllowIPs   bool
}

func (in *LimitsInput) set() bool {
	return in.RateLimits != nil || in.ClearRateLimits || in.Uses != nil || in.Refill != nil ||
		in.ClearUses || in.AllowIPs != nil || in.ClearAllowIPs
}

func (in *LimitsInput) validate() error {
	if in.ClearUses && (in.Uses != nil || in.Refill != nil) {
		return Errorf(EINVALID, "invalid %s: clear the credits or set them, not both", Field("uses"))
	}
	return nil
}

// apply changes k's limits at now, noting each change for the audit trail.
func (in *LimitsInput) apply(k *Key, now time.Time, change func(field string, old, new any)) {
	l := &k.Limits
	replaceList("rateLimits", in.RateLimits, in.ClearRateLimits, &l.RateLimits, change)
	if in.ClearUses && l.UsesRemaining != nil {
		change("uses", l.UsesRemaining, nil)
		l.UsesRemaining, l.Refill, l.RefilledAt = nil, nil, nil
	}
	if in.Refill != nil {
		if l.Refill == nil || *l.Refill != *in.Refill {
			change("refill", rateString(l.Refill), in.Refill.String())
		}
		l.Refill, l.RefilledAt = in.Refill, &now
		if in.Uses == nil && l.UsesRemaining == nil {
			in.Uses = &in.Refill.Limit
		}
	}
	if in.Uses != nil && (l.UsesRemaining == nil || *l.UsesRemaining != *in.Uses) {
		change("uses", l.UsesRemaining, *in.Uses)
		l.UsesRemaining = in.Uses
	}
	replaceList("allowIps", in.AllowIPs, in.ClearAllowIPs, &l.AllowIPs, change)
}

// replaceList sets *cur to a new list (nil: unchanged) or clears it,
// noting a change as the lists' words.
func replaceList[T interface {
	comparable
	fmt.Stringer
}](field string, new []T, clear bool, cur *[]T, change func(field string, old, new any)) {
	if new == nil && !clear {
		return
	}
	if clear {
		new = nil
	}
	if !slices.Equal(new, *cur) {
		change(field, strs(*cur), strs(new))
		*cur = new
	}
}

func rateString(r *Rate) any {
	if r == nil {
		return nil
	}
	return r.String()
}

// RateStrings words rate-limit windows as N/DURATION.
func RateStrings(rs []Rate) []string { return strs(rs) }

// PrefixStrings words prefixes as CIDRs.
func PrefixStrings(ps []netip.Prefix) []string { return strs(ps) }

func strs[T fmt.Stringer](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return out
}

// RefillsAt is when the credits are next topped up, or nil.
func (l *Limits) RefillsAt() *time.Time {
	if l.Refill == nil || l.RefilledAt == nil {
		return nil
	}
	t := l.RefilledAt.Add(l.Refill.Per)
	return &t
}

// Remaining is the credits left at now, counting refills due since the
// last one recorded (which the store applies lazily, on the next spend).
func (l *Limits) Remaining(now time.Time) *int64 {
	if l.UsesRemaining == nil {
		return nil
	}
	n := *l.UsesRemaining
	if at := l.RefillsAt(); at != nil && !now.Before(*at) {
		n = max(n, l.Refill.Limit)
	}
	return &n
}

// NextRefill is when the credits are next topped up, seen at now.
func (l *Limits) NextRefill(now time.Time) *time.Time {
	at := l.RefillsAt()
	if at == nil || now.Before(*at) {
		return at
	}
	periods := now.Sub(*l.RefilledAt) / l.Refill.Per
	t := l.RefilledAt.Add((periods + 1) * l.Refill.Per)
	return &t
}

package server

import (
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/keyadm/keyadm/internal/apikey"
)

// DefaultMaxFailedVerifies is how many failed verifications a client
// address may make per minute before it gets 429.
var DefaultMaxFailedVerifies = apikey.Rate{Limit: 60, Per: time.Minute}

// codeTooManyFailures is the 429 of a client that failed too many
// verifications; codeAdminRateLimited that of an admin key over its tier.
const (
	codeTooManyFailures  = "too_many_failed_verifications"
	codeAdminRateLimited = "admin_rate_limited"
)

// clientAddr is the request's client: the peer's address, or, when the
// peer is a trusted proxy, the rightmost X-Forwarded-For hop that is not
// a trusted proxy (the hops to its right were added by proxies we trust;
// those to its left, anyone could have written).
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	addr := ap.Addr().Unmap()
	if !s.trusted(addr) {
		return addr
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return addr // garbage: the last hop we can believe
		}
		addr = a.Unmap()
		if !s.trusted(addr) {
			return addr
		}
	}
	return addr
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// setRateHeaders writes the RateLimit headers of the tightest window, and
// Retry-After when it refused the request.
func setRateHeaders(w http.ResponseWriter, states []apikey.RateState) {
	st := apikey.Tightest(states)
	if st == nil {
		return
	}
	// Set as the RateLimit draft spells them (Header.Set would write
	// Ratelimit-Limit); header names are case-insensitive either way.
	h := w.Header()
	h["RateLimit-Limit"] = []string{strconv.FormatInt(st.Rate.Limit, 10)}
	h["RateLimit-Remaining"] = []string{strconv.FormatInt(st.Remaining, 10)}
	h["RateLimit-Reset"] = []string{seconds(st.Reset)}
	if !st.Allowed {
		h.Set("Retry-After", seconds(max(st.RetryAfter, time.Second)))
	}
}

// seconds is a wait in whole seconds, rounded up.
func seconds(d time.Duration) string {
	return strconv.FormatInt(int64(math.Ceil(d.Seconds())), 10)
}

// memLimiter holds token buckets in memory, per process, by name
// (golang.org/x/time/rate): for what need not be shared across serve
// processes, such as throttling a client's failures.
type memLimiter struct {
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// maxBuckets bounds the memory of a memLimiter: past it, full buckets
// (which say nothing a new one would not) are dropped.
const maxBuckets = 100_000

func (m *memLimiter) bucket(name string, r apikey.Rate, now time.Time) *rate.Limiter {
	every := rate.Every(r.Per / time.Duration(r.Limit))
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.buckets == nil {
		m.buckets = map[string]*rate.Limiter{}
	}
	b := m.buckets[name]
	if b == nil || b.Burst() != int(r.Limit) || b.Limit() != every {
		if len(m.buckets) >= maxBuckets {
			for k, v := range m.buckets {
				if v.TokensAt(now) >= float64(v.Burst()) {
					delete(m.buckets, k)
				}
			}
		}
		b = rate.NewLimiter(every, int(r.Limit))
		m.buckets[name] = b
	}
	return b
}

// take spends one token of name's bucket at now, if it has one (n=1), or
// only looks (n=0).
func (m *memLimiter) take(name string, r apikey.Rate, now time.Time, n int) apikey.RateState {
	b := m.bucket(name, r, now)
	ok := b.TokensAt(now) >= 1
	if ok && n > 0 {
		ok = b.AllowN(now, n)
	}
	tokens := b.TokensAt(now)
	perToken := float64(r.Per) / float64(r.Limit)
	st := apikey.RateState{Rate: r, Allowed: ok, Remaining: int64(math.Max(0, math.Floor(tokens)))}
	st.Reset = time.Duration((float64(r.Limit) - tokens) * perToken)
	if !ok {
		st.RetryAfter = time.Duration((1 - tokens) * perToken)
	}
	return st
}

// failureRate is the failed-verification budget of one client address.
func (s *Server) failureRate() apikey.Rate {
	if s.cfg.MaxFailedVerifies.Limit == 0 {
		return DefaultMaxFailedVerifies
	}
	return s.cfg.MaxFailedVerifies
}

// throttled refuses a client that has spent its failed verifications.
func (s *Server) throttled(w http.ResponseWriter, client netip.Addr) error {
	st := s.failures.take(client.String(), s.failureRate(), time.Now(), 0)
	if st.Allowed {
		return nil
	}
	setRateHeaders(w, []apikey.RateState{st})
	return apikey.Errorf(codeTooManyFailures, "too many failed verifications from %s; retry in %s", client, seconds(st.RetryAfter)+"s")
}

// failed counts a failed verification of a client.
func (s *Server) failed(client netip.Addr) {
	s.failures.take(client.String(), s.failureRate(), time.Now(), 1)
}

// adminLimited spends one request of an admin key's tier (reads or
// writes, from its tenant's config), and says so in the headers.
func (s *Server) adminLimited(w http.ResponseWriter, r *http.Request, k *apikey.Key) error {
	cfg, err := s.svc.Config(r.Context(), k.TenantID)
	if err != nil {
		return err
	}
	tier, setting := "read", apikey.SettingAdminReadRate
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		tier, setting = "write", apikey.SettingAdminWriteRate
	}
	rt := cfg.Rate(setting)
	st := s.adminRates.take(tier+":"+k.ID, rt, time.Now(), 1)
	setRateHeaders(w, []apikey.RateState{st})
	if !st.Allowed {
		return apikey.Errorf(codeAdminRateLimited, "key %s is over the admin API's %s limit of %s (%s); retry in %ss", k.ID, tier, rt, setting, seconds(st.RetryAfter))
	}
	return nil
}

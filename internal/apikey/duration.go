package apikey

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Calendar units are fixed lengths: policy compares durations, so a year is
// always 365 days and a month 30, whatever the calendar says.
const (
	Day   = 24 * time.Hour
	Week  = 7 * Day
	Month = 30 * Day
	Year  = 365 * Day
)

// MaxDuration bounds every duration keyadm accepts (100 years), so that
// adding one to a time never overflows.
const MaxDuration = 100 * Year

// ParseDuration parses an ISO 8601 duration (PT24H, P90D, P1W, P1Y2M3DT4H5M6S)
// or a shorthand of one or more number-unit pairs (30s, 30m, 24h, 90d, 2w,
// 1y, 1d12h). "0" is zero. Negative durations are refused.
func ParseDuration(s string) (time.Duration, error) {
	bad := func() (time.Duration, error) {
		return 0, Errorf(EINVALID, "invalid duration %s: use ISO 8601 (PT24H, P90D, P1W, P1Y) or shorthand (30m, 24h, 90d, 2w, 1y)", Quote(s))
	}
	if s == "" {
		return bad()
	}
	if s == "0" {
		return 0, nil
	}
	var d time.Duration
	var ok bool
	if s[0] == 'P' || s[0] == 'p' {
		d, ok = parseISODuration(s[1:])
	} else {
		d, ok = parseUnits(s, func(unit string) (time.Duration, bool) {
			u, found := shortUnits[unit]
			return u, found
		})
	}
	if !ok {
		return bad()
	}
	if d > MaxDuration {
		return 0, Errorf(EINVALID, "invalid duration %s: longer than 100 years", Quote(s))
	}
	return d, nil
}

// tooLong stands for any well-formed duration past MaxDuration.
const tooLong = MaxDuration + 1

var shortUnits = map[string]time.Duration{
	"s": time.Second, "m": time.Minute, "h": time.Hour,
	"d": Day, "w": Week, "y": Year,
}

func parseISODuration(s string) (time.Duration, bool) {
	datePart, timePart, hasT := strings.Cut(strings.ToUpper(s), "T")
	if datePart == "" && (!hasT || timePart == "") {
		return 0, false
	}
	if hasT && timePart == "" {
		return 0, false
	}
	var total time.Duration
	// Units must come in order, each at most once: Y M W D, then H M S.
	parts := []struct {
		text  string
		units string
		size  map[byte]time.Duration
	}{
		{datePart, "YMWD", map[byte]time.Duration{'Y': Year, 'M': Month, 'W': Week, 'D': Day}},
		{timePart, "HMS", map[byte]time.Duration{'H': time.Hour, 'M': time.Minute, 'S': time.Second}},
	}
	for _, p := range parts {
		next := 0
		d, ok := parseUnits(p.text, func(unit string) (time.Duration, bool) {
			i := strings.Index(p.units[next:], unit)
			if len(unit) != 1 || i < 0 {
				return 0, false
			}
			next += i + 1
			return p.size[unit[0]], true
		})
		if !ok {
			return 0, false
		}
		total += d
		if total > MaxDuration {
			return tooLong, true
		}
	}
	return total, true
}

// parseUnits reads number-unit pairs: digits, then one or more letters that
// unit resolves. An empty string is zero.
func parseUnits(s string, unit func(string) (time.Duration, bool)) (time.Duration, bool) {
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		j := i
		for j < len(s) && ('a' <= s[j] && s[j] <= 'z' || 'A' <= s[j] && s[j] <= 'Z') {
			j++
		}
		if i == 0 || j == i || i > 12 {
			return 0, false
		}
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil {
			return 0, false
		}
		u, ok := unit(s[i:j])
		if !ok {
			return 0, false
		}
		if n > int64(MaxDuration/u) {
			return tooLong, true
		}
		total += time.Duration(n) * u
		if total > MaxDuration {
			return tooLong, true
		}
		s = s[j:]
	}
	return total, true
}

// FormatDuration writes d as an ISO 8601 duration: whole days as P<n>D, the
// rest as T<h>H<m>M<s>S. Zero is PT0S.
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "PT0S"
	}
	var b strings.Builder
	b.WriteByte('P')
	if days := d / Day; days > 0 {
		b.WriteString(strconv.FormatInt(int64(days), 10) + "D")
		d -= days * Day
	}
	if d > 0 {
		b.WriteByte('T')
		if h := d / time.Hour; h > 0 {
			b.WriteString(strconv.FormatInt(int64(h), 10) + "H")
			d -= h * time.Hour
		}
		if m := d / time.Minute; m > 0 {
			b.WriteString(strconv.FormatInt(int64(m), 10) + "M")
			d -= m * time.Minute
		}
		if d > 0 {
			secs := d.Seconds()
			b.WriteString(strconv.FormatFloat(math.Round(secs*1e6)/1e6, 'f', -1, 64) + "S")
		}
	}
	return b.String()
}

// ParseTime parses an RFC 3339 time or a date (YYYY-MM-DD, UTC midnight).
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, Errorf(EINVALID, "invalid time %s: use RFC 3339 (2026-01-02T15:04:05Z) or a date (2026-01-02)", Quote(s))
}

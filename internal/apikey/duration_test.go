package apikey_test

import (
	"strings"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

const day = 24 * time.Hour

func TestDurationUnits(t *testing.T) {
	if apikey.Day != 24*time.Hour || apikey.Week != 7*day || apikey.Month != 30*day || apikey.Year != 365*day {
		t.Fatalf("calendar units: day %v week %v month %v year %v", apikey.Day, apikey.Week, apikey.Month, apikey.Year)
	}
	if apikey.MaxDuration != 36500*day {
		t.Fatalf("MaxDuration = %v, want 100 years of 365 days", apikey.MaxDuration)
	}
}

func TestParseDurationValid(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		// ISO 8601
		{"PT24H", 24 * time.Hour},
		{"P90D", 90 * day},
		{"P1W", 7 * day},
		{"P1Y", 365 * day},
		{"P1M", 30 * day},
		{"PT1M", time.Minute},
		{"PT1S", time.Second},
		{"PT90M", 90 * time.Minute},
		{"PT36H", 36 * time.Hour},
		{"P365D", 365 * day},
		{"P1DT12H", 36 * time.Hour},
		{"P1W1D", 8 * day},
		{"P1M1D", 31 * day},
		{"P1Y2M3DT4H5M6S", 365*day + 60*day + 3*day + 4*time.Hour + 5*time.Minute + 6*time.Second},
		{"P1Y2M1W3DT4H5M6S", 365*day + 60*day + 7*day + 3*day + 4*time.Hour + 5*time.Minute + 6*time.Second},
		{"P1YT1S", 365*day + time.Second},
		{"P0D", 0},
		{"PT0S", 0},
		{"P0DT0H0M0S", 0},
		{"P007D", 7 * day},
		{"P100Y", apikey.MaxDuration},
		{"P36500D", apikey.MaxDuration},
		{"PT876000H", apikey.MaxDuration},
		{"P36499DT24H", apikey.MaxDuration},
		// Lower case is accepted by the code (the designator and units are
		// upper-cased before parsing).
		{"p1d", day},
		{"pt24h", 24 * time.Hour},
		{"P1d", day},
		{"p1y2m3dt4h5m6s", 365*day + 60*day + 3*day + 4*time.Hour + 5*time.Minute + 6*time.Second},
		// Shorthand
		{"0", 0},
		{"0s", 0},
		{"0d", 0},
		{"30s", 30 * time.Second},
		{"30m", 30 * time.Minute},
		{"24h", 24 * time.Hour},
		{"90d", 90 * day},
		{"2w", 14 * day},
		{"1y", 365 * day},
		{"1d12h", 36 * time.Hour},
		{"1h30m", 90 * time.Minute},
		{"1w1d", 8 * day},
		{"1y1d1h1m1s", 366*day + time.Hour + time.Minute + time.Second},
		{"001d", day},
		{"100y", apikey.MaxDuration},
		{"36500d", apikey.MaxDuration},
		{"876000h", apikey.MaxDuration},
		{"3153600000s", apikey.MaxDuration},
		{"99y364d23h59m59s", apikey.MaxDuration - time.Second},
	}
	for _, tt := range tests {
		got, err := apikey.ParseDuration(tt.in)
		if err != nil {
			t.Errorf("ParseDuration(%q) = %v, want %v", tt.in, err, tt.want)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseDurationInvalid(t *testing.T) {
	for _, in := range []string{
		"", " ", "P", "p", "PT", "pt", "T", "T1H", "P1H", "PT1D", "PT1W", "PT1Y", "P1D1Y", "P1M1Y", "P1D1W", "PT1S1H", "PT1M1H",
		"P1Y1Y", "PT1H1H", "P1D1D", "P1DT", "P1DT1H2", "P1", "P1YM", "PT1HM", "P1DD", "P1T1H", "PT1HT1M", "P1DTT1H",
		"P-1D", "PT-1H", "P+1D", "P1.5D", "PT1.5S", "PT1,5S", "P 1D", "P1D ", "P1X", "PXD", "P1D1H",
		"1x", "-1d", "+1d", "1.5h", "1,5h", "d", "h", "90", "00", "1", " 1d", "1d ", "1 d", "1d 1h", "1D", "1H", "1W", "1Y",
		"1dd", "1hm", "1ms", "1us", "1ns", "1sec", "1day", "d1", "1d-1h", "1d+1h", "0x10s", "1e3s", "１d", "1d\n", "\t1d",
		// Out of range: more than 100 years, or numbers too long to be real.
		"99999999999999d", "9999999999999s", "1000000000000s", "101y", "36501d", "876001h", "100y1s", "3153600001s",
		"P101Y", "P36501D", "PT876001H", "P100Y1D", "P100YT1S", "P99Y400D", "PT9223372036854775807S", "P99999999999999D",
		"9223372036854775807s", "18446744073709551616s", "999999999999y",
		// n*unit overflows int64 and wraps round to a small positive value:
		// 585y would be about 21 days, 18446744074s about 0.3s.
		"18446744074s", "36893488148s", "307445735m", "5124096h", "213504d", "30501w", "585y", "1170y",
		"P585Y", "P30501W", "P213504D", "PT5124096H", "PT307445735M", "PT18446744074S", "1d585y",
	} {
		d, err := apikey.ParseDuration(in)
		if err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, d)
			continue
		}
		if got := apikey.ErrorCode(err); got != apikey.EINVALID {
			t.Errorf("ParseDuration(%q): code %q, want %q", in, got, apikey.EINVALID)
		}
		if d != 0 {
			t.Errorf("ParseDuration(%q) returned %v with its error", in, d)
		}
		if err.Error() == "" {
			t.Errorf("ParseDuration(%q): empty message", in)
		}
	}
}

func TestParseDurationMessage(t *testing.T) {
	_, err := apikey.ParseDuration("3 days")
	if err == nil || !strings.Contains(err.Error(), `"3 days"`) || !strings.Contains(err.Error(), "P90D") {
		t.Fatalf("message %v: want the input quoted and an example", err)
	}
	// A well-formed duration past the bound says so, not "use ISO 8601".
	for _, in := range []string{"101y", "P101Y", "9999999d", "PT999999999H"} {
		_, err = apikey.ParseDuration(in)
		if apikey.ErrorCode(err) != apikey.EINVALID || !strings.Contains(err.Error(), "longer than 100 years") {
			t.Fatalf("ParseDuration(%q) = %v, want EINVALID saying it is longer than 100 years", in, err)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "PT0S"},
		{time.Second, "PT1S"},
		{59 * time.Second, "PT59S"},
		{time.Minute, "PT1M"},
		{61 * time.Second, "PT1M1S"},
		{time.Hour, "PT1H"},
		{time.Hour + time.Second, "PT1H1S"},
		{3661 * time.Second, "PT1H1M1S"},
		{23*time.Hour + 59*time.Minute + 59*time.Second, "PT23H59M59S"},
		{day, "P1D"},
		{36 * time.Hour, "P1DT12H"},
		{day + time.Second, "P1DT1S"},
		{7 * day, "P7D"},
		{30 * day, "P30D"},
		{90 * day, "P90D"},
		{365 * day, "P365D"},
		{apikey.MaxDuration, "P36500D"},
		{1500 * time.Millisecond, "PT1.5S"},
	}
	for _, tt := range tests {
		if got := apikey.FormatDuration(tt.in); got != tt.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatDurationRoundTrip(t *testing.T) {
	inputs := []string{
		"0", "PT0S", "1s", "59s", "60s", "61s", "30m", "90m", "24h", "25h", "36h", "1d12h", "90d", "2w", "1y", "100y",
		"PT24H", "P90D", "P1W", "P1Y", "P1M", "P1Y2M3DT4H5M6S", "p1d", "P36500D", "99y364d23h59m59s", "3153600000s",
		"1d1s", "1h1s", "1d1m",
	}
	for _, in := range inputs {
		d, err := apikey.ParseDuration(in)
		if err != nil {
			t.Fatalf("ParseDuration(%q) = %v", in, err)
		}
		s := apikey.FormatDuration(d)
		back, err := apikey.ParseDuration(s)
		if err != nil {
			t.Errorf("ParseDuration(FormatDuration(%q) = %q) = %v", in, s, err)
			continue
		}
		if back != d {
			t.Errorf("%q -> %v -> %q -> %v: not a round trip", in, d, s, back)
		}
		if !strings.HasPrefix(s, "P") {
			t.Errorf("FormatDuration(%v) = %q: not ISO 8601", d, s)
		}
	}
	// A sweep of whole-second durations over the whole range.
	for _, step := range []time.Duration{time.Second, 7*time.Second + 13*time.Minute, 3*time.Hour + 17*time.Second, 29*day + 23*time.Hour + 59*time.Minute + 59*time.Second, 997 * day} {
		for d := time.Duration(0); d <= apikey.MaxDuration && d < 2000*step; d += step {
			s := apikey.FormatDuration(d)
			back, err := apikey.ParseDuration(s)
			if err != nil || back != d {
				t.Fatalf("FormatDuration(%v) = %q parses to %v, %v", d, s, back, err)
			}
		}
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2026-01-02T15:04:05Z", time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)},
		{"2026-01-02T15:04:05+02:00", time.Date(2026, 1, 2, 13, 4, 5, 0, time.UTC)},
		{"2026-01-02T01:04:05+05:30", time.Date(2026, 1, 1, 19, 34, 5, 0, time.UTC)},
		{"2026-01-01T22:00:00-03:00", time.Date(2026, 1, 2, 1, 0, 0, 0, time.UTC)},
		{"2026-01-02T15:04:05.123456789Z", time.Date(2026, 1, 2, 15, 4, 5, 123456789, time.UTC)},
		{"2026-01-02T15:04:05.5+01:00", time.Date(2026, 1, 2, 14, 4, 5, 500000000, time.UTC)},
		{"2026-01-02", time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)},
		{"2024-02-29", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"1999-12-31", time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := apikey.ParseTime(tt.in)
		if err != nil {
			t.Errorf("ParseTime(%q) = %v", tt.in, err)
			continue
		}
		if !got.Equal(tt.want) {
			t.Errorf("ParseTime(%q) = %v, want %v", tt.in, got, tt.want)
		}
		if got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) location %v, want UTC", tt.in, got.Location())
		}
		if _, off := got.Zone(); off != 0 {
			t.Errorf("ParseTime(%q) offset %d, want 0", tt.in, off)
		}
	}
}

func TestParseTimeInvalid(t *testing.T) {
	for _, in := range []string{
		"", " ", "now", "yesterday", "tomorrow", "2026", "2026-01", "2026-1-2", "2026/01/02", "02.01.2026", "01/02/2026",
		"2026-13-01", "2026-00-10", "2026-02-30", "2025-02-29", "2026-01-32",
		"2026-01-02T15:04:05", "2026-01-02 15:04:05", "2026-01-02T15:04Z", "2026-01-02T25:00:00Z", "2026-01-02T15:04:05+2",
		" 2026-01-02", "2026-01-02 ", "2026-01-02\n", "2026-01-02T", "1767225600", "P1D", "24h",
	} {
		tm, err := apikey.ParseTime(in)
		if err == nil {
			t.Errorf("ParseTime(%q) = %v, want an error", in, tm)
			continue
		}
		if got := apikey.ErrorCode(err); got != apikey.EINVALID {
			t.Errorf("ParseTime(%q): code %q, want %q", in, got, apikey.EINVALID)
		}
		if !tm.IsZero() {
			t.Errorf("ParseTime(%q) returned %v with its error", in, tm)
		}
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{
		"0", "PT24H", "P90D", "P1W", "P1Y", "P1M", "P1Y2M3DT4H5M6S", "p1d", "30s", "30m", "24h", "90d", "2w", "1y",
		"1d12h", "", "P", "PT", "P1H", "PT1D", "P1D1Y", "1x", "-1d", "1.5h", "d", "90", "P-1D", " 1d",
		"99999999999999d", "101y", "100y", "P100Y", "PT876000H", "999999999999y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := apikey.ParseDuration(s)
		if err != nil {
			if apikey.ErrorCode(err) != apikey.EINVALID {
				t.Fatalf("ParseDuration(%q): code %q, want %q", s, apikey.ErrorCode(err), apikey.EINVALID)
			}
			if d != 0 {
				t.Fatalf("ParseDuration(%q) = %v with an error", s, d)
			}
			return
		}
		if d < 0 || d > apikey.MaxDuration {
			t.Fatalf("ParseDuration(%q) = %v, out of [0, MaxDuration]", s, d)
		}
		if d%time.Second != 0 {
			t.Fatalf("ParseDuration(%q) = %v, not whole seconds", s, d)
		}
		f := apikey.FormatDuration(d)
		back, err := apikey.ParseDuration(f)
		if err != nil || back != d {
			t.Fatalf("ParseDuration(%q) = %v; FormatDuration = %q parses to %v, %v", s, d, f, back, err)
		}
	})
}

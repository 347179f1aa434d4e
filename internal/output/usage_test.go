package output

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/keyadm/keyadm/internal/apikey"
)

// TestUsageChartFits: however long the span, the chart fits the width (80
// off a terminal), its sparkline showing the most recent days and saying
// since when; a short span is drawn whole.
func TestUsageChartFits(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 30, 0, 0, time.UTC)
	counts := []apikey.UsageCount{
		{KeyID: "k", TenantID: "t", Hour: now.Add(-3 * time.Hour), Outcome: "valid", Count: 2},
		{KeyID: "k", TenantID: "t", Hour: now.Add(-30 * 24 * time.Hour), Outcome: "revoked", Count: 1},
	}
	for _, width := range []int{0, 80, 120, 40} {
		var b bytes.Buffer
		if err := UsageChart(&b, counts, now.AddDate(-100, 0, 0), now, width); err != nil {
			t.Fatal(err)
		}
		limit := width
		if limit == 0 {
			limit = 80
		}
		for _, line := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
			if n := utf8.RuneCountInString(line); n > max(limit, 70) {
				t.Errorf("width %d: a line of %d characters: %q", width, n, line)
			}
		}
		if !strings.Contains(b.String(), "3 verifications: revoked 1, valid 2") {
			t.Errorf("width %d: totals lost:\n%s", width, b.String())
		}
	}
	var b bytes.Buffer
	if err := UsageChart(&b, counts[:1], now.Add(-6*time.Hour), now, 80); err != nil {
		t.Fatal(err)
	}
	if want := "per hour since 2026-11-29T06:00:00Z"; !strings.Contains(b.String(), want) {
		t.Errorf("6h span: want %q in\n%s", want, b.String())
	}
}

package output

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// UsageRecord is one usage count as written: a key's verifications with
// one outcome within one hour.
type UsageRecord struct {
	KeyID    string `json:"keyId" yaml:"keyId"`
	TenantID string `json:"tenantId" yaml:"tenantId"`
	Hour     string `json:"hour" yaml:"hour"`
	Outcome  string `json:"outcome" yaml:"outcome"`
	Count    int64  `json:"count" yaml:"count"`
}

// NewUsageRecord describes one count.
func NewUsageRecord(c apikey.UsageCount) UsageRecord {
	return UsageRecord{KeyID: c.KeyID, TenantID: c.TenantID, Hour: Timestamp(c.Hour), Outcome: c.Outcome, Count: c.Count}
}

// UsageRows is how usage counts are written as rows (json, yaml, csv).
var UsageRows = View[UsageRecord]{
	Columns: []Column[UsageRecord]{
		{Header: "KEY", Cell: func(r UsageRecord) string { return r.KeyID }},
		{Header: "HOUR", Cell: func(r UsageRecord) string { return r.Hour }},
		{Header: "OUTCOME", Cell: func(r UsageRecord) string { return r.Outcome }},
		{Header: "COUNT", Cell: func(r UsageRecord) string { return strconv.FormatInt(r.Count, 10) }},
	},
	CSVHeader: []string{"keyId", "tenantId", "hour", "outcome", "count"},
	CSVRecord: func(r UsageRecord) []string {
		return []string{r.KeyID, r.TenantID, r.Hour, r.Outcome, strconv.FormatInt(r.Count, 10)}
	},
}

// sparks are the eight heights of a sparkline.
var sparks = []rune("▁▂▃▄▅▆▇█")

// UsageChart draws each key's verifications from since to now: a line
// with its totals by outcome, then a sparkline of all its verifications,
// one character per hour (per day beyond two days), a space where none.
// counts come by key, then hour.
func UsageChart(w io.Writer, counts []apikey.UsageCount, since, now time.Time) error {
	bucket := time.Hour
	if now.Sub(since) > 2*apikey.Day {
		bucket = apikey.Day
	}
	start := since.UTC().Truncate(bucket)
	n := int(now.Sub(start)/bucket) + 1
	type keyUsage struct {
		tenant   string
		outcomes map[string]int64
		series   []int64
	}
	var order []string
	keys := map[string]*keyUsage{}
	for _, c := range counts {
		u := keys[c.KeyID]
		if u == nil {
			u = &keyUsage{tenant: c.TenantID, outcomes: map[string]int64{}, series: make([]int64, n)}
			keys[c.KeyID] = u
			order = append(order, c.KeyID)
		}
		u.outcomes[c.Outcome] += c.Count
		if i := int(c.Hour.Sub(start) / bucket); i >= 0 && i < n {
			u.series[i] += c.Count
		}
	}
	unit := map[time.Duration]string{time.Hour: "hour", apikey.Day: "day"}[bucket]
	for _, id := range order {
		u := keys[id]
		var parts []string
		var total int64
		for _, o := range slices.Sorted(maps.Keys(u.outcomes)) {
			parts = append(parts, fmt.Sprintf("%s %d", o, u.outcomes[o]))
			total += u.outcomes[o]
		}
		if _, err := fmt.Fprintf(w, "%s (%s): %d verifications: %s\n  |%s| per %s since %s, peak %d\n",
			id, u.tenant, total, strings.Join(parts, ", "), sparkline(u.series), unit,
			start.Format(time.RFC3339), slices.Max(u.series)); err != nil {
			return err
		}
	}
	return nil
}

// sparkline draws values as block heights, scaled to the largest.
func sparkline(vals []int64) string {
	top := slices.Max(vals)
	var b strings.Builder
	for _, v := range vals {
		switch {
		case v == 0:
			b.WriteRune(' ')
		default:
			b.WriteRune(sparks[(v*int64(len(sparks))-1)/max(top, 1)])
		}
	}
	return b.String()
}

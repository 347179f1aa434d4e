package output

import (
	"fmt"
	"time"
)

// Relative describes t relative to now: "3 days ago", "in 29 days",
// "just now"; "never" when t is nil.
func Relative(t *time.Time, now time.Time) string {
	if t == nil {
		return "never"
	}
	d := now.Sub(*t)
	future := d < 0
	if future {
		d = -d
	}
	if d < 5*time.Second {
		return "just now"
	}
	// Round to the nearest unit, so a key made to expire in 90 days reads
	// "in 90 days" a moment later, not "in 89 days".
	var n int64
	var unit string
	round := func(u time.Duration) int64 { return int64((d + u/2) / u) }
	// Each unit ends where rounding would reach the next one, so no
	// "60 minutes" or "24 hours".
	switch {
	case d < 59*time.Second+time.Second/2:
		n, unit = round(time.Second), "second"
	case d < 59*time.Minute+time.Minute/2:
		n, unit = round(time.Minute), "minute"
	case d < 23*time.Hour+time.Hour/2:
		n, unit = round(time.Hour), "hour"
	case d < 364*24*time.Hour+12*time.Hour:
		n, unit = round(24*time.Hour), "day"
	default:
		n, unit = round(365*24*time.Hour), "year"
	}
	if n != 1 {
		unit += "s"
	}
	if future {
		return fmt.Sprintf("in %d %s", n, unit)
	}
	return fmt.Sprintf("%d %s ago", n, unit)
}

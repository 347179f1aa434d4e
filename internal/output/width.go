package output

import "github.com/clipperhouse/displaywidth"

// DisplayWidth is how many terminal cells s takes.
func DisplayWidth(s string) int { return displaywidth.String(s) }

// Truncate cuts s to at most width cells, ending it in "…" when cut.
func Truncate(s string, width int) string {
	return displaywidth.TruncateString(s, width, "…")
}

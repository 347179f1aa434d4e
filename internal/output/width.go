package output

import "github.com/clipperhouse/displaywidth"

// DisplayWidth is how many terminal cells s takes.
func DisplayWidth(s string) int { return displaywidth.String(s) }

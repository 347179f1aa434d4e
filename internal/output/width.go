package output

import "github.com/clipperhouse/displaywidth"

// displayWidth is how many terminal cells s takes.
func displayWidth(s string) int { return displaywidth.String(s) }

package apikey

import (
	"fmt"
	"strings"
)

// OneLine folds a text's white space, line breaks included, into single
// spaces: an error message or a logged statement stays on one line.
func OneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Count says how many of a noun: "1 key", "3 keys", "2 active keys".
func Count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

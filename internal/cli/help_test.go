package cli

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestHelpTextsFormatted: no command's help holds a fmt mistake such as
// "%!(EXTRA …)" (a user enable's short line once did).
func TestHelpTextsFormatted(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, text := range []string{c.Use, c.Short, c.Long, c.Example} {
			if strings.Contains(text, "%!") {
				t.Errorf("%s: help holds a formatting mistake: %q", c.CommandPath(), text)
			}
		}
		c.Flags().VisitAll(func(fl *pflag.Flag) {
			if strings.Contains(fl.Usage, "%!") {
				t.Errorf("%s --%s: usage holds a formatting mistake: %q", c.CommandPath(), fl.Name, fl.Usage)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(NewRootCmd(&Factory{}))
}

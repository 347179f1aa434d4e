package cli

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/keyadm/keyadm/internal/apikey"
)

// flagError words pflag's errors as keyadm says things: one line, naming
// the flag, never a whole 100 KB argument. It is the root's
// SetFlagErrorFunc.
func flagError(err error) error {
	var invalid *pflag.InvalidValueError
	var unknown *pflag.NotExistError
	switch {
	case errors.As(err, &invalid):
		return usageErrorf("invalid value %s for --%s", apikey.Quote(invalid.GetValue()), invalid.GetFlag().Name)
	case errors.As(err, &unknown) && unknown.GetSpecifiedShortnames() != "":
		if typed := "-" + unknown.GetSpecifiedShortnames(); utf8.RuneCountInString(typed) > apikey.MaxQuoted {
			return usageErrorf("unknown shorthand flag: %q in %s", rune(unknown.GetSpecifiedName()[0]), apikey.Quote(typed))
		}
	case errors.As(err, &unknown):
		if typed := "--" + unknown.GetSpecifiedName(); utf8.RuneCountInString(typed) > apikey.MaxQuoted {
			return usageErrorf("unknown flag: %s", apikey.Quote(typed))
		}
	}
	return usageErrorf("%s", err.Error())
}

// exclusiveAnnotation marks, in a command's annotations, a group of flags
// of which at most one may be given (see exclusive).
const exclusiveAnnotation = "keyadm_exclusive:"

// exclusive allows at most one of the flags: cobra knows (for completion),
// and checkFlags says so in keyadm's words.
func exclusive(cmd *cobra.Command, names ...string) {
	cmd.MarkFlagsMutuallyExclusive(names...)
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[exclusiveAnnotation+strings.Join(names, " ")] = ""
}

// checkFlags refuses a missing required flag, then two flags of an
// exclusive group, as cobra would after the root's setup, but in keyadm's
// words: "missing --name", "give only one of --after, --before".
func checkFlags(cmd *cobra.Command) error {
	var missing []string
	cmd.Flags().VisitAll(func(fl *pflag.Flag) {
		if req := fl.Annotations[cobra.BashCompOneRequiredFlag]; len(req) == 1 && req[0] == "true" && !fl.Changed {
			missing = append(missing, "--"+fl.Name)
		}
	})
	if len(missing) > 0 {
		return usageErrorf("missing %s", strings.Join(missing, ", "))
	}
	var groups []string
	for a := range cmd.Annotations {
		if g, ok := strings.CutPrefix(a, exclusiveAnnotation); ok {
			groups = append(groups, g)
		}
	}
	slices.Sort(groups) // the order cobra checks them in
	for _, g := range groups {
		names := strings.Fields(g)
		set := 0
		for _, n := range names {
			if cmd.Flags().Changed(n) {
				set++
			}
		}
		if set > 1 {
			for i, n := range names {
				names[i] = "--" + n
			}
			return usageErrorf("give only one of %s", strings.Join(names, ", "))
		}
	}
	return nil
}

// unknownCommand words cobra's "unknown command" error, the one usage
// error of cobra's own that has no type: the root's (groups refuse theirs
// in strictGroups), with cobra's suggestions.
func unknownCommand(msg string) string {
	if m := unknownCmdRE().FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("unknown command %s for %q", requote(m[1]), m[2]) + msg[len(m[0]):]
	}
	// "unknown command "x" for "keyadm"\n\nDid you mean this?\n\tlist\n"
	if head, rest, ok := strings.Cut(msg, "\n\nDid you mean this?"); ok {
		return head + "; did you mean " + strings.Join(strings.Fields(rest), " or ") + "?"
	}
	return msg
}

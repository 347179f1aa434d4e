package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/output"
)

// Exit codes, as the contract defines them.
const (
	ExitOK       = 0
	ExitFailure  = 1 // runtime failure: database unreachable, I/O
	ExitUsage    = 2 // usage or invalid input; nothing written
	ExitNotFound = 3
	ExitPolicy   = 4
	ExitRejected = 5
)

// Main runs keyadm with args and returns the exit code. It is the one place
// where errors become messages and exit codes; no stack trace gets out.
func Main(f *Factory, args []string) (code int) {
	if f.IO == nil {
		f.IO = output.System()
	}
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(f.IO.ErrOut, "keyadm: internal error: %v\n", r)
			code = ExitFailure
		}
	}()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := NewRootCmd(f)
	root.SetArgs(args)
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	cmd, err := root.ExecuteContextC(ctx)
	var ue *usageError
	var ae *apikey.Error
	if err != nil && !errors.As(err, &ue) && !errors.As(err, &ae) && isCobraUsage(err) {
		// Cobra's own usage errors (an unknown command, a missing required
		// flag) say where to look, as keyadm's do.
		err = usageErrorf(cmd, "%s", cobraMessage(err.Error()))
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(f.IO.ErrOut, "keyadm: "+oneLine(apikey.RedactSecrets(message(err))))
	return ExitCode(err)
}

func message(err error) string {
	var ae *apikey.Error
	if errors.As(err, &ae) {
		return ae.Message
	}
	var ue *usageError
	if errors.As(err, &ue) || errors.Is(err, errCancelled) {
		return err.Error()
	}
	if errors.Is(err, context.Canceled) {
		return "interrupted"
	}
	return "internal error: " + err.Error()
}

// ExitCode maps an error to the documented exit code. Cobra's own usage
// errors arrive as usageErrors (see Main).
func ExitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue), errors.Is(err, errCancelled):
		return ExitUsage
	}
	switch apikey.ErrorCode(err) {
	case apikey.EINVALID:
		return ExitUsage
	case apikey.ENOTFOUND:
		return ExitNotFound
	case apikey.EPOLICY:
		return ExitPolicy
	case apikey.EREJECTED:
		return ExitRejected
	}
	return ExitFailure
}

var (
	flagGroupRE  = regexp.MustCompile(`^if any flags in the group \[([^\]]*)\] are set none of the others can be`)
	requiredRE   = regexp.MustCompile(`^required flag\(s\) (.*) not set`)
	badFlagArgRE = regexp.MustCompile(`^invalid argument "(.*)" for "(.*)" flag: .*`)
	unknownCmdRE = regexp.MustCompile(`^unknown command "(.*)" for "([^"]*)"`)
	shorthandRE  = regexp.MustCompile(`^(unknown shorthand flag: '.*' in )(-.*)`)
)

// cobraMessage rewrites cobra's own usage errors as keyadm says things:
// one line, naming the flags, with where to look.
func cobraMessage(msg string) string {
	if m := flagGroupRE.FindStringSubmatch(msg); m != nil {
		flags := strings.Fields(m[1])
		for i, f := range flags {
			flags[i] = "--" + f
		}
		return "give only one of " + strings.Join(flags, ", ")
	}
	if m := requiredRE.FindStringSubmatch(msg); m != nil {
		names := strings.Split(strings.ReplaceAll(m[1], `"`, ""), ", ")
		for i, n := range names {
			names[i] = "--" + n
		}
		return "missing " + strings.Join(names, ", ")
	}
	if m := badFlagArgRE.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("invalid value %s for %s", requote(m[1]), strings.TrimPrefix(m[2], "-"+string(m[2][1])+", "))
	}
	// Cobra and pflag quote what was typed whole: a 100 KB argument made
	// a 100 KB line. Short ones read as before.
	if m := unknownCmdRE.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("unknown command %s for %q", requote(m[1]), m[2]) + msg[len(m[0]):]
	}
	if flag, ok := strings.CutPrefix(msg, "unknown flag: "); ok && utf8.RuneCountInString(flag) > apikey.MaxQuoted {
		return "unknown flag: " + apikey.Quote(flag)
	}
	if m := shorthandRE.FindStringSubmatch(msg); m != nil && utf8.RuneCountInString(m[2]) > apikey.MaxQuoted {
		return m[1] + apikey.Quote(m[2])
	}
	// "unknown command "x" for "keyadm"\n\nDid you mean this?\n\tlist\n"
	if head, rest, ok := strings.Cut(msg, "\n\nDid you mean this?"); ok {
		return head + "; did you mean " + strings.Join(strings.Fields(rest), " or ") + "?"
	}
	return msg
}

// requote quotes again, through apikey.Quote, what cobra or pflag quoted
// with %q.
func requote(quoted string) string {
	s, err := strconv.Unquote(`"` + quoted + `"`)
	if err != nil {
		s = quoted
	}
	return apikey.Quote(s)
}

// isCobraUsage recognises the usage errors cobra makes itself.
func isCobraUsage(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "unknown flag") ||
		strings.HasPrefix(msg, "unknown shorthand flag") || strings.Contains(msg, "flag needs an argument") ||
		strings.HasPrefix(msg, "invalid argument") || strings.HasPrefix(msg, "required flag") || strings.HasPrefix(msg, "if any flags in the group")
}

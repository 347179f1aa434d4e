package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/output"
)

// Exit codes, as the contract defines them; ExitCodes says what each means.
const (
	ExitOK       = 0
	ExitFailure  = 1
	ExitUsage    = 2
	ExitNotFound = 3
	ExitPolicy   = 4
	ExitRejected = 5
)

// ExitStatus is one exit code: what it means, and the kinds of error
// (apikey error codes) that end with it.
type ExitStatus struct {
	Code    int
	Meaning string
	kinds   []string
}

// ExitCodes is the one table of exit codes: ExitCode maps errors with it,
// and the root command's help, the markdown reference and the man pages
// list it.
var ExitCodes = []ExitStatus{
	{ExitOK, "success", nil},
	{ExitFailure, "runtime failure: database unreachable, I/O", []string{apikey.EINTERNAL, apikey.EUNAVAILABLE, apikey.ECONFLICT}},
	{ExitUsage, "usage or invalid input; nothing was written", []string{apikey.EINVALID}},
	{ExitNotFound, "not found (in the --tenant scope)", []string{apikey.ENOTFOUND}},
	{ExitPolicy, "refused by policy: quota, expiry over the max, keys disabled for the tenant, beyond a key's owner or team", []string{apikey.EPOLICY, apikey.EFORBIDDEN}},
	{ExitRejected, "verify: key rejected (malformed, unknown, revoked, expired, disabled, insufficient_permissions); why on stderr", []string{apikey.EREJECTED}},
}

// exitCodesText lists ExitCodes, a line each, indented four spaces so
// that the markdown reference shows them as a block, as help does.
func exitCodesText() string {
	var b strings.Builder
	for _, e := range ExitCodes {
		fmt.Fprintf(&b, "    %d  %s\n", e.Code, e.Meaning)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

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
	defer func() { f.stopSignals() }()
	root := newRootCmd(f, args)
	root.SetArgs(args)
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	cmd, err := root.ExecuteContextC(context.Background())
	var ue *usageError
	var ae *apikey.Error
	if err != nil && !errors.As(err, &ue) && !errors.As(err, &ae) && strings.HasPrefix(err.Error(), "unknown command") {
		// Cobra's unknown command says where to look, as keyadm's errors do.
		err = usageErrorf("%s", unknownCommand(err.Error()))
	}
	if errors.As(err, &ue) && cmd != nil {
		ue.command = cmd.CommandPath()
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(f.IO.ErrOut, "keyadm: "+apikey.OneLine(apikey.RedactSecrets(message(err))))
	return ExitCode(err)
}

// catchSignals makes SIGINT and SIGTERM cancel cmd's context from the
// moment the command starts its work (the root's PersistentPreRunE), so
// that what it does stops cleanly. Help and version, which do nothing to
// stop, start neither the goroutine nor the thread that watching takes.
func (f *Factory) catchSignals(cmd *cobra.Command) {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	cmd.SetContext(ctx)
	f.unwatch = stop
}

// stopSignals gives SIGINT and SIGTERM back their default behaviour.
func (f *Factory) stopSignals() {
	if f.unwatch != nil {
		f.unwatch()
	}
}

func message(err error) string {
	var ae *apikey.Error
	if errors.As(err, &ae) {
		return ae.Worded(flagName)
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

// flagName words a data-model field as the flag that sets it: expiresIn is
// --expires-in. This is the one place the command line names the domain's
// fields.
func flagName(field string) string {
	switch field {
	case "permissions":
		return "--permission"
	case "metadata":
		return "--meta"
	case "rateLimits":
		return "--rate-limit"
	case "allowIps":
		return "--allow-ip"
	}
	var b strings.Builder
	b.WriteString("--")
	for _, r := range field {
		if unicode.IsUpper(r) {
			b.WriteByte('-')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
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
	kind := apikey.ErrorCode(err)
	for _, e := range ExitCodes {
		if slices.Contains(e.kinds, kind) {
			return e.Code
		}
	}
	return ExitFailure
}

// unknownCmdRE reads what cobra quoted whole with %q: a 100 KB argument
// made a 100 KB line.
var unknownCmdRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^unknown command "(.*)" for "([^"]*)"`)
})

// requote quotes again, through apikey.Quote, what cobra or pflag quoted
// with %q.
func requote(quoted string) string {
	s, err := strconv.Unquote(`"` + quoted + `"`)
	if err != nil {
		s = quoted
	}
	return apikey.Quote(s)
}

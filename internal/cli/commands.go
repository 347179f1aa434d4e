package cli

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// command is one of the root's commands: its name, as cobra finds it in
// the arguments, and its constructor.
type command struct {
	name string
	new  func(*Factory) *cobra.Command
}

// commands are the root's commands, in the order they are added.
var commands = []command{
	{"create", func(f *Factory) *cobra.Command { return NewCmdCreate(f, nil) }},
	{"list", func(f *Factory) *cobra.Command { return NewCmdList(f, nil) }},
	{"show", func(f *Factory) *cobra.Command { return NewCmdShow(f, nil) }},
	{"update", func(f *Factory) *cobra.Command { return NewCmdUpdate(f, nil) }},
	{"revoke", func(f *Factory) *cobra.Command { return NewCmdRevoke(f, nil) }},
	{"delete", func(f *Factory) *cobra.Command { return NewCmdDelete(f, nil) }},
	{"rotate", func(f *Factory) *cobra.Command { return NewCmdRotate(f, nil) }},
	{"verify", func(f *Factory) *cobra.Command { return NewCmdVerify(f, nil) }},
	{"config", newConfigCmd},
	{"audit", func(f *Factory) *cobra.Command { return NewCmdAudit(f, nil) }},
	{"usage", func(f *Factory) *cobra.Command { return NewCmdUsage(f, nil) }},
	{"db", newDBCmd},
	{"disable", func(f *Factory) *cobra.Command { return NewCmdDisable(f, nil) }},
	{"enable", func(f *Factory) *cobra.Command { return NewCmdEnable(f, nil) }},
	{"user", newUserCmd},
	{"team", newTeamCmd},
	{"serve", func(f *Factory) *cobra.Command { return NewCmdServe(f, nil) }},
	{"version", func(f *Factory) *cobra.Command { return NewCmdVersion(f, nil) }},
}

// addCommands adds to root the command that args call, alone, when they
// call one of commands; every command otherwise (help, completion, a
// mistyped name, none). Building the whole tree, every subcommand's flags
// and help texts, cost a one-shot command about a twentieth of its run
// (issue 17); the command that runs is built as it always is.
func addCommands(root *cobra.Command, f *Factory, args []string) {
	if name, ok := commandName(root.PersistentFlags(), args); ok {
		for _, c := range commands {
			if c.name == name {
				root.AddCommand(c.new(f))
				return
			}
		}
	}
	for _, c := range commands {
		root.AddCommand(c.new(f))
	}
}

// commandName is the first word of args that is neither a flag nor a
// flag's value, read as cobra's Find reads it (stripFlags in
// cobra/command.go): "--name" and "-n" take the next word unless they are
// known on/off flags, "--name=value" and longer clusters take none, and
// "--" ends the flags.
func commandName(flags *pflag.FlagSet, args []string) (string, bool) {
	for len(args) > 0 {
		s := args[0]
		args = args[1:]
		switch {
		case s == "--":
			return "", false
		case strings.HasPrefix(s, "--") && !strings.Contains(s, "=") && !onOff(flags.Lookup(s[2:])),
			strings.HasPrefix(s, "-") && !strings.Contains(s, "=") && len(s) == 2 && !onOff(flags.ShorthandLookup(s[1:])):
			if len(args) <= 1 {
				return "", false
			}
			args = args[1:]
		case s != "" && !strings.HasPrefix(s, "-"):
			return s, true
		}
	}
	return "", false
}

// onOff: the flag takes no value (cobra: hasNoOptDefVal).
func onOff(fl *pflag.Flag) bool { return fl != nil && fl.NoOptDefVal != "" }

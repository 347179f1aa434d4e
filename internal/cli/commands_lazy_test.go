package cli

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/keyadm/keyadm/internal/output"
)

// TestCommandsTable: commands names every command of the tree, under the
// name cobra finds it by.
func TestCommandsTable(t *testing.T) {
	var names []string
	for _, c := range NewRootCmd(&Factory{}).Commands() {
		if c.Name() != "completion" && c.Name() != "help" {
			names = append(names, c.Name())
		}
	}
	var want []string
	for _, c := range commands {
		want = append(want, c.name)
	}
	slices.Sort(want) // cobra lists commands sorted
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("the tree's commands are %v, the table's %v", names, want)
	}
}

// TestPartialTreeAsWhole: the tree Main builds for its arguments (the
// command they call alone) finds the same command as the whole tree, and
// prints the same help and errors, whatever flags come before the command.
func TestPartialTreeAsWhole(t *testing.T) {
	cases := [][]string{
		{}, {"--help"}, {"-h"}, {"help", "list"}, {"lst"}, {"--", "list"}, {"--db"}, {"--db", "list"},
		{"--db", "x.db", "list", "--help"}, {"--db=x.db", "list", "--help"}, {"-o", "json", "version", "--help"},
		{"-q", "version", "--help"}, {"--quiet", "list", "--help"}, {"-qo", "json", "version"},
		{"--no-color", "user", "add", "--help"}, {"-o", "version"}, {"version", "--db=x", "--help"},
		{"completion", "bash", "--help"}, {"__complete", "li"}, {"list", "extra", "--unknown"},
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasParent() {
			cases = append(cases, append(strings.Fields(c.CommandPath())[1:], "--help"))
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(NewRootCmd(&Factory{}))
	for _, args := range cases {
		whole, wholePath := execute(NewRootCmd, args)
		part, partPath := execute(func(f *Factory) *cobra.Command { return newRootCmd(f, args) }, args)
		if part != whole || partPath != wholePath {
			t.Errorf("keyadm %s: the partial tree ran %q and printed\n%s\nthe whole tree ran %q and printed\n%s",
				strings.Join(args, " "), partPath, part, wholePath, whole)
		}
	}
}

// execute runs args on the tree build makes, help and usage mistakes only
// (no command's run gets that far without a database), and returns what
// it printed and the path of the command it found.
func execute(build func(*Factory) *cobra.Command, args []string) (string, string) {
	io, out, errOut := output.Test("")
	f := &Factory{IO: io}
	root := build(f)
	var buf bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&buf)
	root.SetErr(&buf)
	cmd, err := root.ExecuteC()
	path := ""
	if cmd != nil {
		path = cmd.CommandPath()
	}
	if err != nil {
		buf.WriteString("error: " + err.Error())
	}
	return buf.String() + out.String() + errOut.String(), path
}

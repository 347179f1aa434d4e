package main

import (
	"strings"
	"testing"
)

// TestRewrite: sessions get fresh output, a blank line after each command
// that printed something; other blocks and text stay as they are, and a
// session right after another is still one.
func TestRewrite(t *testing.T) {
	in := strings.Join([]string{
		"# Title",
		"```",
		"$ one",
		"stale output",
		"",
		"$ two",
		"$ three",
		"stale",
		"```",
		"",
		"```",
		"$ four",
		"```",
		"```",
		"not a session",
		"$ not run: the block does not start with a prompt",
		"```",
		"```yaml",
		"a: b",
		"```",
		"",
	}, "\n")
	outputs := map[string]string{"one": "1\n", "two": "", "three": "3a\n3b", "four": "4"}
	var ran []string
	var olds []string
	got, err := rewrite(in, func(c, old string) (string, string, error) {
		ran, olds = append(ran, c), append(olds, old)
		return c, outputs[c], nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"# Title",
		"```",
		"$ one",
		"1",
		"",
		"$ two",
		"$ three",
		"3a",
		"3b",
		"```",
		"",
		"```",
		"$ four",
		"4",
		"```",
		"```",
		"not a session",
		"$ not run: the block does not start with a prompt",
		"```",
		"```yaml",
		"a: b",
		"```",
		"",
	}, "\n")
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if strings.Join(ran, ",") != "one,two,three,four" {
		t.Fatalf("ran %v", ran)
	}
	if strings.Join(olds, "|") != "stale output\n\n||stale\n|" {
		t.Fatalf("old outputs %q", olds)
	}
	if _, err := rewrite("```\n$ x\n", func(c, _ string) (string, string, error) { return c, "", nil }); err == nil {
		t.Fatal("an unclosed session was accepted")
	}
}

// TestShell: one bash keeps its state between commands, and each
// command's output and exit code come back whole, without a final newline.
func TestShell(t *testing.T) {
	sh, err := startShell(t.TempDir(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer sh.close()
	for _, c := range []struct {
		command, out string
		code         int
	}{
		{"X=kept", "", 0},
		{"echo $X; echo err >&2", "kept\nerr", 0},
		{"printf 'no newline'", "no newline", 0},
		{"false", "", 1},
	} {
		out, code, err := sh.run(c.command)
		if err != nil || out != c.out || code != c.code {
			t.Fatalf("%q: %q, exit %d, %v; want %q, exit %d", c.command, out, code, err, c.out, c.code)
		}
	}
}

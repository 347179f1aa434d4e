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

// TestIDMap: ids shown by one command are replaced in later ones, in
// order, and a change of shape pairs nothing.
func TestIDMap(t *testing.T) {
	const a, b = "01a21764-844a-7ad2-8234-e85388a7e431", "01a21764-845d-71b5-b06e-06ac7714f843"
	const x, y = "01a217b0-c9de-7767-88ae-0805567135fb", "01a217b0-c9de-7053-998b-be5872d1a426"
	m := idMap{}
	if err := m.learn("ID: "+a+"\nID: "+b, "ID: "+x+"\nID: "+y); err != nil {
		t.Fatal(err)
	}
	if got := m.apply("keyadm revoke " + b + " " + a + " --yes"); got != "keyadm revoke "+y+" "+x+" --yes" {
		t.Fatalf("apply: %q", got)
	}
	if err := m.learn("ID: "+a, "ID: "+y+"\nID: "+x); err == nil {
		t.Fatal("a change of shape was paired")
	}
	if m[a] != x {
		t.Fatalf("a pairing moved: %s", m[a])
	}
}

// TestShellStdin: a command that reads stdin gets nothing, rather than the
// commands that follow it.
func TestShellStdin(t *testing.T) {
	sh, err := startShell(t.TempDir(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer sh.close()
	if out, _, err := sh.run("cat"); err != nil || out != "" {
		t.Fatalf("cat: %q, %v", out, err)
	}
	if out, _, err := sh.run("echo after"); err != nil || out != "after" {
		t.Fatalf("the next command: %q, %v", out, err)
	}
}

// TestRewriteContinuation: a command ending in a backslash goes on over the
// lines that follow, which are the command's and not its output, and run
// as one command.
func TestRewriteContinuation(t *testing.T) {
	in := "```\n$ curl x \\\n    -X POST \\\n    -d '{}'\nold output\n$ next\n```\n"
	var ran []string
	got, err := rewrite(in, func(c, old string) (string, string, error) {
		ran = append(ran, c)
		return c, "out of " + strings.Fields(c)[0], nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"curl x \\\n    -X POST \\\n    -d '{}'", "next"}; strings.Join(ran, "|") != strings.Join(want, "|") {
		t.Errorf("ran %q, want %q", ran, want)
	}
	if want := "```\n$ curl x \\\n    -X POST \\\n    -d '{}'\nout of curl\n\n$ next\nout of next\n```\n"; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

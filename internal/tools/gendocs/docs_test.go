package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/keyadm/keyadm/internal/cli"
)

// TestDocsUpToDate fails when docs/cli no longer matches the command tree:
// run `make docs` and commit the result.
func TestDocsUpToDate(t *testing.T) {
	dir := t.TempDir()
	if err := genDocs(dir, ""); err != nil {
		t.Fatal(err)
	}
	committed := filepath.Join("..", "..", "..", "docs", "cli")
	want, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadDir(committed)
	if err != nil {
		t.Fatalf("no committed reference in docs/cli: run make docs (%v)", err)
	}
	if len(have) != len(want) {
		t.Fatalf("docs/cli has %d files, the command tree makes %d: run make docs", len(have), len(want))
	}
	for _, e := range want {
		fresh, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		old, err := os.ReadFile(filepath.Join(committed, e.Name()))
		if err != nil || string(old) != string(fresh) {
			t.Errorf("docs/cli/%s is out of date: run make docs", e.Name())
		}
	}
}

// TestManPages: every command gets a man page.
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	if err := genDocs("", dir); err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{"keyadm.1", "keyadm-create.1", "keyadm-config-set.1", "keyadm-revoke.1"} {
		b, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil || len(b) < 100 {
			t.Errorf("man page %s: %v", page, err)
		}
	}
}

// TestExitCodesDocumented: the reference and every man page list each exit
// code with its meaning, from the table that decides them.
func TestExitCodesDocumented(t *testing.T) {
	md, man := t.TempDir(), t.TempDir()
	if err := genDocs(md, man); err != nil {
		t.Fatal(err)
	}
	ref, err := os.ReadFile(filepath.Join(md, "keyadm.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range cli.ExitCodes {
		if line := fmt.Sprintf("    %d  %s\n", e.Code, e.Meaning); !strings.Contains(string(ref), line) {
			t.Errorf("keyadm.md lacks %q", line)
		}
	}
	for _, page := range []string{"keyadm.1", "keyadm-create.1", "keyadm-verify.1"} {
		b, err := os.ReadFile(filepath.Join(man, page))
		if err != nil {
			t.Fatal(err)
		}
		_, section, ok := strings.Cut(string(b), ".SH EXIT STATUS\n")
		if !ok {
			t.Errorf("%s has no EXIT STATUS section", page)
			continue
		}
		for _, e := range cli.ExitCodes {
			if entry := fmt.Sprintf(".TP\n\\fB%d\\fP\n%s\n", e.Code, strings.ReplaceAll(e.Meaning, "-", `\-`)); !strings.Contains(section, entry) {
				t.Errorf("%s: EXIT STATUS lacks %q", page, entry)
			}
		}
	}
}

// TestQuickStartWarnsOfFirstBuild: the README's quick start says how long
// the first go run takes with empty caches, so nobody thinks it hangs.
func TestQuickStartWarnsOfFirstBuild(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, quick, _ := strings.Cut(string(b), "## Quick start\n")
	quick, _, _ = strings.Cut(quick, "\n## ")
	if !strings.Contains(quick, "go run ./cmd/keyadm") || !regexp.MustCompile(`first .go run. is slow[^#]*\d+ min`).MatchString(quick) {
		t.Errorf("the quick start does not say how long the first go run takes:\n%s", quick)
	}
}

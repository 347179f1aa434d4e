package main

import (
	"os"
	"path/filepath"
	"testing"
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

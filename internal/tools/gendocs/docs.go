package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra/doc"

	"github.com/keyadm/keyadm/internal/cli"
)

// genDocs writes the markdown command reference to mdDir and man pages to
// manDir (either may be ""), from the command tree itself, so they never
// drift from the flags. The output is reproducible: no generation date.
// It lives here, not in the cli package, so keyadm itself does not carry
// the markdown and man page renderers.
func genDocs(mdDir, manDir string) error {
	root := cli.NewRootCmd(&cli.Factory{})
	root.DisableAutoGenTag = true
	if mdDir != "" {
		if err := os.MkdirAll(mdDir, 0o755); err != nil {
			return err
		}
		if err := doc.GenMarkdownTree(root, mdDir); err != nil {
			return err
		}
	}
	if manDir != "" {
		if err := os.MkdirAll(manDir, 0o755); err != nil {
			return err
		}
		epoch := time.Unix(0, 0).UTC()
		header := &doc.GenManHeader{Title: "KEYADM", Section: "1", Source: "keyadm", Manual: "keyadm manual", Date: &epoch}
		if err := doc.GenManTree(root, header, manDir); err != nil {
			return err
		}
		return addExitStatus(manDir)
	}
	return nil
}

// addExitStatus gives every man page an EXIT STATUS section, from the
// table that decides the codes, before SEE ALSO as man-pages(7) orders it.
func addExitStatus(manDir string) error {
	var b strings.Builder
	b.WriteString(".SH EXIT STATUS\n")
	for _, e := range cli.ExitCodes {
		fmt.Fprintf(&b, ".TP\n\\fB%d\\fP\n%s\n", e.Code, strings.ReplaceAll(e.Meaning, "-", "\\-"))
	}
	b.WriteString("\n")
	pages, err := filepath.Glob(filepath.Join(manDir, "*.1"))
	if err != nil {
		return err
	}
	for _, page := range pages {
		text, err := os.ReadFile(page)
		if err != nil {
			return err
		}
		before, after, ok := strings.Cut(string(text), ".SH SEE ALSO")
		if !ok {
			return fmt.Errorf("%s: no SEE ALSO section", page)
		}
		if err := os.WriteFile(page, []byte(before+b.String()+".SH SEE ALSO"+after), 0o644); err != nil {
			return err
		}
	}
	return nil
}

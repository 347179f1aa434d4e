package main

import (
	"os"
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
	}
	return nil
}

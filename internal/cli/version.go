package cli

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/keyadm/keyadm/internal/output"
)

// Set at build time with -ldflags "-X github.com/keyadm/keyadm/internal/cli.version=…".
var (
	version = ""
	commit  = ""
	date    = ""
)

// BuildInfo returns the version, commit and build date: those linked in,
// or what the Go toolchain recorded (go install), or "dev".
func BuildInfo() (v, c, d string) {
	v, c, d = version, commit, date
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && c == "":
				c = s.Value
			case s.Key == "vcs.time" && d == "":
				d = s.Value
			}
		}
	}
	if v == "" {
		v = "dev"
	}
	if c == "" {
		c = "unknown"
	}
	if d == "" {
		d = "unknown"
	}
	return v, c, d
}

type versionRecord struct {
	Version   string `json:"version" yaml:"version"`
	Commit    string `json:"commit" yaml:"commit"`
	Date      string `json:"date" yaml:"date"`
	GoVersion string `json:"goVersion" yaml:"goVersion"`
	Platform  string `json:"platform" yaml:"platform"`
}

var versionView = output.View[versionRecord]{
	CSVHeader: []string{"version", "commit", "date", "goVersion", "platform"},
	CSVRecord: func(r versionRecord) []string { return []string{r.Version, r.Commit, r.Date, r.GoVersion, r.Platform} },
	Quiet:     func(r versionRecord) string { return r.Version },
}

// VersionOptions are the inputs of version: the printer, from the flags and
// KEYADM_ variables only.
type VersionOptions struct {
	IO      *output.IOStreams
	Printer *output.Printer
}

// NewCmdVersion is version: runF, when not nil, runs in place of
// versionRun.
func NewCmdVersion(f *Factory, runF func(*VersionOptions) error) *cobra.Command {
	opts := &VersionOptions{}
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Long: `Print the version, commit and build date. -o json, yaml or csv prints
them as a record; -q prints only the version.`,
		Args: args(0, 0, "no arguments"),
		// Skip the root's setup: version reads no config file and opens no
		// database, only its own flags and KEYADM_OUTPUT / KEYADM_QUIET.
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The flags and KEYADM_ variables, through viper; not the file.
			format, err := output.ParseFormat(f.v.GetString(keyOutput))
			if err != nil {
				return err
			}
			quiet, err := f.boolSetting(keyQuiet)
			if err != nil {
				return err
			}
			opts.IO, opts.Printer = f.IO, &output.Printer{IO: f.IO, Format: format, Quiet: quiet}
			return runWith(cmd.Context(), opts, runF, versionRun)
		},
	}
}

func versionRun(_ context.Context, opts *VersionOptions) error {
	v, c, d := BuildInfo()
	r := versionRecord{Version: v, Commit: c, Date: d, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if p := opts.Printer; p.Format == output.Table && !p.Quiet {
		_, err := fmt.Fprintf(opts.IO.Out, "keyadm %s (commit %s, built %s, %s %s)\n", r.Version, r.Commit, r.Date, r.GoVersion, r.Platform)
		return err
	}
	return output.One(opts.Printer, versionView, r)
}

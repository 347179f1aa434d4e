package cli

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

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
	Columns: []output.Column[versionRecord]{
		{Header: "VERSION", Cell: func(r versionRecord) string { return r.Version }},
		{Header: "COMMIT", Cell: func(r versionRecord) string { return r.Commit }},
		{Header: "DATE", Cell: func(r versionRecord) string { return r.Date }},
		{Header: "GO VERSION", Cell: func(r versionRecord) string { return r.GoVersion }},
		{Header: "PLATFORM", Cell: func(r versionRecord) string { return r.Platform }},
	},
	Quiet: func(r versionRecord) string { return r.Version },
}

func newVersionCmd(f *Factory) *cobra.Command {
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
			v, c, d := BuildInfo()
			r := versionRecord{Version: v, Commit: c, Date: d, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
			name, quiet := flagOrEnv(cmd, keyOutput), flagOrEnv(cmd, keyQuiet)
			format, err := output.ParseFormat(name)
			if err != nil {
				return err
			}
			if format == output.Table && quiet != "true" && quiet != "1" {
				_, err := fmt.Fprintf(f.IO.Out, "keyadm %s (commit %s, built %s, %s %s)\n", r.Version, r.Commit, r.Date, r.GoVersion, r.Platform)
				return err
			}
			p := &output.Printer{IO: f.IO, Format: format, Quiet: quiet == "true" || quiet == "1"}
			return output.One(p, versionView, r)
		},
	}
}

// flagOrEnv is a global flag's value where viper is not set up: the flag
// when given, else its KEYADM_ variable.
func flagOrEnv(cmd *cobra.Command, name string) string {
	if fl := cmd.Flags().Lookup(name); fl != nil && fl.Changed {
		return fl.Value.String()
	}
	if v, ok := os.LookupEnv("KEYADM_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))); ok {
		return v
	}
	if fl := cmd.Flags().Lookup(name); fl != nil {
		return fl.DefValue
	}
	return ""
}

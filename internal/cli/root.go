// Package cli is keyadm's command line: one file per command, each with an
// Options struct, a constructor that only declares and checks flags, and a
// run function that does the work.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/output"
	"github.com/keyadm/keyadm/internal/store"
)

// Factory carries what every command needs: the streams, the resolved
// settings, and the store, opened on first use so that commands such as
// version never touch a database.
type Factory struct {
	IO *output.IOStreams
	// Now is the clock (nil: time.Now); tests set it.
	Now func() time.Time
	// Rand is the source of key secrets (nil: crypto/rand).
	Rand io.Reader

	v       *viper.Viper
	log     *slog.Logger
	printer *output.Printer
	db      store.DB
	// unwatch stops catchSignals' watching; nil until a command starts.
	unwatch context.CancelFunc
}

// Setting names shared by flags, environment (KEYADM_*) and the config file.
const (
	keyDB      = "db"
	keyConfig  = "config"
	keyTenant  = "tenant"
	keyActor   = "actor"
	keyOutput  = "output"
	keyQuiet   = "quiet"
	keyNoColor = "no-color"
	keyDebug   = "debug"
)

// NewRootCmd builds the command tree.
func NewRootCmd(f *Factory) *cobra.Command { return newRootCmd(f, nil) }

// newRootCmd builds the root and the commands args may call (addCommands):
// every one when args is nil.
func newRootCmd(f *Factory, args []string) *cobra.Command {
	f.v = viper.New()
	root := &cobra.Command{
		Use:   "keyadm",
		Short: "Manage API keys where they live: in SQLite or PostgreSQL",
		Long: `keyadm creates, lists, verifies, revokes and audits API keys stored in a
database: an embedded SQLite file by default, or PostgreSQL.

A key's secret is shown once, when it is created; only its SHA-256 is stored.

Exit codes:

` + exitCodesText(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			f.catchSignals(cmd)
			if err := f.init(cmd); err != nil {
				return err
			}
			return checkFlags(cmd)
		},
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return flagError(err)
	})
	pf := root.PersistentFlags()
	pf.String(keyDB, "", "database: a SQLite path, sqlite://PATH or postgres://… (env KEYADM_DB; default $XDG_DATA_HOME/keyadm/keyadm.db)")
	pf.String(keyConfig, "", "config file (env KEYADM_CONFIG; default $XDG_CONFIG_HOME/keyadm/config.yaml)")
	pf.String(keyTenant, "", "tenant scope (env KEYADM_TENANT; new keys default to \"default\")")
	pf.String(keyActor, "", "who is acting, for the audit trail (env KEYADM_ACTOR; default the OS user)")
	pf.StringP(keyOutput, "o", "table", "output format: table, json, yaml or csv (env KEYADM_OUTPUT)")
	pf.BoolP(keyQuiet, "q", false, "print only the essential: the secret for create, ids for list (env KEYADM_QUIET)")
	pf.Bool(keyNoColor, false, "never colour the output (env KEYADM_NO_COLOR or NO_COLOR)")
	pf.Bool(keyDebug, false, "say what keyadm does, step by step, on stderr, never a secret (env KEYADM_DEBUG)")
	for _, name := range []string{keyDB, keyConfig, keyTenant, keyActor, keyOutput, keyQuiet, keyNoColor, keyDebug} {
		_ = f.v.BindPFlag(name, pf.Lookup(name))
	}
	f.v.SetEnvPrefix("KEYADM")
	f.v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	f.v.AutomaticEnv()

	addCommands(root, f, args)
	root.InitDefaultCompletionCmd()
	strictGroups(root)
	return root
}

// strictGroups makes every command that only groups others refuse an
// unknown subcommand (a usage error, exit 2) instead of printing help and
// succeeding, so a typo in a script fails.
func strictGroups(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		strictGroups(c)
	}
	if cmd.HasSubCommands() && cmd.Run == nil && cmd.RunE == nil && cmd.HasParent() {
		cmd.Args = func(c *cobra.Command, a []string) error {
			if len(a) > 0 {
				return usageErrorf("unknown command %s for %q", apikey.Quote(a[0]), c.CommandPath())
			}
			return nil
		}
		cmd.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
	}
}

// init resolves settings once flags are parsed: flag > env > file > default.
func (f *Factory) init(cmd *cobra.Command) error {
	// From flags and environment, to trace reading the file.
	if err := f.setLogger(); err != nil {
		return err
	}
	if err := f.readConfigFile(cmd); err != nil {
		return err
	}
	if err := f.setLogger(); err != nil { // the file may turn debug on
		return err
	}
	format, err := output.ParseFormat(f.v.GetString(keyOutput))
	if err != nil {
		return err
	}
	noColor, err := f.boolSetting(keyNoColor)
	if err != nil {
		return err
	}
	if noColor || os.Getenv("NO_COLOR") != "" {
		f.IO.DisableColor()
	}
	quiet, err := f.boolSetting(keyQuiet)
	if err != nil {
		return err
	}
	f.printer = &output.Printer{IO: f.IO, Format: format, Quiet: quiet}
	if t := f.v.GetString(keyTenant); t != "" {
		if err := apikey.ValidateID("tenant", t); err != nil {
			return err
		}
	}
	return nil
}

func (f *Factory) setLogger() error {
	debug, err := f.boolSetting(keyDebug)
	if err != nil {
		return err
	}
	level := slog.LevelWarn
	if debug {
		level = slog.LevelDebug
	}
	f.log = slog.New(slog.NewTextHandler(f.IO.ErrOut, &slog.HandlerOptions{Level: level}))
	return nil
}

// boolSetting is an on/off setting (flag > env > file > default). Viper
// reads a value it does not know as false; here a value is accepted or
// refused, naming the variable or the file and key it came from.
func (f *Factory) boolSetting(key string) (bool, error) {
	raw := f.v.Get(key)
	if b, ok := parseBool(raw); ok {
		return b, nil
	}
	const want = "want true or false (also 1/0, yes/no, on/off)"
	env := "KEYADM_" + strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
	if s := os.Getenv(env); s != "" {
		return false, apikey.Errorf(apikey.EINVALID, "invalid %s %q: %s", env, s, want)
	}
	return false, apikey.Errorf(apikey.EINVALID, "invalid config file %s: %s %q: %s", f.v.ConfigFileUsed(), key, fmt.Sprint(raw), want)
}

// parseBool reads an on/off value as a flag, the environment or YAML gives
// it: the usual spellings, in any case.
func parseBool(v any) (value, ok bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case int:
		return v == 1, v == 0 || v == 1
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true", "1", "yes", "on":
			return true, true
		case "false", "0", "no", "off":
			return false, true
		}
	}
	return false, false
}

func (f *Factory) readConfigFile(cmd *cobra.Command) error {
	path := f.v.GetString(keyConfig)
	explicit := path != ""
	if !explicit {
		dir, err := xdgDir("XDG_CONFIG_HOME", ".config")
		if err != nil {
			return nil // no home: no default config file to read
		}
		path = filepath.Join(dir, "keyadm", "config.yaml")
	}
	if _, err := os.Stat(path); err != nil {
		if explicit {
			return apikey.Errorf(apikey.EINVALID, "cannot read config file %s: %v", path, apikey.Pathless(err))
		}
		return nil
	}
	f.log.Debug("reading config file", "path", path)
	f.v.SetConfigFile(path)
	f.v.SetConfigType("yaml")
	if err := f.v.ReadInConfig(); err != nil {
		return apikey.Errorf(apikey.EINVALID, "invalid config file %s: %s", path, apikey.OneLine(err.Error()))
	}
	for _, k := range f.v.AllKeys() {
		switch k {
		case keyDB, keyTenant, keyActor, keyOutput, keyQuiet, keyNoColor, keyDebug, keyConfig:
		default:
			return apikey.Errorf(apikey.EINVALID, "invalid config file %s: unknown setting %s (known: db, tenant, actor, output, quiet, no-color, debug)", path, apikey.Quote(k))
		}
	}
	return nil
}

func xdgDir(env, fallback string) (string, error) {
	if d := os.Getenv(env); d != "" && filepath.IsAbs(d) {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return "", errors.New("no home folder")
	}
	return filepath.Join(home, fallback), nil
}

// dbURL is the database to open: --db, KEYADM_DB, the config file, or the
// SQLite file under the XDG data folder.
func (f *Factory) dbURL() (string, error) {
	if u := f.v.GetString(keyDB); u != "" {
		return u, nil
	}
	dir, err := xdgDir("XDG_DATA_HOME", filepath.Join(".local", "share"))
	if err != nil {
		return "", apikey.Errorf(apikey.EINVALID, "no home folder for the default database: set --db or KEYADM_DB")
	}
	return filepath.Join(dir, "keyadm", "keyadm.db"), nil
}

// openStore opens the database on first use, applying pending migrations
// when migrate is set. Only commands that create (create, config set and
// unset, db migrate, serve) make a new SQLite file where --db names none;
// the others say there is no database, since a typo in --db would
// otherwise answer from a new, empty one.
func (f *Factory) openStore(ctx context.Context, migrate, mayCreate bool) (store.DB, error) {
	if f.db != nil {
		return f.db, nil
	}
	u, err := f.dbURL()
	if err != nil {
		return nil, err
	}
	f.log.Debug("opening database", "url", store.Redact(u), "migrate", migrate)
	db, err := store.Open(ctx, u, store.Options{
		Migrate:   migrate,
		MustExist: !mayCreate && f.v.GetString(keyDB) != "",
		Now:       f.Now,
		Log:       f.log,
		Warn:      func(msg string) { fmt.Fprintln(f.IO.ErrOut, "keyadm: warning: "+msg) },
	})
	if err != nil {
		return nil, err
	}
	f.log.Debug("database open", "engine", db.Engine(), "location", db.Location())
	f.db = db
	return db, nil
}

// Env is what a run function may use besides its own inputs: the
// streams, the printer, the scope, the clock, and the database, opened on
// first use.
type Env struct {
	IO      *output.IOStreams
	Printer *output.Printer
	Log     *slog.Logger
	// Now is the clock; never nil.
	Now func() time.Time
	// Tenant is the --tenant scope, "" for every tenant.
	Tenant string
	// Store opens the database on first use, then returns the same one.
	Store func(ctx context.Context) (store.DB, error)
	// Service is the domain service on Store: it checks its input before
	// it opens the database.
	Service *apikey.Service
}

// env is the Env of a command, once the root has resolved the settings.
// migrate applies pending migrations on open; mayCreate lets the command
// start a new SQLite file (see openStore).
func (f *Factory) env(migrate, mayCreate bool) Env {
	open := func(ctx context.Context) (store.DB, error) { return f.openStore(ctx, migrate, mayCreate) }
	return Env{
		IO: f.IO, Printer: f.printer, Log: f.log, Now: f.clock, Tenant: f.Tenant(), Store: open,
		Service: &apikey.Service{Store: lazyStore(open), Rand: f.Rand},
	}
}

// lazyStore is an apikey.Store that opens the database when a transaction
// first needs it, so the Service's checks of its input come first. The
// Factory closes what it opened.
type lazyStore func(ctx context.Context) (store.DB, error)

func (l lazyStore) Update(ctx context.Context, fn func(apikey.Tx) error) error {
	return l.with(ctx, func(db store.DB) error { return db.Update(ctx, fn) })
}

func (l lazyStore) View(ctx context.Context, fn func(apikey.Tx) error) error {
	return l.with(ctx, func(db store.DB) error { return db.View(ctx, fn) })
}

func (l lazyStore) Peek(ctx context.Context, fn func(apikey.Tx) error) error {
	return l.with(ctx, func(db store.DB) error { return db.Peek(ctx, fn) })
}

func (l lazyStore) with(ctx context.Context, fn func(store.DB) error) error {
	db, err := l(ctx)
	if err != nil {
		return err
	}
	return fn(db)
}

func (lazyStore) Close() error { return nil }

// runWith runs a command's run function, or runF in its place (tests
// that check flag parsing alone).
func runWith[O any](ctx context.Context, opts *O, runF func(*O) error, run func(context.Context, *O) error) error {
	if runF != nil {
		return runF(opts)
	}
	return run(ctx, opts)
}

func (f *Factory) clock() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// Close closes the store if it was opened.
func (f *Factory) Close() error {
	if f.db == nil {
		return nil
	}
	return f.db.Close()
}

// Tenant is the --tenant scope, "" for every tenant.
func (f *Factory) Tenant() string { return f.v.GetString(keyTenant) }

// Actor is who acts, for the audit trail.
func (f *Factory) Actor() (string, error) {
	a := f.v.GetString(keyActor)
	if a == "" {
		if u, err := user.Current(); err == nil && u.Username != "" {
			a = u.Username
		} else if env := os.Getenv("USER"); env != "" {
			a = env
		} else {
			a = "unknown"
		}
	}
	if err := apikey.ValidateText("actor", a, 1, apikey.MaxSubjectLen); err != nil {
		return "", err
	}
	return a, nil
}

// Printer writes results in the chosen format.
func (f *Factory) Printer() *output.Printer { return f.printer }

// Log is the --debug logger.
func (f *Factory) Log() *slog.Logger { return f.log }

// usageError is a mistake in how a command was called: exit 2. Main says
// which command's help to see.
type usageError struct {
	msg string
	// command is the path of the command called, as in "keyadm create".
	command string
}

func (e *usageError) Error() string {
	if e.command == "" {
		return e.msg
	}
	return fmt.Sprintf("%s (see '%s --help')", e.msg, e.command)
}

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// cancelledError is a confirmation the user declined.
var errCancelled = errors.New("cancelled; nothing was changed")

// args checks positional arguments, as a usage error.
func args(min, max int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		switch {
		case len(a) < min:
			return usageErrorf("missing %s", what)
		case max >= 0 && len(a) > max:
			return usageErrorf("too many arguments: want %s", what)
		}
		return nil
	}
}

// durationFlag parses an optional duration flag.
func durationFlag(flags *pflag.FlagSet, name string) (*time.Duration, error) {
	return parsedFlag(flags, name, apikey.ParseDuration)
}

// timeFlag parses an optional time flag.
func timeFlag(flags *pflag.FlagSet, name string) (*time.Time, error) {
	return parsedFlag(flags, name, apikey.ParseTime)
}

// parsedFlag parses a string flag when it was given (nil when not), its
// errors naming the flag.
func parsedFlag[T any](flags *pflag.FlagSet, name string, parse func(string) (T, error)) (*T, error) {
	if !flags.Changed(name) {
		return nil, nil
	}
	s, _ := flags.GetString(name)
	v, err := parse(s)
	if err != nil {
		return nil, apikey.Errorf(apikey.EINVALID, "--%s: %s", name, apikey.ErrorMessage(err))
	}
	return &v, nil
}

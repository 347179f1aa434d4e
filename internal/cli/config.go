package cli

import (
	"context"
	"fmt"
	"regexp"
	"sync"

	"github.com/spf13/cobra"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/output"
)

func newConfigCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Get and set tenant policy",
		Long: `Tenant policy. Without --tenant, the global defaults every tenant falls back
to; a tenant's own value overrides them.

  api_keys_enabled     true or false; false refuses create and rejects the tenant's keys
  max_keys_per_user    0-1000 active keys per owner (keys without owner count together); 0 = no limit
  max_api_key_expiry   longest allowed lifetime (P365D, 90d) or none
  default_expiry       lifetime of keys created without one, capped by the max, or none
  key_prefix           prefix of new keys: 2-16 lower-case letters and digits`,
	}
	cmd.AddCommand(NewCmdConfigGet(f, nil), NewCmdConfigSet(f, nil), NewCmdConfigUnset(f, nil))
	return cmd
}

// ConfigGetOptions are the inputs of config get.
type ConfigGetOptions struct {
	Env
	// Name is the setting to show ("": every one).
	Name string
}

// NewCmdConfigGet is config get: runF, when not nil, runs in place of
// configGetRun.
func NewCmdConfigGet(f *Factory, runF func(*ConfigGetOptions) error) *cobra.Command {
	opts := &ConfigGetOptions{}
	return &cobra.Command{
		Use:     "get [NAME]",
		Short:   "Show policy values and where each comes from",
		Example: "  keyadm config get --tenant acme\n  keyadm config get max_keys_per_user --tenant acme -o json",
		Args:    args(0, 1, "at most one config NAME"),
		RunE: func(cmd *cobra.Command, a []string) error {
			opts.Env = f.env(true, false)
			if len(a) == 1 {
				opts.Name = a[0]
				if err := apikey.CheckSettingName(opts.Name); err != nil {
					return err
				}
			}
			return runWith(cmd.Context(), opts, runF, configGetRun)
		},
	}
}

func configGetRun(ctx context.Context, opts *ConfigGetOptions) error {
	cfg, err := opts.Service.Config(ctx, opts.Tenant)
	if err != nil {
		return err
	}
	return printSettings(opts.Printer, cfg, opts.Name)
}

// ConfigSetOptions are the inputs of config set.
type ConfigSetOptions struct {
	Env
	Name, Value string
	Actor       string
}

// NewCmdConfigSet is config set: runF, when not nil, runs in place of
// configSetRun.
func NewCmdConfigSet(f *Factory, runF func(*ConfigSetOptions) error) *cobra.Command {
	opts := &ConfigSetOptions{}
	cmd := &cobra.Command{
		Use:     "set NAME VALUE",
		Short:   "Set a policy value, for a tenant or globally",
		Example: "  keyadm config set max_keys_per_user 3 --tenant acme\n  keyadm config set max_api_key_expiry P365D",
		Args:    negativeValues(args(2, 2, "NAME and VALUE")),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if help, _ := cmd.Flags().GetBool("help"); help {
				return cmd.Help()
			}
			a := cmd.Flags().Args() // as negativeValues parsed them
			opts.Env, opts.Name, opts.Value = f.env(true, true), a[0], a[1]
			var err error
			if opts.Actor, err = f.Actor(); err != nil {
				return err
			}
			return runWith(cmd.Context(), opts, runF, configSetRun)
		},
	}
	// Flags end at NAME, so that a VALUE such as -1 reaches the validator
	// instead of reading as a flag; negativeValues parses the flags after.
	cmd.Flags().SetInterspersed(false)
	return cmd
}

// configSetRun sets the value; the Service checks the name and the value
// before it opens the database.
func configSetRun(ctx context.Context, opts *ConfigSetOptions) error {
	cfg, err := opts.Service.SetConfig(ctx, opts.Tenant, opts.Name, opts.Value, opts.Actor)
	if err != nil {
		return err
	}
	return printSettings(opts.Printer, cfg, opts.Name)
}

// negativeValue is an argument that looks like a negative number: never a
// flag, since no keyadm flag is a digit.
var negativeValue = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^-[0-9.]`) })

// negativeValues lets a command whose flags end at its first argument
// (SetInterspersed(false)) take flags anywhere after it too, while an
// argument such as -1 stays an argument; then it checks the arguments.
func negativeValues(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		var rest, values []string
		for i, s := range a {
			if s == "--" {
				values = append(values, a[i+1:]...)
				break
			}
			if negativeValue().MatchString(s) {
				values = append(values, s)
			} else {
				rest = append(rest, s)
			}
		}
		fl := cmd.Flags()
		fl.SetInterspersed(true)
		defer fl.SetInterspersed(false)
		if err := fl.Parse(append(rest, append([]string{"--"}, values...)...)); err != nil {
			return flagError(err)
		}
		if help, _ := fl.GetBool("help"); help {
			return nil
		}
		return check(cmd, fl.Args())
	}
}

// ConfigUnsetOptions are the inputs of config unset.
type ConfigUnsetOptions struct {
	Env
	Name  string
	Actor string
}

// NewCmdConfigUnset is config unset: runF, when not nil, runs in place of
// configUnsetRun.
func NewCmdConfigUnset(f *Factory, runF func(*ConfigUnsetOptions) error) *cobra.Command {
	opts := &ConfigUnsetOptions{}
	return &cobra.Command{
		Use:     "unset NAME",
		Short:   "Remove a tenant's (or the global) value, falling back to the default",
		Example: "  keyadm config unset max_keys_per_user --tenant acme",
		Args:    args(1, 1, "one config NAME"),
		RunE: func(cmd *cobra.Command, a []string) error {
			opts.Env, opts.Name = f.env(true, true), a[0]
			var err error
			if opts.Actor, err = f.Actor(); err != nil {
				return err
			}
			return runWith(cmd.Context(), opts, runF, configUnsetRun)
		},
	}
}

// configUnsetRun removes the value; the Service checks the name before it
// opens the database.
func configUnsetRun(ctx context.Context, opts *ConfigUnsetOptions) error {
	cfg, err := opts.Service.UnsetConfig(ctx, opts.Tenant, opts.Name, opts.Actor)
	if err != nil {
		return err
	}
	return printSettings(opts.Printer, cfg, opts.Name)
}

// printSettings writes every setting, or the one named ("": every one).
func printSettings(p *output.Printer, cfg apikey.TenantConfig, name string) error {
	records := output.Settings(cfg)
	if name != "" {
		for _, r := range records {
			if r.Name == name {
				return output.One(p, output.SettingList, r)
			}
		}
		return fmt.Errorf("no setting %s", name)
	}
	list := output.NewList(p, output.SettingList)
	for _, r := range records {
		if err := list.Add(r); err != nil {
			return err
		}
	}
	return list.Close()
}

package cli

import (
	"fmt"
	"regexp"

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
	cmd.AddCommand(newConfigGetCmd(f), newConfigSetCmd(f), newConfigUnsetCmd(f))
	return cmd
}

func newConfigGetCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "get [NAME]",
		Short:   "Show policy values and where each comes from",
		Example: "  keyadm config get --tenant acme\n  keyadm config get max_keys_per_user --tenant acme -o json",
		Args:    args(0, 1, "at most one config NAME"),
		RunE: func(cmd *cobra.Command, a []string) error {
			if len(a) == 1 {
				if err := apikey.CheckSettingName(a[0]); err != nil {
					return err
				}
			}
			ctx := cmd.Context()
			svc, err := f.Service(ctx)
			if err != nil {
				return err
			}
			cfg, err := svc.Config(ctx, f.Tenant())
			if err != nil {
				return err
			}
			return printSettings(f, cfg, a)
		},
	}
}

func newConfigSetCmd(f *Factory) *cobra.Command {
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
			actor, err := f.Actor()
			if err != nil {
				return err
			}
			if _, err := apikey.NormalizeSetting(a[0], a[1]); err != nil {
				return err
			}
			ctx := cmd.Context()
			svc, err := f.CreatingService(ctx)
			if err != nil {
				return err
			}
			cfg, err := svc.SetConfig(ctx, f.Tenant(), a[0], a[1], actor)
			if err != nil {
				return err
			}
			return printSettings(f, cfg, a[:1])
		},
	}
	// Flags end at NAME, so that a VALUE such as -1 reaches the validator
	// instead of reading as a flag; negativeValues parses the flags after.
	cmd.Flags().SetInterspersed(false)
	return cmd
}

// negativeValue is an argument that looks like a negative number: never a
// flag, since no keyadm flag is a digit.
var negativeValue = regexp.MustCompile(`^-[0-9.]`)

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
			if negativeValue.MatchString(s) {
				values = append(values, s)
			} else {
				rest = append(rest, s)
			}
		}
		fl := cmd.Flags()
		fl.SetInterspersed(true)
		defer fl.SetInterspersed(false)
		if err := fl.Parse(append(rest, append([]string{"--"}, values...)...)); err != nil {
			return usageErrorf(cmd, "%s", cobraMessage(err.Error()))
		}
		if help, _ := fl.GetBool("help"); help {
			return nil
		}
		return check(cmd, fl.Args())
	}
}

func newConfigUnsetCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "unset NAME",
		Short:   "Remove a tenant's (or the global) value, falling back to the default",
		Example: "  keyadm config unset max_keys_per_user --tenant acme",
		Args:    args(1, 1, "one config NAME"),
		RunE: func(cmd *cobra.Command, a []string) error {
			actor, err := f.Actor()
			if err != nil {
				return err
			}
			if err := apikey.CheckSettingName(a[0]); err != nil {
				return err
			}
			ctx := cmd.Context()
			svc, err := f.CreatingService(ctx)
			if err != nil {
				return err
			}
			cfg, err := svc.UnsetConfig(ctx, f.Tenant(), a[0], actor)
			if err != nil {
				return err
			}
			return printSettings(f, cfg, a)
		},
	}
}

// printSettings writes every setting, or the one named.
func printSettings(f *Factory, cfg apikey.TenantConfig, names []string) error {
	p := f.Printer()
	records := output.Settings(cfg)
	if len(names) == 1 {
		for _, r := range records {
			if r.Name == names[0] {
				return output.One(p, output.SettingList, r)
			}
		}
		return fmt.Errorf("no setting %s", names[0])
	}
	list := output.NewList(p, output.SettingList)
	for _, r := range records {
		if err := list.Add(r); err != nil {
			return err
		}
	}
	return list.Close()
}

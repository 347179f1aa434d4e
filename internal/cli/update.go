package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/output"
)

// UpdateOptions are the inputs of update.
type UpdateOptions struct {
	Env
	ID    string
	Input apikey.UpdateInput
}

// NewCmdUpdate is update: runF, when not nil, runs in place of updateRun.
func NewCmdUpdate(f *Factory, runF func(*UpdateOptions) error) *cobra.Command {
	opts := &UpdateOptions{}
	in := &opts.Input
	var name, description string
	var meta []string
	var limits limitFlags
	cmd := &cobra.Command{
		Use:   "update ID",
		Short: "Change a key's name, description, permissions, expiry, metadata or limits",
		Long: `Change a key. --permission replaces the whole list; --meta k=v sets an entry
and --meta k= removes one. --rate-limit, --uses and --allow-ip replace the key's
limits; "none" removes them. Updating never un-revokes a key.`,
		Example: `  keyadm update ID --name billing-sync-v2 --expires-in 30d
  keyadm update ID --permission read --meta owner-team=payments
  keyadm update ID --uses 100 --rate-limit none`,
		Args: args(1, 1, "one key ID"),
		RunE: func(cmd *cobra.Command, a []string) error {
			opts.Env, opts.ID = f.env(true, false), a[0]
			flags := cmd.Flags()
			var err error
			if flags.Changed("name") {
				in.Name = &name
			}
			if flags.Changed("description") {
				in.Description = &description
			}
			if flags.Changed("permission") && in.Permissions == nil {
				in.Permissions = []string{}
			}
			if in.Expiry.In, err = durationFlag(flags, "expires-in"); err != nil {
				return err
			}
			if in.Expiry.At, err = timeFlag(flags, "expires-at"); err != nil {
				return err
			}
			if len(meta) > 0 {
				if in.Metadata, err = apikey.ParseMeta(meta); err != nil {
					return err
				}
			}
			if in.Limits, err = limits.parse(flags, true); err != nil {
				return err
			}
			if in.Actor, err = f.Actor(); err != nil {
				return err
			}
			return runWith(cmd.Context(), opts, runF, updateRun)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&name, "name", "", "new name")
	fl.StringVar(&description, "description", "", "new description (\"\" clears it)")
	fl.StringArrayVar(&in.Permissions, "permission", nil, "permission scope, repeatable; replaces the list")
	fl.BoolVar(&in.Inherit, "inherit", false, "drop the key's own permissions: it inherits its registered owner's and team's")
	fl.String("expires-in", "", "expire after a duration from now: 90d, 24h, P1Y")
	fl.String("expires-at", "", "expire at a time: RFC 3339 or YYYY-MM-DD")
	fl.BoolVar(&in.Expiry.None, "no-expiry", false, "never expire (unless the tenant requires expiry)")
	fl.StringArrayVar(&meta, "meta", nil, "set metadata key=value (key= removes it), repeatable")
	limits.add(fl, true)
	exclusive(cmd, "expires-in", "expires-at", "no-expiry")
	exclusive(cmd, "inherit", "permission")
	return cmd
}

// updateRun changes the key; the Service checks the id and the changes
// before it opens the database.
func updateRun(ctx context.Context, opts *UpdateOptions) error {
	k, now, err := opts.Service.Update(ctx, opts.Tenant, opts.ID, opts.Input)
	if err != nil {
		return err
	}
	return output.One(opts.Printer, output.KeyDetail, output.NewKeyRecord(k, now, ""))
}

package cli

import (
	"context"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/output"
)

// CreateOptions are the inputs of create.
type CreateOptions struct {
	Env
	Input  apikey.CreateInput
	Meta   []string
	limits limitFlags
}

// NewCmdCreate is create: runF, when not nil, runs in place of createRun.
func NewCmdCreate(f *Factory, runF func(*CreateOptions) error) *cobra.Command {
	opts := &CreateOptions{}
	cmd := &cobra.Command{
		Use:   "create --name NAME",
		Short: "Create a key and print its secret once",
		Long: `Create a key. Its secret is printed once, after the database has stored its
hash; keyadm cannot show it again. Save it now.

Where --owner names a registered user or --team a registered team (see keyadm
user, keyadm team), the key acts with their authority: without --permission it
inherits their permissions and follows their changes, and a --permission they
lack is refused (exit 4).`,
		Example: `  keyadm create --name billing-sync --permission read --permission write --expires-in 90d
  KEY=$(keyadm create -q --name ci --owner ci@example.com)
  keyadm create --name partner --rate-limit 10/1s --rate-limit 1000/1h --uses 5000 --refill 5000/30d --allow-ip 203.0.113.0/24`,
		Args: args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Env = f.env(true, true)
			flags := cmd.Flags()
			in := &opts.Input
			var err error
			if in.Expiry.In, err = durationFlag(flags, "expires-in"); err != nil {
				return err
			}
			if in.Expiry.At, err = timeFlag(flags, "expires-at"); err != nil {
				return err
			}
			if in.Metadata, err = apikey.ParseMeta(opts.Meta); err != nil {
				return err
			}
			if in.Limits, err = opts.limits.parse(flags, false); err != nil {
				return err
			}
			in.TenantID = opts.Tenant
			if in.Actor, err = f.Actor(); err != nil {
				return err
			}
			return runWith(cmd.Context(), opts, runF, createRun)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Input.Name, "name", "", "name of the key, 1-100 characters (required)")
	fl.StringVar(&opts.Input.TeamID, "team", "", "team the key belongs to")
	fl.StringVar(&opts.Input.OwnerID, "owner", "", "subject that owns the key (counts toward max_keys_per_user)")
	fl.StringArrayVar(&opts.Input.Permissions, "permission", nil, "permission scope, repeatable (default: inherit from a registered --owner/--team, else read)")
	fl.StringVar(&opts.Input.Description, "description", "", "free-text description")
	fl.String("expires-in", "", "expire after a duration: 90d, 24h, P1Y, PT12H")
	fl.String("expires-at", "", "expire at a time: RFC 3339 or YYYY-MM-DD")
	fl.StringArrayVar(&opts.Meta, "meta", nil, "metadata key=value, repeatable")
	opts.limits.add(fl, false)
	_ = cmd.MarkFlagRequired("name")
	exclusive(cmd, "expires-in", "expires-at")
	return cmd
}

func createRun(ctx context.Context, opts *CreateOptions) error {
	c, err := opts.Service.Create(ctx, opts.Input)
	if err != nil {
		return err
	}
	// Committed: only now may the secret be shown.
	opts.Log.Debug("key created and committed", "id", c.Key.ID, "tenant", c.Key.TenantID)
	p := opts.Printer
	if err := printNewKey(p, c.Key, c.Secret); err != nil {
		return err
	}
	if p.Format == output.Table && !p.Quiet {
		opts.IO.Notice("Save this key now: it is shown only once, and keyadm stores only its hash.")
	}
	return nil
}

// printNewKey prints a committed key with its secret. When that fails (a
// closed pipe, a full disk), the key exists and nobody has its secret: the
// error names the key to revoke rather than leave it to be found later.
func printNewKey(p *output.Printer, k *apikey.Key, secret apikey.Secret) error {
	// A reader gone (keyadm create | true) must end in that error, not in
	// SIGPIPE's silent death, which would leave the key unexplained.
	signal.Ignore(syscall.SIGPIPE)
	if err := output.One(p, output.NewKey, output.NewKeyRecord(k, k.CreatedAt, secret.String())); err != nil {
		e := apikey.Errorf(apikey.EUNAVAILABLE, "key %s was created, but printing its secret failed (%v); nobody has the secret, so revoke the key: keyadm revoke %s", k.ID, err, k.ID)
		e.Err = err
		return e
	}
	return nil
}

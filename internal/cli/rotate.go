package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/output"
)

// RotateOptions are the inputs of rotate.
type RotateOptions struct {
	Env
	ID    string
	Grace time.Duration
	Actor string
}

// NewCmdRotate is rotate: runF, when not nil, runs in place of rotateRun.
func NewCmdRotate(f *Factory, runF func(*RotateOptions) error) *cobra.Command {
	opts := &RotateOptions{}
	cmd := &cobra.Command{
		Use:   "rotate ID",
		Short: "Replace a key with a new one; the old one expires after a grace period",
		Long: `Create a new key with the old key's tenant, team, owner, name, description,
permissions and metadata (rotatedFrom points at the old one), and print its secret
once. The old key keeps working for the grace period (default 24h), then expires;
--grace 0 revokes it at once. Both changes commit together.

The new key keeps the old key's lifetime (within the tenant's maximum), or gets
the tenant's default expiry. Rotation is not blocked by max_keys_per_user.`,
		Example: `  NEW=$(keyadm rotate -q ID)
  keyadm rotate ID --grace 0      # the old key stops working now`,
		Args: args(1, 1, "one key ID"),
		RunE: func(cmd *cobra.Command, a []string) error {
			opts.Env, opts.ID, opts.Grace = f.env(true, false), a[0], apikey.DefaultGrace
			grace, err := durationFlag(cmd.Flags(), "grace")
			if err != nil {
				return err
			}
			if grace != nil {
				opts.Grace = *grace
			}
			if opts.Actor, err = f.Actor(); err != nil {
				return err
			}
			return runWith(cmd.Context(), opts, runF, rotateRun)
		},
	}
	cmd.Flags().String("grace", "", "how long the old key keeps working (default 24h); 0 revokes it now")
	return cmd
}

func rotateRun(ctx context.Context, opts *RotateOptions) error {
	r, err := opts.Service.Rotate(ctx, opts.Tenant, opts.ID, opts.Grace, opts.Actor)
	if err != nil {
		return err
	}
	p := opts.Printer
	if err := printNewKey(p, r.Key, r.Secret); err != nil {
		return err
	}
	if p.Format == output.Table && !p.Quiet {
		old := "is revoked now"
		if r.Old.RevokedAt == nil {
			old = "expires " + output.Relative(r.Old.ExpiresAt, r.Key.CreatedAt) + " (" + r.Old.ExpiresAt.UTC().Format(time.RFC3339) + ")"
		}
		opts.IO.Notice(fmt.Sprintf("Rotated %s: the old key %s. Save the new key now: it is shown only once.", r.Old.ID, old))
	}
	return nil
}

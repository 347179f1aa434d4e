package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/output"
)

func newRotateCmd(f *Factory) *cobra.Command {
	var grace string
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
			d := apikey.DefaultGrace
			if cmd.Flags().Changed("grace") {
				var err error
				if d, err = apikey.ParseDuration(grace); err != nil {
					return apikey.Errorf(apikey.EINVALID, "--grace: %s", apikey.ErrorMessage(err))
				}
			}
			actor, err := f.Actor()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			svc, err := f.Service(ctx)
			if err != nil {
				return err
			}
			r, err := svc.Rotate(ctx, f.Tenant(), a[0], d, actor)
			if err != nil {
				return err
			}
			p := f.Printer()
			if err := printNewKey(p, r.Key, r.Secret); err != nil {
				return err
			}
			if p.Format == output.Table && !p.Quiet {
				old := "is revoked now"
				if r.Old.RevokedAt == nil {
					old = "expires " + output.Relative(r.Old.ExpiresAt, r.Key.CreatedAt) + " (" + r.Old.ExpiresAt.UTC().Format(time.RFC3339) + ")"
				}
				f.IO.Notice(fmt.Sprintf("Rotated %s: the old key %s. Save the new key now: it is shown only once.", r.Old.ID, old))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&grace, "grace", "", "how long the old key keeps working (default 24h); 0 revokes it now")
	return cmd
}

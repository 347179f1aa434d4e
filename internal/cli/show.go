package cli

import (
	"github.com/spf13/cobra"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/output"
)

func newShowCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "show ID",
		Short:   "Show one key, every field",
		Example: `  keyadm show 0193f5c4-5a4e-7c1a-9d3b-2f1e0c8b7a61 -o json`,
		Args:    args(1, 1, "one key ID"),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := apikey.ValidateKeyID(a[0]); err != nil {
				return err
			}
			ctx := cmd.Context()
			svc, err := f.Service(ctx)
			if err != nil {
				return err
			}
			k, now, err := svc.Get(ctx, f.Tenant(), a[0])
			if err != nil {
				return err
			}
			return output.One(f.Printer(), output.KeyDetail, output.NewKeyRecord(k, now, ""))
		},
	}
}

package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/keyadm/keyadm/internal/output"
)

// ShowOptions are the inputs of show.
type ShowOptions struct {
	Env
	ID string
}

// NewCmdShow is show: runF, when not nil, runs in place of showRun.
func NewCmdShow(f *Factory, runF func(*ShowOptions) error) *cobra.Command {
	opts := &ShowOptions{}
	return &cobra.Command{
		Use:     "show ID",
		Short:   "Show one key, every field",
		Example: `  keyadm show 0193f5c4-5a4e-7c1a-9d3b-2f1e0c8b7a61 -o json`,
		Args:    args(1, 1, "one key ID"),
		RunE: func(cmd *cobra.Command, a []string) error {
			opts.Env, opts.ID = f.env(true, false), a[0]
			return runWith(cmd.Context(), opts, runF, showRun)
		},
	}
}

func showRun(ctx context.Context, opts *ShowOptions) error {
	k, now, err := opts.Service.Get(ctx, opts.Tenant, opts.ID)
	if err != nil {
		return err
	}
	return output.One(opts.Printer, output.KeyDetail, output.NewKeyRecord(k, now, ""))
}

package cli

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/output"
)

// UsageOptions are the inputs of usage.
type UsageOptions struct {
	Env
	KeyID string
	Since time.Duration
}

// NewCmdUsage is usage: runF, when not nil, runs in place of usageRun.
func NewCmdUsage(f *Factory, runF func(*UsageOptions) error) *cobra.Command {
	opts := &UsageOptions{}
	cmd := &cobra.Command{
		Use:   "usage [ID]",
		Short: "Show verifications per key over time, by outcome",
		Long: `Show how often keys were verified, per hour and outcome (valid,
rate_limited, usage_exceeded, revoked, expired, ...), as keyadm serve counted
them (written every --touch-interval and at shutdown) and keyadm verify.

As a table (the default): per key, its totals by outcome and a sparkline of
its verifications, one character per hour (per day beyond two days). With
-o json, yaml or csv: one row per key, hour and outcome.`,
		Example: `  keyadm usage --since 24h
  keyadm usage ID --since 30d -o csv`,
		Args: args(0, 1, "at most one key ID"),
		RunE: func(cmd *cobra.Command, a []string) error {
			opts.Env = f.env(true, false)
			if len(a) == 1 {
				opts.KeyID = a[0]
				if err := apikey.ValidateKeyID(opts.KeyID); err != nil {
					return err
				}
			}
			since, err := durationFlag(cmd.Flags(), "since")
			if err != nil {
				return err
			}
			if opts.Since = 7 * apikey.Day; since != nil {
				opts.Since = *since
			}
			return runWith(cmd.Context(), opts, runF, usageRun)
		},
	}
	cmd.Flags().String("since", "7d", "from this long ago: 24h, 7d, 30d")
	return cmd
}

// usageRun reads the counts and draws them, or writes them as rows.
func usageRun(ctx context.Context, opts *UsageOptions) error {
	now := opts.Now()
	since := now.Add(-opts.Since)
	q := apikey.UsageQuery{TenantID: opts.Tenant, KeyID: opts.KeyID, Since: since}
	p := opts.Printer
	if p.Format != output.Table {
		list := output.NewList(p, output.UsageRows)
		if err := opts.Service.Usage(ctx, q, func(c apikey.UsageCount) error { return list.Add(output.NewUsageRecord(c)) }); err != nil {
			return err
		}
		return list.Close()
	}
	var counts []apikey.UsageCount
	if err := opts.Service.Usage(ctx, q, func(c apikey.UsageCount) error {
		counts = append(counts, c)
		return nil
	}); err != nil {
		return err
	}
	if len(counts) == 0 {
		if !p.Quiet {
			opts.IO.Notice("No verifications recorded since " + since.UTC().Format(time.RFC3339) + ".")
		}
		return nil
	}
	if p.Quiet {
		return nil
	}
	return output.UsageChart(opts.IO.Out, counts, since, now)
}

package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/output"
)

// DefaultListLimit is how many keys list shows without --limit or --all.
const DefaultListLimit = 50

// ListOptions are the inputs of list.
type ListOptions struct {
	Env
	Input apikey.ListInput
	All   bool
}

// NewCmdList is list: runF, when not nil, runs in place of listRun.
func NewCmdList(f *Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{}
	var status, sortBy string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List keys, with filters, sorting and pagination",
		Long: `List keys, newest first, 50 at a time. Pages are keyset-based: --after ID
continues after the last key shown, --before ID goes back.

The table fits the terminal, or COLUMNS when set (also for a pipe): the
lowest-priority columns go first, then long names, tenants and permissions
are cut with "…"; on a very narrow terminal every column is. -o json, yaml,
csv and show keep every value whole.`,
		Example: `  keyadm list --tenant acme --status active
  keyadm list --unused-for 90d --sort lastUsed
  keyadm list --expiring-within 14d -o json
  keyadm list --all -o csv > keys.csv`,
		Args: args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Env = f.env(true, false)
			flags := cmd.Flags()
			in := &opts.Input
			in.Filter.TenantID = opts.Tenant
			var err error
			if status != "" {
				if in.Filter.Status, err = apikey.ParseStatus(status); err != nil {
					return err
				}
			}
			if in.Sort, err = apikey.ParseSort(sortBy); err != nil {
				return err
			}
			if in.UnusedFor, err = durationFlag(flags, "unused-for"); err != nil {
				return err
			}
			if in.ExpiringWithin, err = durationFlag(flags, "expiring-within"); err != nil {
				return err
			}
			switch {
			case opts.All && flags.Changed("limit"):
				return usageErrorf("give --limit or --all, not both")
			case opts.All:
				in.Limit = 0
			case in.Limit < 1:
				return apikey.Errorf(apikey.EINVALID, "invalid --limit %d: must be 1 or more (or --all)", in.Limit)
			}
			return runWith(cmd.Context(), opts, runF, listRun)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Input.Filter.TeamID, "team", "", "only keys of this team")
	fl.StringVar(&opts.Input.Filter.OwnerID, "owner", "", "only keys of this owner")
	fl.StringVar(&status, "status", "", "only keys with this status: active, disabled, expired or revoked")
	fl.String("unused-for", "", "only keys not used for a duration (never-used keys count from creation)")
	fl.BoolVar(&opts.Input.Filter.NeverUsed, "never-used", false, "only keys never used")
	fl.String("expiring-within", "", "only unrevoked keys expiring within a duration")
	fl.StringVar(&sortBy, "sort", apikey.DefaultSort.String(), "order: created, name, status, lastUsed or expires; - for descending")
	fl.IntVar(&opts.Input.Limit, "limit", DefaultListLimit, "how many keys to show")
	fl.StringVar(&opts.Input.After, "after", "", "show the keys after this key id (next page)")
	fl.StringVar(&opts.Input.Before, "before", "", "show the keys before this key id (previous page)")
	fl.BoolVar(&opts.All, "all", false, "show every key, streaming")
	exclusive(cmd, "after", "before")
	exclusive(cmd, "all", "after")
	exclusive(cmd, "all", "before")
	return cmd
}

func listRun(ctx context.Context, opts *ListOptions) error {
	svc := opts.Service
	list := output.NewList(opts.Printer, output.KeyList)
	if opts.All {
		err := svc.Each(ctx, opts.Input, func(k *apikey.Key, now time.Time) error {
			return list.Add(output.NewKeyRecord(k, now, ""))
		})
		if err != nil {
			return err
		}
		return list.Close()
	}
	page, err := svc.List(ctx, opts.Input)
	if err != nil {
		return err
	}
	for _, k := range page.Keys {
		if err := list.Add(output.NewKeyRecord(k, page.Now, "")); err != nil {
			return err
		}
	}
	if err := list.Close(); err != nil {
		return err
	}
	if page.More {
		if opts.Input.Before != "" {
			opts.IO.Notice(fmt.Sprintf("More keys before these: add --before %s for the previous page.", page.Keys[0].ID))
		} else {
			opts.IO.Notice(fmt.Sprintf("Showing %s; more follow: add --after %s for the next page, or --all.", apikey.Count(len(page.Keys), "key"), page.Keys[len(page.Keys)-1].ID))
		}
	} else if len(page.Keys) == 0 && opts.Printer.Format == output.Table && !opts.Printer.Quiet {
		opts.IO.Notice("No keys found.")
	}
	return nil
}

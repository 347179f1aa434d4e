package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/output"
)

// confirm asks before a destructive change on a terminal; elsewhere it
// requires --yes, so a script never blocks on a question nobody sees.
func confirm(io *output.IOStreams, yes bool, question func() (string, error)) error {
	if yes {
		return nil
	}
	if !io.CanPrompt() {
		return usageErrorf("--yes required when not running interactively")
	}
	q, err := question()
	if err != nil {
		return err
	}
	ok, err := io.Confirm(q)
	if err != nil {
		return err
	}
	if !ok {
		return errCancelled
	}
	return nil
}

// describeKeys asks about the keys a destructive command is about to
// change.
func describeKeys(keys []*apikey.Key, verb string) string {
	if len(keys) == 1 {
		k := keys[0]
		return fmt.Sprintf("%s key %s (%q, tenant %s)?", verb, k.ID, k.Name, k.TenantID)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s these %d keys:\n", verb, len(keys))
	for i, k := range keys {
		if i == maxListed && len(keys) > maxListed+1 {
			fmt.Fprintf(&b, "  … and %d more\n", len(keys)-i)
			break
		}
		fmt.Fprintf(&b, "  %s (%q, tenant %s)\n", k.ID, k.Name, k.TenantID)
	}
	fmt.Fprintf(&b, "%s %d keys?", verb, len(keys))
	return b.String()
}

// maxListed is how many keys a confirmation names before it counts the rest.
const maxListed = 20

// RevokeOptions are the inputs of revoke.
type RevokeOptions struct {
	Env
	IDs    []string
	Reason string
	Actor  string
	// UnusedFor sweeps every key unused this long, in place of IDs.
	UnusedFor   *time.Duration
	Yes, DryRun bool
}

// NewCmdRevoke is revoke: runF, when not nil, runs in place of revokeRun.
func NewCmdRevoke(f *Factory, runF func(*RevokeOptions) error) *cobra.Command {
	opts := &RevokeOptions{}
	cmd := &cobra.Command{
		Use:   "revoke ID... | --unused-for DUR",
		Short: "Revoke keys at once, by id or every stale one; their records stay",
		Long: `Revoke one or more keys, all or none: a revoked key is rejected from then on,
and its record and audit trail stay.

With --unused-for, revoke every active key not used for that long (never-used
keys count from their creation), in the --tenant scope or every tenant. Such a
sweep commits in batches, shows a progress bar on a terminal, and if interrupted
(Ctrl-C) leaves each batch done or untouched and says how many were revoked.
--dry-run shows what would be revoked and changes nothing.

On a terminal keyadm asks first; elsewhere it needs --yes.`,
		Example: `  keyadm revoke ID --reason "leaked in a CI log"
  keyadm revoke ID1 ID2 --yes
  keyadm revoke --unused-for 90d --tenant acme --dry-run
  keyadm revoke --unused-for 90d --tenant acme --yes --reason stale`,
		Args: args(0, -1, "key IDs, or --unused-for"),
		RunE: func(cmd *cobra.Command, ids []string) error {
			opts.Env, opts.IDs = f.env(true, false), apikey.UniqueIDs(ids)
			var err error
			if opts.Actor, err = f.Actor(); err != nil {
				return err
			}
			// Checked here, not left to the Service: the confirmation
			// reads the keys before the Service is asked to revoke them.
			if err := apikey.ValidateText("reason", opts.Reason, 0, apikey.MaxReasonLen); err != nil {
				return err
			}
			if opts.UnusedFor, err = durationFlag(cmd.Flags(), "unused-for"); err != nil {
				return err
			}
			switch {
			case opts.UnusedFor != nil && len(opts.IDs) > 0:
				return usageErrorf("give key IDs or --unused-for, not both")
			case opts.UnusedFor == nil && len(opts.IDs) == 0:
				return usageErrorf("missing key IDs (or --unused-for DUR)")
			case opts.UnusedFor == nil:
				if err := apikey.ValidateKeyIDs(opts.IDs); err != nil {
					return err
				}
			}
			return runWith(cmd.Context(), opts, runF, revokeRun)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Reason, "reason", "", "why, for the record and the audit trail")
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	fl.String("unused-for", "", "revoke every active key not used for this long: 90d, P6M")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "show what would be revoked; change nothing")
	return cmd
}

// revokeRun revokes the keys named, or sweeps the stale ones.
func revokeRun(ctx context.Context, opts *RevokeOptions) error {
	if opts.UnusedFor != nil {
		return sweepRun(ctx, opts)
	}
	svc := opts.Service
	if opts.DryRun {
		keys, now, err := getKeys(ctx, svc, opts.Tenant, opts.IDs)
		if err != nil {
			return err
		}
		return printChanged(opts.Env, keys, now, "Would revoke")
	}
	if !opts.Yes {
		// Keys already revoked stay as they are: nothing to ask about.
		keys, _, err := getKeys(ctx, svc, opts.Tenant, opts.IDs)
		if err != nil {
			return err
		}
		keys = slices.DeleteFunc(keys, func(k *apikey.Key) bool { return k.RevokedAt != nil })
		if len(keys) > 0 {
			if err := confirm(opts.IO, false, func() (string, error) { return describeKeys(keys, "Revoke"), nil }); err != nil {
				return err
			}
		}
	}
	keys, now, err := svc.Revoke(ctx, opts.Tenant, opts.IDs, opts.Reason, opts.Actor)
	if err != nil {
		return err
	}
	return printChanged(opts.Env, keys, now, "Revoked")
}

// getKeys reads keys by id in the tenant scope, failing on the first that
// is not there, and the time they were read at.
func getKeys(ctx context.Context, svc *apikey.Service, tenant string, ids []string) ([]*apikey.Key, time.Time, error) {
	keys := make([]*apikey.Key, 0, len(ids))
	var now time.Time
	for _, id := range ids {
		k, at, err := svc.Get(ctx, tenant, id)
		if err != nil {
			return nil, now, err
		}
		keys, now = append(keys, k), at
	}
	return keys, now, nil
}

// sweepRun revokes (or, dry, lists) every stale key.
func sweepRun(ctx context.Context, opts *RevokeOptions) error {
	svc, p := opts.Service, opts.Printer
	in := apikey.SweepInput{TenantID: opts.Tenant, UnusedFor: *opts.UnusedFor, Reason: opts.Reason, Actor: opts.Actor}
	scope := "every tenant"
	if in.TenantID != "" {
		scope = "tenant " + in.TenantID
	}
	what := func(n int) string {
		return fmt.Sprintf("%s unused for %s in %s", apikey.Count(n, "active key"), apikey.FormatDuration(in.UnusedFor), scope)
	}
	if opts.DryRun {
		list := output.NewList(p, output.KeyList)
		if err := svc.StaleKeys(ctx, in, func(k *apikey.Key, now time.Time) error {
			return list.Add(output.NewKeyRecord(k, now, ""))
		}); err != nil {
			return err
		}
		if err := list.Close(); err != nil {
			return err
		}
		opts.IO.Notice(fmt.Sprintf("Dry run: would revoke %s; nothing was changed.", what(list.Count())))
		return nil
	}
	err := confirm(opts.IO, opts.Yes, func() (string, error) {
		n := 0
		err := svc.StaleKeys(ctx, in, func(*apikey.Key, time.Time) error { n++; return nil })
		return fmt.Sprintf("Revoke %s?", what(n)), err
	})
	if err != nil {
		return err
	}
	var list *output.List[output.KeyRecord]
	if p.Format != output.Table {
		list = output.NewList(p, output.KeyList)
		in.Revoked = func(k *apikey.Key) { _ = list.Add(output.NewKeyRecord(k, *k.RevokedAt, "")) }
	}
	bar := opts.IO.ProgressBar("revoking")
	if bar != nil {
		in.Progress = func(done, total int) { bar.ChangeMax(total); _ = bar.Set(done) }
	}
	n, err := svc.RevokeStale(ctx, in)
	if bar != nil {
		_ = bar.Finish()
	}
	if list != nil {
		if cerr := list.Close(); err == nil {
			err = cerr
		}
	}
	if errors.Is(err, context.Canceled) {
		return apikey.Errorf(apikey.EUNAVAILABLE, "interrupted: revoked %s; every batch is either done or untouched, so run it again to finish", what(n))
	}
	if err != nil {
		return fmt.Errorf("revoked %s, then: %w", apikey.Count(n, "key"), err)
	}
	if p.Format == output.Table && !p.Quiet {
		fmt.Fprintf(opts.IO.Out, "Revoked %s.\n", what(n))
	}
	return nil
}

// DeleteOptions are the inputs of delete.
type DeleteOptions struct {
	Env
	IDs   []string
	Actor string
	Yes   bool
}

// NewCmdDelete is delete: runF, when not nil, runs in place of deleteRun.
func NewCmdDelete(f *Factory, runF func(*DeleteOptions) error) *cobra.Command {
	opts := &DeleteOptions{}
	cmd := &cobra.Command{
		Use:   "delete ID...",
		Short: "Remove keys; their audit events stay",
		Long: `Delete one or more keys, all or none. The records are gone; the audit
events that name them stay. To stop a key working and keep its record, revoke it.`,
		Example: `  keyadm delete ID --yes`,
		Args:    args(1, -1, "one or more key IDs"),
		RunE: func(cmd *cobra.Command, ids []string) error {
			opts.Env, opts.IDs = f.env(true, false), apikey.UniqueIDs(ids)
			var err error
			if opts.Actor, err = f.Actor(); err != nil {
				return err
			}
			// Checked here, not left to the Service: the confirmation
			// reads the keys first.
			if err := apikey.ValidateKeyIDs(opts.IDs); err != nil {
				return err
			}
			return runWith(cmd.Context(), opts, runF, deleteRun)
		},
	}
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func deleteRun(ctx context.Context, opts *DeleteOptions) error {
	err := confirm(opts.IO, opts.Yes, func() (string, error) {
		keys, _, err := getKeys(ctx, opts.Service, opts.Tenant, opts.IDs)
		return describeKeys(keys, "Delete"), err
	})
	if err != nil {
		return err
	}
	keys, err := opts.Service.Delete(ctx, opts.Tenant, opts.IDs, opts.Actor)
	if err != nil {
		return err
	}
	return printChanged(opts.Env, keys, opts.Now(), "Deleted")
}

// printChanged reports keys a command changed: a line each in a table,
// the records in the other formats (an object for one key, an array for
// several).
func printChanged(env Env, keys []*apikey.Key, now time.Time, verb string) error {
	p := env.Printer
	if p.Quiet {
		return nil
	}
	if p.Format == output.Table {
		for _, k := range keys {
			v := verb
			if verb == "Revoked" && k.RevokedAt != nil && !k.RevokedAt.Equal(now) {
				v = "Already revoked" // kept as it was: no new event
			}
			fmt.Fprintf(env.IO.Out, "%s key %s (%s)\n", v, k.ID, output.Sanitize(k.Name))
		}
		return nil
	}
	if len(keys) == 1 {
		// One key is one object, as show prints it; several are an array.
		return output.One(p, output.KeyDetail, output.NewKeyRecord(keys[0], now, ""))
	}
	list := output.NewList(p, output.KeyList)
	for _, k := range keys {
		if err := list.Add(output.NewKeyRecord(k, now, "")); err != nil {
			return err
		}
	}
	return list.Close()
}

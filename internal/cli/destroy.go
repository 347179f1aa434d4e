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
func confirm(cmd *cobra.Command, f *Factory, yes bool, question func() (string, error)) error {
	if yes {
		return nil
	}
	if !f.IO.CanPrompt() {
		return usageErrorf(cmd, "--yes required when not running interactively")
	}
	q, err := question()
	if err != nil {
		return err
	}
	ok, err := f.IO.Confirm(q)
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

func newRevokeCmd(f *Factory) *cobra.Command {
	var reason string
	var yes, dryRun bool
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
			ids = apikey.UniqueIDs(ids)
			ctx := cmd.Context()
			actor, err := f.Actor()
			if err != nil {
				return err
			}
			if err := apikey.ValidateText("reason", reason, 0, apikey.MaxReasonLen); err != nil {
				return err
			}
			unused, err := durationFlag(cmd.Flags(), "unused-for")
			if err != nil {
				return err
			}
			if unused != nil {
				if len(ids) > 0 {
					return usageErrorf(cmd, "give key IDs or --unused-for, not both")
				}
				in := apikey.SweepInput{TenantID: f.Tenant(), UnusedFor: *unused, Reason: reason, Actor: actor}
				return runSweep(cmd, f, in, yes, dryRun)
			}
			if len(ids) == 0 {
				return usageErrorf(cmd, "missing key IDs (or --unused-for DUR)")
			}
			if err := apikey.ValidateKeyIDs(ids); err != nil {
				return err
			}
			svc, err := f.Service(ctx)
			if err != nil {
				return err
			}
			if dryRun {
				return printKeys(ctx, f, svc, ids, "Would revoke")
			}
			if !yes {
				// Keys already revoked stay as they are: nothing to ask about.
				keys, _, err := getKeys(ctx, svc, f.Tenant(), ids)
				if err != nil {
					return err
				}
				keys = slices.DeleteFunc(keys, func(k *apikey.Key) bool { return k.RevokedAt != nil })
				if len(keys) > 0 {
					if err := confirm(cmd, f, false, func() (string, error) { return describeKeys(keys, "Revoke"), nil }); err != nil {
						return err
					}
				}
			}
			keys, now, err := svc.Revoke(ctx, f.Tenant(), ids, reason, actor)
			if err != nil {
				return err
			}
			return printChanged(f, keys, now, "Revoked")
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&reason, "reason", "", "why, for the record and the audit trail")
	fl.BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	fl.String("unused-for", "", "revoke every active key not used for this long: 90d, P6M")
	fl.BoolVar(&dryRun, "dry-run", false, "show what would be revoked; change nothing")
	return cmd
}

// printKeys shows keys a dry run would change.
func printKeys(ctx context.Context, f *Factory, svc *apikey.Service, ids []string, verb string) error {
	keys, now, err := getKeys(ctx, svc, f.Tenant(), ids)
	if err != nil {
		return err
	}
	return printChanged(f, keys, now, verb)
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

// runSweep revokes (or, dry, lists) every stale key.
func runSweep(cmd *cobra.Command, f *Factory, in apikey.SweepInput, yes, dryRun bool) error {
	ctx := cmd.Context()
	svc, err := f.Service(ctx)
	if err != nil {
		return err
	}
	p := f.Printer()
	scope := "every tenant"
	if in.TenantID != "" {
		scope = "tenant " + in.TenantID
	}
	what := func(n int) string {
		return fmt.Sprintf("%s unused for %s in %s", count(n, "active key"), apikey.FormatDuration(in.UnusedFor), scope)
	}
	if dryRun {
		list := output.NewList(p, output.KeyList)
		if err := svc.StaleKeys(ctx, in, func(k *apikey.Key, now time.Time) error {
			return list.Add(output.NewKeyRecord(k, now, ""))
		}); err != nil {
			return err
		}
		if err := list.Close(); err != nil {
			return err
		}
		f.IO.Notice(fmt.Sprintf("Dry run: would revoke %s; nothing was changed.", what(list.Count())))
		return nil
	}
	err = confirm(cmd, f, yes, func() (string, error) {
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
	bar := f.IO.ProgressBar("revoking")
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
		return fmt.Errorf("revoked %s, then: %w", count(n, "key"), err)
	}
	if p.Format == output.Table && !p.Quiet {
		fmt.Fprintf(f.IO.Out, "Revoked %s.\n", what(n))
	}
	return nil
}

func newDeleteCmd(f *Factory) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete ID...",
		Short: "Remove keys; their audit events stay",
		Long: `Delete one or more keys, all or none. The records are gone; the audit
events that name them stay. To stop a key working and keep its record, revoke it.`,
		Example: `  keyadm delete ID --yes`,
		Args:    args(1, -1, "one or more key IDs"),
		RunE: func(cmd *cobra.Command, ids []string) error {
			ids = apikey.UniqueIDs(ids)
			ctx := cmd.Context()
			actor, err := f.Actor()
			if err != nil {
				return err
			}
			if err := apikey.ValidateKeyIDs(ids); err != nil {
				return err
			}
			svc, err := f.Service(ctx)
			if err != nil {
				return err
			}
			err = confirm(cmd, f, yes, func() (string, error) {
				keys, _, err := getKeys(ctx, svc, f.Tenant(), ids)
				return describeKeys(keys, "Delete"), err
			})
			if err != nil {
				return err
			}
			keys, err := svc.Delete(ctx, f.Tenant(), ids, actor)
			if err != nil {
				return err
			}
			return printChanged(f, keys, f.clock(), "Deleted")
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

// printChanged reports keys a command changed: a line each in a table,
// the records in the other formats (an object for one key, an array for
// several).
func printChanged(f *Factory, keys []*apikey.Key, now time.Time, verb string) error {
	p := f.Printer()
	if p.Quiet {
		return nil
	}
	if p.Format == output.Table {
		for _, k := range keys {
			v := verb
			if verb == "Revoked" && k.RevokedAt != nil && !k.RevokedAt.Equal(now) {
				v = "Already revoked" // kept as it was: no new event
			}
			fmt.Fprintf(f.IO.Out, "%s key %s (%s)\n", v, k.ID, output.Sanitize(k.Name))
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

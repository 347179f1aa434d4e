package cli

import (
	"context"
	"fmt"
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

// describeKeys names the keys a destructive command is about to change,
// and checks that they all exist in scope before asking.
func describeKeys(ctx context.Context, svc *apikey.Service, tenant, verb string, ids []string) (string, error) {
	if len(ids) == 1 {
		k, _, err := svc.Get(ctx, tenant, ids[0])
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s key %s (%q, tenant %s)?", verb, k.ID, k.Name, k.TenantID), nil
	}
	for _, id := range ids {
		if _, _, err := svc.Get(ctx, tenant, id); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("%s %d keys?", verb, len(ids)), nil
}

func newRevokeCmd(f *Factory) *cobra.Command {
	var reason string
	var yes bool
	cmd := &cobra.Command{
		Use:   "revoke ID...",
		Short: "Revoke keys at once; their records stay",
		Long: `Revoke one or more keys, all or none: a revoked key is rejected from then on,
and its record and audit trail stay. On a terminal keyadm asks first; elsewhere
it needs --yes.`,
		Example: `  keyadm revoke ID --reason "leaked in a CI log"
  keyadm revoke ID1 ID2 --yes`,
		Args: args(1, -1, "one or more key IDs"),
		RunE: func(cmd *cobra.Command, ids []string) error {
			ctx := cmd.Context()
			actor, err := f.Actor()
			if err != nil {
				return err
			}
			if err := apikey.ValidateText("reason", reason, 0, apikey.MaxReasonLen); err != nil {
				return err
			}
			for _, id := range ids {
				if err := apikey.ValidateKeyID(id); err != nil {
					return err
				}
			}
			svc, err := f.Service(ctx)
			if err != nil {
				return err
			}
			err = confirm(cmd, f, yes, func() (string, error) { return describeKeys(ctx, svc, f.Tenant(), "Revoke", ids) })
			if err != nil {
				return err
			}
			keys, now, err := svc.Revoke(ctx, f.Tenant(), ids, reason, actor)
			if err != nil {
				return err
			}
			return printChanged(f, keys, now, "Revoked")
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the record and the audit trail")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
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
			ctx := cmd.Context()
			actor, err := f.Actor()
			if err != nil {
				return err
			}
			for _, id := range ids {
				if err := apikey.ValidateKeyID(id); err != nil {
					return err
				}
			}
			svc, err := f.Service(ctx)
			if err != nil {
				return err
			}
			err = confirm(cmd, f, yes, func() (string, error) { return describeKeys(ctx, svc, f.Tenant(), "Delete", ids) })
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
// the records in the other formats.
func printChanged(f *Factory, keys []*apikey.Key, now time.Time, verb string) error {
	p := f.Printer()
	if p.Quiet {
		return nil
	}
	if p.Format == output.Table {
		for _, k := range keys {
			fmt.Fprintf(f.IO.Out, "%s key %s (%s)\n", verb, k.ID, k.Name)
		}
		return nil
	}
	list := output.NewList(p, output.KeyList)
	for _, k := range keys {
		if err := list.Add(output.NewKeyRecord(k, now, "")); err != nil {
			return err
		}
	}
	return list.Close()
}

package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/output"
)

// errMore stops a stream once the page is full.
var errMore = errors.New("more")

func newAuditCmd(f *Factory) *cobra.Command {
	var q apikey.EventQuery
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Show the audit trail, newest first",
		Long: `Show the audit trail: every change to keys and policy, who made it and when,
newest first. Events of deleted keys stay. Actions: ` + strings.Join(apikey.Actions, ", ") + `.`,
		Example: `  keyadm audit --tenant acme --since 7d
  keyadm audit --key ID -o json`,
		Args: args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			since, err := durationFlag(cmd.Flags(), "since")
			if err != nil {
				return err
			}
			if q.KeyID != "" {
				if err := apikey.ValidateKeyID(q.KeyID); err != nil {
					return err
				}
			}
			if err := apikey.ValidateAction(q.Action); err != nil {
				return err
			}
			if q.Limit < 0 {
				return apikey.Errorf(apikey.EINVALID, "invalid --limit %d: must be 0 (no limit) or more", q.Limit)
			}
			q.TenantID = f.Tenant()
			ctx := cmd.Context()
			svc, err := f.Service(ctx)
			if err != nil {
				return err
			}
			now := f.clock()
			if since != nil {
				t := now.Add(-*since)
				q.Since = &t
			}
			limit := q.Limit
			if limit > 0 {
				q.Limit++ // one more tells whether the limit cut the trail
			}
			list := output.NewList(f.Printer(), output.EventList)
			err = svc.Events(ctx, q, func(e *apikey.AuditEvent) error {
				if limit > 0 && list.Count() == limit {
					return errMore
				}
				return list.Add(output.NewEventRecord(e, now))
			})
			more := errors.Is(err, errMore)
			if err != nil && !more {
				return err
			}
			if err := list.Close(); err != nil {
				return err
			}
			if more {
				f.IO.Notice(fmt.Sprintf("Showing the newest %s; more match: raise --limit, or --limit 0 for all.", count(limit, "event")))
			} else if list.Count() == 0 && f.Printer().Format == output.Table && !f.Printer().Quiet {
				f.IO.Notice("No events found.")
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&q.KeyID, "key", "", "only events of this key id")
	fl.StringVar(&q.Actor, "actor", "", "only events by this actor")
	fl.StringVar(&q.Action, "action", "", "only events of this action, such as key.revoke")
	fl.String("since", "", "only events newer than a duration: 7d, 24h")
	fl.IntVar(&q.Limit, "limit", 100, "how many events at most (0: all)")
	return cmd
}

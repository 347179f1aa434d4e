package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/output"
)

// errMore stops a stream once the page is full.
var errMore = errors.New("more")

// AuditOptions are the inputs of audit.
type AuditOptions struct {
	Env
	Query apikey.EventQuery
	// Since keeps events newer than this long ago (nil: all).
	Since *time.Duration
}

// NewCmdAudit is audit: runF, when not nil, runs in place of auditRun.
func NewCmdAudit(f *Factory, runF func(*AuditOptions) error) *cobra.Command {
	opts := &AuditOptions{}
	q := &opts.Query
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Show the audit trail, newest first",
		Long: `Show the audit trail: every change to keys and policy, who made it and when,
newest first. Events of deleted keys stay. Actions: ` + strings.Join(apikey.Actions, ", ") + `.`,
		Example: `  keyadm audit --tenant acme --since 7d
  keyadm audit --key ID -o json`,
		Args: args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Env = f.env(true, false)
			var err error
			if opts.Since, err = durationFlag(cmd.Flags(), "since"); err != nil {
				return err
			}
			if q.Limit < 0 {
				return apikey.Errorf(apikey.EINVALID, "invalid --limit %d: must be 0 (no limit) or more", q.Limit)
			}
			q.TenantID = opts.Tenant
			return runWith(cmd.Context(), opts, runF, auditRun)
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

// auditRun streams the events; the Service checks the action and the key
// id before it opens the database.
func auditRun(ctx context.Context, opts *AuditOptions) error {
	q := opts.Query
	now := opts.Now()
	if opts.Since != nil {
		t := now.Add(-*opts.Since)
		q.Since = &t
	}
	limit := q.Limit
	if limit > 0 {
		q.Limit++ // one more tells whether the limit cut the trail
	}
	list := output.NewList(opts.Printer, output.EventList)
	err := opts.Service.Events(ctx, q, func(e *apikey.AuditEvent) error {
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
		opts.IO.Notice(fmt.Sprintf("Showing the newest %s; more match: raise --limit, or --limit 0 for all.", apikey.Count(limit, "event")))
	} else if list.Count() == 0 && opts.Printer.Format == output.Table && !opts.Printer.Quiet {
		opts.IO.Notice("No events found.")
	}
	return nil
}

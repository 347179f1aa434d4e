package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/output"
)

// PrincipalOptions are the inputs of the user and team commands: which
// kind, which verb (add, list, show, update, disable, enable, remove), the
// id and, for add and update, the fields.
type PrincipalOptions struct {
	Env
	Kind  apikey.PrincipalKind
	Verb  string
	ID    string
	Input apikey.PrincipalInput
}

// principalVerb is one subcommand of user or team.
type principalVerb struct {
	use, short, example string
	// fields: the command takes --name, --email (users) and --permission.
	fields bool
}

var principalVerbs = map[string]principalVerb{
	"add":     {"add ID --permission P...", "Register a %[1]s whose permissions its keys inherit", "  keyadm %[1]s add %[2]s --permission read --permission billing:*", true},
	"list":    {"list", "List %[1]ss (every tenant's without --tenant)", "  keyadm %[1]s list --tenant acme -o json", false},
	"show":    {"show ID", "Show one %[1]s", "  keyadm %[1]s show %[2]s", false},
	"update":  {"update ID", "Change a %[1]s's name or permissions; its keys follow at their next verify", "  keyadm %[1]s update %[2]s --permission read", true},
	"disable": {"disable ID", "Pause every key of a %[1]s from its next verify", "  keyadm %[1]s disable %[2]s", false},
	"enable":  {"enable ID", "Restore the keys a disable paused", "  keyadm %[1]s enable %[2]s", false},
	"remove":  {"remove ID", "Remove a %[1]s that no unrevoked key names", "  keyadm %[1]s remove %[2]s", false},
}

// newPrincipalCmd is the user or team command group with the given verbs.
func newPrincipalCmd(f *Factory, kind apikey.PrincipalKind, example, long string, verbs ...string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   string(kind),
		Short: fmt.Sprintf("Manage the %ss whose permissions keys inherit", kind),
		Long:  long,
	}
	for _, v := range verbs {
		cmd.AddCommand(NewCmdPrincipal(f, kind, v, example, nil))
	}
	return cmd
}

// NewCmdPrincipal is one user or team subcommand: runF, when not nil, runs
// in place of principalRun.
func NewCmdPrincipal(f *Factory, kind apikey.PrincipalKind, verb, example string, runF func(*PrincipalOptions) error) *cobra.Command {
	v := principalVerbs[verb]
	opts := &PrincipalOptions{Kind: kind, Verb: verb}
	in := &opts.Input
	var name, email string
	var limits limitFlags
	nargs, what := 1, "one "+string(kind)+" ID"
	if verb == "list" {
		nargs, what = 0, "no arguments"
	}
	cmd := &cobra.Command{
		Use:     v.use,
		Short:   fmt.Sprintf(v.short, kind),
		Example: fmt.Sprintf(v.example, kind, example),
		Args:    args(nargs, nargs, what),
		RunE: func(cmd *cobra.Command, a []string) error {
			opts.Env = f.env(true, verb == "add")
			if len(a) == 1 {
				opts.ID = a[0]
			}
			flags := cmd.Flags()
			if flags.Changed("name") {
				in.Name = &name
			}
			if flags.Changed("email") {
				in.Email = &email
			}
			l, err := limits.parse(flags, verb == "update")
			if err != nil {
				return err
			}
			in.RateLimits, in.ClearRateLimits = l.RateLimits, l.ClearRateLimits
			if in.Actor, err = f.Actor(); err != nil {
				return err
			}
			return runWith(cmd.Context(), opts, runF, principalRun)
		},
	}
	if v.fields {
		fl := cmd.Flags()
		fl.StringVar(&name, "name", "", "display name")
		if kind == apikey.KindUser {
			fl.StringVar(&email, "email", "", "email address")
			limits.addRates(fl, verb == "update", ", one budget shared by all of the user's keys")
		}
		fl.StringArrayVar(&in.Permissions, "permission", nil, "permission, repeatable (billing:read, billing:*, *); replaces the set")
	}
	return cmd
}

// principalRun does the verb; the Service checks the id and the fields
// before it opens the database.
func principalRun(ctx context.Context, opts *PrincipalOptions) error {
	svc, kind, tenant, id := opts.Service, opts.Kind, opts.Tenant, opts.ID
	var p *apikey.Principal
	var err error
	switch opts.Verb {
	case "list":
		return listPrincipals(ctx, opts)
	case "add":
		p, err = svc.AddPrincipal(ctx, kind, tenant, id, opts.Input)
	case "show":
		p, _, err = svc.GetPrincipal(ctx, kind, tenant, id)
	case "update":
		p, err = svc.UpdatePrincipal(ctx, kind, tenant, id, opts.Input)
	case "disable", "enable":
		p, err = svc.SetPrincipalEnabled(ctx, kind, tenant, id, opts.Verb == "enable", opts.Input.Actor)
	case "remove":
		if p, err = svc.RemovePrincipal(ctx, kind, tenant, id, opts.Input.Actor); err == nil && opts.Printer.Format == output.Table {
			if !opts.Printer.Quiet {
				fmt.Fprintf(opts.IO.Out, "Removed %s %s (tenant %s)\n", kind, output.Sanitize(p.ID), p.TenantID)
			}
			return nil
		}
	}
	if err != nil {
		return err
	}
	if opts.Printer.Quiet {
		return nil
	}
	return output.One(opts.Printer, output.PrincipalView(kind), output.NewPrincipalRecord(p, opts.Now()))
}

func listPrincipals(ctx context.Context, opts *PrincipalOptions) error {
	list := output.NewList(opts.Printer, output.PrincipalView(opts.Kind))
	now := opts.Now()
	if err := opts.Service.ListPrincipals(ctx, opts.Kind, opts.Tenant, func(p *apikey.Principal) error {
		return list.Add(output.NewPrincipalRecord(p, now))
	}); err != nil {
		return err
	}
	return list.Close()
}

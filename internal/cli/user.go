package cli

import (
	"github.com/spf13/cobra"

	"github.com/keyadm/keyadm/internal/apikey"
)

// newUserCmd is keyadm user: the users keys act on behalf of.
func newUserCmd(f *Factory) *cobra.Command {
	return newPrincipalCmd(f, apikey.KindUser, "alice@example.com",
		`Users are records per tenant (--tenant, default "default"; list without it
shows every tenant's). A key whose --owner names a registered user of its tenant
acts with that user's authority: its effective permissions never exceed the
user's set, a key created without --permission inherits the set and follows its
changes, and while the user is disabled every key of the user is rejected
(reason disabled). An --owner that names no user stays a free id, as before.

A user's --rate-limit windows (add and update; update's "none" removes them) are
one budget shared by all of the user's keys, enforced by keyadm serve beside each
key's own: the stricter decides (429 rate_limited).

A user that an unrevoked key still names cannot be removed (exit 4): revoke or
delete its keys first.`,
		"add", "list", "show", "update", "disable", "enable", "remove")
}

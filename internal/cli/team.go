package cli

import (
	"github.com/spf13/cobra"

	"github.com/keyadm/keyadm/internal/apikey"
)

// newTeamCmd is keyadm team: the teams whose permissions keys inherit.
func newTeamCmd(f *Factory) *cobra.Command {
	return newPrincipalCmd(f, apikey.KindTeam, "payments",
		`Teams are records per tenant (--tenant, default "default"; list without it
shows every tenant's). A key whose --team names a registered team of its tenant
never has more than the team's permissions; a key created without --permission
inherits them (with its owner's, where both are registered) and follows their
changes. Disabling a team pauses every key of the team. A --team that names no
team stays a free id, as before.

A team that an unrevoked key still names cannot be removed (exit 4).`,
		"add", "list", "show", "update", "disable", "enable", "remove")
}

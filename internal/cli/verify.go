package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/output"
)

func newVerifyCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "verify [KEY|-]",
		Short: "Check a key and print whose it is",
		Long: `Check a key: exit 0 and print the key's identity if it grants access, exit 5
with the reason on stderr if not (malformed, unknown, revoked, expired, or keys
disabled for its tenant). A good check records the key's last use.

With --tenant, a key of another tenant is unknown (and its use is not recorded).

With no argument or "-", the key is read from stdin, so it stays out of the
shell history and the process list; prefer that to passing it as an argument.`,
		Example: `  printf '%s' "$KEY" | keyadm verify
  keyadm verify < key.txt -o json`,
		Args: args(0, 1, "at most one KEY, or - for stdin"),
		RunE: func(cmd *cobra.Command, a []string) error {
			var key string
			if len(a) == 1 && a[0] != "-" {
				key = a[0]
			} else {
				var err error
				if key, err = f.IO.ReadSecret("Key: "); err != nil {
					return err
				}
			}
			// Surrounding space (the newline from stdin) is not part of a key.
			key = strings.TrimSpace(key)
			if key == "" {
				if len(a) == 1 && a[0] != "-" {
					return usageErrorf(cmd, "no key given: the KEY argument is empty")
				}
				return usageErrorf(cmd, "no key given: nothing on stdin; pipe the key in, as in printf '%%s' \"$KEY\" | keyadm verify")
			}
			// A malformed key is rejected before the database is opened.
			if _, err := apikey.ParseSecret(key); err != nil {
				return err
			}
			ctx := cmd.Context()
			svc, err := f.Service(ctx)
			if err != nil {
				return err
			}
			k, now, err := svc.Verify(ctx, f.Tenant(), key)
			if err != nil {
				return err
			}
			return output.One(f.Printer(), output.KeyIdentity, output.NewKeyRecord(k, now, ""))
		},
	}
}

package cli

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyadm/keyadm/internal/output"
)

// VerifyOptions are the inputs of verify.
type VerifyOptions struct {
	Env
	// Key is the key to check, from the argument or stdin.
	Key string
	// Require are permissions the key must grant, all of them.
	Require []string
}

// NewCmdVerify is verify: runF, when not nil, runs in place of verifyRun.
func NewCmdVerify(f *Factory, runF func(*VerifyOptions) error) *cobra.Command {
	opts := &VerifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify [KEY|-]",
		Short: "Check a key and print whose it is",
		Long: `Check a key: exit 0 and print the key's identity if it grants access, exit 5
with the reason on stderr if not (malformed, unknown, revoked, expired, or keys
disabled: the key, its owner, its team or its tenant). A good check records the
key's last use and prints its effective permissions: its own, narrowed by its
registered owner's and team's and the tenant's permissions ceiling.

With --require PERM (repeatable), the key must grant every one of them, or
verify exits 5 with the reason insufficient_permissions, naming what is missing.

With --tenant, a key of another tenant is unknown (and its use is not recorded).

With no argument or "-", the key is read from stdin, so it stays out of the
shell history and the process list; prefer that to passing it as an argument.`,
		Example: `  printf '%s' "$KEY" | keyadm verify
  keyadm verify < key.txt -o json
  keyadm verify --require billing:write < key.txt`,
		Args: args(0, 1, "at most one KEY, or - for stdin"),
		RunE: func(cmd *cobra.Command, a []string) error {
			opts.Env = f.env(true, false)
			fromArg := len(a) == 1 && a[0] != "-"
			if fromArg {
				opts.Key = a[0]
			} else {
				var err error
				if opts.Key, err = opts.IO.ReadSecret("Key: "); err != nil {
					return err
				}
			}
			// Surrounding space (the newline from stdin) is not part of a key.
			opts.Key = strings.TrimSpace(opts.Key)
			if opts.Key == "" {
				if fromArg {
					return usageErrorf("no key given: the KEY argument is empty")
				}
				return usageErrorf("no key given: nothing on stdin; pipe the key in, as in printf '%%s' \"$KEY\" | keyadm verify")
			}
			return runWith(cmd.Context(), opts, runF, verifyRun)
		},
	}
	cmd.Flags().StringArrayVar(&opts.Require, "require", nil, "a permission the key must grant, repeatable (all required)")
	return cmd
}

// verifyRun checks the key; the Service rejects a malformed one before it
// opens the database.
func verifyRun(ctx context.Context, opts *VerifyOptions) error {
	k, now, err := opts.Service.Verify(ctx, opts.Tenant, opts.Key, opts.Require...)
	if err != nil {
		return err
	}
	return output.One(opts.Printer, output.KeyIdentity, output.NewKeyRecord(k, now, ""))
}

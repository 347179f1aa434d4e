package cli

import (
	"context"

	"github.com/spf13/cobra"
)

// KeyStateOptions are the inputs of disable and enable.
type KeyStateOptions struct {
	Env
	IDs      []string
	Disabled bool
	Actor    string
}

// NewCmdDisable is disable: runF, when not nil, runs in place of keyStateRun.
func NewCmdDisable(f *Factory, runF func(*KeyStateOptions) error) *cobra.Command {
	return newKeyStateCmd(f, true, runF)
}

// NewCmdEnable is enable: runF, when not nil, runs in place of keyStateRun.
func NewCmdEnable(f *Factory, runF func(*KeyStateOptions) error) *cobra.Command {
	return newKeyStateCmd(f, false, runF)
}

func newKeyStateCmd(f *Factory, disabled bool, runF func(*KeyStateOptions) error) *cobra.Command {
	opts := &KeyStateOptions{Disabled: disabled}
	cmd := &cobra.Command{
		Use:     "enable ID...",
		Short:   "Restore paused keys",
		Long:    `Restore keys that disable paused: they work again from their next verify, exactly as before. A revoked key stays revoked (exit 4).`,
		Example: `  keyadm enable 0193f5c4-5a4e-7c1a-9d3b-2f1e0c8b7a61`,
		Args:    args(1, -1, "key IDs"),
		RunE: func(cmd *cobra.Command, ids []string) error {
			opts.Env, opts.IDs = f.env(true, false), ids
			var err error
			if opts.Actor, err = f.Actor(); err != nil {
				return err
			}
			return runWith(cmd.Context(), opts, runF, keyStateRun)
		},
	}
	if disabled {
		cmd.Use, cmd.Short = "disable ID...", "Pause keys, reversibly, from their next verify"
		cmd.Long = `Pause keys, all or none: from their next verify they are rejected with the
reason disabled, until enable restores them exactly. Unlike revoke, nothing is
lost. A disabled key still counts toward max_keys_per_user. A revoked key
cannot be disabled or enabled (exit 4).`
		cmd.Example = `  keyadm disable 0193f5c4-5a4e-7c1a-9d3b-2f1e0c8b7a61`
	}
	return cmd
}

func keyStateRun(ctx context.Context, opts *KeyStateOptions) error {
	keys, now, err := opts.Service.SetKeysDisabled(ctx, opts.Tenant, opts.IDs, opts.Disabled, opts.Actor)
	if err != nil {
		return err
	}
	verb := "Enabled"
	if opts.Disabled {
		verb = "Disabled"
	}
	return printChanged(opts.Env, keys, now, verb)
}

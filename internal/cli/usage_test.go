package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/output"
)

func TestUsageRun(t *testing.T) {
	e := newTestEnv(t, output.Table)
	k := e.create(t, "counted")
	if err := e.Service.RecordActivity(context.Background(), apikey.Activity{Counts: []apikey.UsageCount{
		{KeyID: k.ID, TenantID: k.TenantID, Hour: e.Now(), Outcome: "valid", Count: 4},
		{KeyID: k.ID, TenantID: k.TenantID, Hour: e.Now(), Outcome: "rate_limited", Count: 1},
	}}); err != nil {
		t.Fatal(err)
	}
	if err := usageRun(context.Background(), &UsageOptions{Env: e.Env, KeyID: k.ID, Since: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if want := k.ID + " (default): 5 verifications: rate_limited 1, valid 4\n"; !strings.HasPrefix(e.out.String(), want) || !strings.Contains(e.out.String(), "█|") {
		t.Errorf("stdout %q, want it to start %q", e.out, want)
	}
}

// TestLimitFlags: update's limit flags fill its Options, "none" clears.
func TestLimitFlags(t *testing.T) {
	io, _, _ := output.Test("")
	f := &Factory{IO: io}
	var got *UpdateOptions
	root := rootWith(t, f, NewCmdUpdate(f, func(o *UpdateOptions) error { got = o; return nil }))
	root.SetArgs([]string{"--db", filepath.Join(t.TempDir(), "k.db"), "--actor", "tester", "update", "0193f5c4-5a4e-7c1a-9d3b-2f1e0c8b7a61",
		"--rate-limit", "none", "--uses", "5", "--refill", "5/1d", "--allow-ip", "10.0.0.1"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	l := got.Input.Limits
	if !l.ClearRateLimits || *l.Uses != 5 || l.Refill.String() != "5/1d" || apikey.PrefixStrings(l.AllowIPs)[0] != "10.0.0.1/32" {
		t.Fatalf("limits %+v", l)
	}
}

// rootWith is the root command with cmd in place of its namesake, so a
// test's runF sees the Options the flags filled.
func rootWith(t *testing.T, f *Factory, cmd *cobra.Command) *cobra.Command {
	t.Helper()
	root := NewRootCmd(f)
	old, _, err := root.Find([]string{cmd.Name()})
	if err != nil {
		t.Fatal(err)
	}
	root.RemoveCommand(old)
	root.AddCommand(cmd)
	return root
}

package cli

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/output"
)

func TestPrincipalRuns(t *testing.T) {
	e := newTestEnv(t, output.JSON)
	ctx := context.Background()
	run := func(verb, id string, in apikey.PrincipalInput) error {
		in.Actor = "tester"
		return principalRun(ctx, &PrincipalOptions{Env: e.Env, Kind: apikey.KindUser, Verb: verb, ID: id, Input: in})
	}
	if err := run("add", "alice", apikey.PrincipalInput{Permissions: []string{"read"}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.out.String(), `"kind": "user"`) || !strings.Contains(e.out.String(), `"tenantId": "default"`) {
		t.Errorf("add: stdout %q", e.out)
	}
	if err := run("disable", "alice", apikey.PrincipalInput{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.out.String(), `"enabled": false`) {
		t.Errorf("disable: stdout %q", e.out)
	}
	if err := run("show", "bob", apikey.PrincipalInput{}); apikey.ErrorCode(err) != apikey.ENOTFOUND {
		t.Errorf("show bob: %v, want not found", err)
	}
	if _, err := e.Service.Create(ctx, apikey.CreateInput{Name: "k", OwnerID: "alice", Actor: "tester"}); err != nil {
		t.Fatal(err)
	}
	if err := run("remove", "alice", apikey.PrincipalInput{}); ExitCode(err) != ExitPolicy {
		t.Errorf("remove a user who owns a key: %v (exit %d), want exit 4", err, ExitCode(err))
	}
}

// TestPrincipalChecksBeforeOpening: a bad permission is refused before
// the store is opened.
func TestPrincipalChecksBeforeOpening(t *testing.T) {
	e := newTestEnv(t, output.JSON)
	err := principalRun(context.Background(), &PrincipalOptions{Env: e.Env, Kind: apikey.KindTeam, Verb: "add", ID: "ops",
		Input: apikey.PrincipalInput{Permissions: []string{"Write"}}})
	if ExitCode(err) != ExitUsage {
		t.Fatalf("error %v, want exit 2", err)
	}
	e.noDatabase(t)
}

func TestKeyStateAndRequireRuns(t *testing.T) {
	e := newTestEnv(t, output.JSON)
	ctx := context.Background()
	c, err := e.Service.Create(ctx, apikey.CreateInput{Name: "k", Actor: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyRun(ctx, &VerifyOptions{Env: e.Env, Key: c.Secret.String(), Require: []string{"write"}}); apikey.ErrorReason(err) != apikey.ReasonInsufficient || ExitCode(err) != ExitRejected {
		t.Fatalf("verify --require write: %v, want insufficient_permissions (exit 5)", err)
	}
	if err := keyStateRun(ctx, &KeyStateOptions{Env: e.Env, IDs: []string{c.Key.ID}, Disabled: true, Actor: "tester"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.out.String(), `"status": "disabled"`) {
		t.Errorf("disable: stdout %q", e.out)
	}
	if err := verifyRun(ctx, &VerifyOptions{Env: e.Env, Key: c.Secret.String()}); apikey.ErrorReason(err) != apikey.ReasonDisabled {
		t.Fatalf("verify a disabled key: %v, want disabled", err)
	}
	if err := keyStateRun(ctx, &KeyStateOptions{Env: e.Env, IDs: []string{c.Key.ID}, Actor: "tester"}); err != nil {
		t.Fatal(err)
	}
	e.out.Reset()
	if err := verifyRun(ctx, &VerifyOptions{Env: e.Env, Key: c.Secret.String(), Require: []string{"read"}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.out.String(), `"effectivePermissions": [`) {
		t.Errorf("verify: stdout %q", e.out)
	}
}

// TestUserRateLimitFlags: user add and update turn --rate-limit into the
// user's windows (update's none clears them) without opening the store;
// a bad window names the flag; teams have no such flag.
func TestUserRateLimitFlags(t *testing.T) {
	io, _, _ := output.Test("")
	f := &Factory{IO: io}
	for _, c := range []struct {
		verb  string
		args  []string
		rates []apikey.Rate
		clear bool
	}{
		{"add", []string{"--permission", "read", "--rate-limit", "100/1h", "--rate-limit", "5/1s"}, []apikey.Rate{{Limit: 5, Per: time.Second}, {Limit: 100, Per: time.Hour}}, false},
		{"update", []string{"--rate-limit", "none"}, nil, true},
	} {
		var got *PrincipalOptions
		root := NewRootCmd(f)
		old, _, err := root.Find([]string{"user", c.verb})
		if err != nil {
			t.Fatal(err)
		}
		user := old.Parent()
		user.RemoveCommand(old)
		user.AddCommand(NewCmdPrincipal(f, apikey.KindUser, c.verb, "", func(o *PrincipalOptions) error { got = o; return nil }))
		root.SetArgs(append([]string{"--db", filepath.Join(t.TempDir(), "k.db"), "--actor", "tester", "user", c.verb, "bob"}, c.args...))
		if err := root.Execute(); err != nil {
			t.Fatal(err)
		}
		if got == nil || !slices.Equal(got.Input.RateLimits, c.rates) || got.Input.ClearRateLimits != c.clear {
			t.Fatalf("%s: options %+v", c.verb, got)
		}
	}
	if err := parse(t, "user", "update", "bob", "--rate-limit", "0/1m"); ExitCode(err) != ExitUsage || !strings.HasPrefix(message(err), `invalid --rate-limit "0/1m"`) {
		t.Errorf("bad window: %v", err)
	}
	if err := parse(t, "team", "update", "ops", "--rate-limit", "5/1m"); ExitCode(err) != ExitUsage {
		t.Errorf("a team's --rate-limit: %v, want exit 2", err)
	}
}

package cli

import (
	"context"
	"strings"
	"testing"

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

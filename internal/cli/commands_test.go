package cli

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/viper"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/output"
	"github.com/keyadm/keyadm/internal/server"
)

// testEnv is an Env on a new SQLite file in t.TempDir(), printing JSON
// (or table), and the file's path.
type testEnv struct {
	Env
	out, errOut *bytes.Buffer
	path        string
}

func newTestEnv(t *testing.T, format output.Format) *testEnv {
	t.Helper()
	io, out, errOut := output.Test("")
	path := filepath.Join(t.TempDir(), "k.db")
	f := &Factory{IO: io, v: viper.New(), log: slog.New(slog.DiscardHandler)}
	f.v.Set(keyDB, path)
	f.printer = &output.Printer{IO: io, Format: format}
	t.Cleanup(func() { f.Close() })
	return &testEnv{Env: f.env(true, true), out: out, errOut: errOut, path: path}
}

// create makes a key through the Service and returns it.
func (e *testEnv) create(t *testing.T, name string) *apikey.Key {
	t.Helper()
	c, err := e.Service.Create(context.Background(), apikey.CreateInput{Name: name, Actor: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	return c.Key
}

// noDatabase fails when the Env's file exists: a check that should have
// come first opened it.
func (e *testEnv) noDatabase(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(e.path); err == nil {
		t.Errorf("the database was opened")
	}
}

func TestCreateRun(t *testing.T) {
	e := newTestEnv(t, output.JSON)
	opts := &CreateOptions{Env: e.Env, Input: apikey.CreateInput{Name: "ci", Actor: "tester"}}
	if err := createRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.out.String(), `"key": "qapi_`) || !strings.Contains(e.out.String(), `"name": "ci"`) {
		t.Errorf("stdout %q", e.out)
	}
}

// TestCreateChecksBeforeOpening: a bad name is refused by the Service
// before the store is opened.
func TestCreateChecksBeforeOpening(t *testing.T) {
	e := newTestEnv(t, output.JSON)
	err := createRun(context.Background(), &CreateOptions{Env: e.Env, Input: apikey.CreateInput{Actor: "tester"}})
	if apikey.ErrorCode(err) != apikey.EINVALID {
		t.Fatalf("error %v, want invalid", err)
	}
	e.noDatabase(t)
}

func TestListRun(t *testing.T) {
	e := newTestEnv(t, output.Table)
	for _, n := range []string{"a", "b", "c"} {
		e.create(t, n)
	}
	opts := &ListOptions{Env: e.Env, Input: apikey.ListInput{Limit: 2, Sort: apikey.DefaultSort}}
	if err := listRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.errOut.String(), "Showing 2 keys; more follow") {
		t.Errorf("stderr %q", e.errOut)
	}
}

func TestShowRun(t *testing.T) {
	e := newTestEnv(t, output.JSON)
	k := e.create(t, "shown")
	if err := showRun(context.Background(), &ShowOptions{Env: e.Env, ID: k.ID}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.out.String(), `"id": "`+k.ID+`"`) {
		t.Errorf("stdout %q", e.out)
	}
}

func TestShowChecksBeforeOpening(t *testing.T) {
	e := newTestEnv(t, output.JSON)
	err := showRun(context.Background(), &ShowOptions{Env: e.Env, ID: "nope"})
	if apikey.ErrorCode(err) != apikey.EINVALID {
		t.Fatalf("error %v, want invalid", err)
	}
	e.noDatabase(t)
}

func TestUpdateRun(t *testing.T) {
	e := newTestEnv(t, output.JSON)
	k := e.create(t, "old")
	name := "new"
	opts := &UpdateOptions{Env: e.Env, ID: k.ID, Input: apikey.UpdateInput{Name: &name, Actor: "tester"}}
	if err := updateRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.out.String(), `"name": "new"`) {
		t.Errorf("stdout %q", e.out)
	}
}

func TestRotateRun(t *testing.T) {
	e := newTestEnv(t, output.JSON)
	k := e.create(t, "rotated")
	opts := &RotateOptions{Env: e.Env, ID: k.ID, Grace: 0, Actor: "tester"}
	if err := rotateRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.out.String(), `"rotatedFrom": "`+k.ID+`"`) {
		t.Errorf("stdout %q", e.out)
	}
	old, _, err := e.Service.Get(context.Background(), "", k.ID)
	if err != nil || old.RevokedAt == nil {
		t.Errorf("grace 0 left the old key unrevoked (%v)", err)
	}
}

func TestVerifyRun(t *testing.T) {
	e := newTestEnv(t, output.JSON)
	c, err := e.Service.Create(context.Background(), apikey.CreateInput{Name: "v", Actor: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyRun(context.Background(), &VerifyOptions{Env: e.Env, Key: c.Secret.String()}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.out.String(), c.Key.ID) {
		t.Errorf("stdout %q", e.out)
	}
}

func TestVerifyRejectsMalformedBeforeOpening(t *testing.T) {
	e := newTestEnv(t, output.JSON)
	err := verifyRun(context.Background(), &VerifyOptions{Env: e.Env, Key: "not-a-key"})
	if apikey.ErrorCode(err) != apikey.EREJECTED {
		t.Fatalf("error %v, want rejected", err)
	}
	e.noDatabase(t)
}

func TestRevokeRun(t *testing.T) {
	e := newTestEnv(t, output.Table)
	k := e.create(t, "leaked")
	opts := &RevokeOptions{Env: e.Env, IDs: []string{k.ID}, Actor: "tester", Yes: true}
	if err := revokeRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if e.out.String() != "Revoked key "+k.ID+" (leaked)\n" {
		t.Errorf("stdout %q", e.out)
	}
}

func TestRevokeSweepDryRun(t *testing.T) {
	e := newTestEnv(t, output.Table)
	e.create(t, "fresh")
	d := 90 * apikey.Day
	opts := &RevokeOptions{Env: e.Env, UnusedFor: &d, Actor: "tester", DryRun: true}
	if err := revokeRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.errOut.String(), "Dry run: would revoke 0 active keys unused for P90D in every tenant") {
		t.Errorf("stderr %q", e.errOut)
	}
}

func TestDeleteRun(t *testing.T) {
	e := newTestEnv(t, output.Table)
	k := e.create(t, "gone")
	if err := deleteRun(context.Background(), &DeleteOptions{Env: e.Env, IDs: []string{k.ID}, Actor: "tester", Yes: true}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Service.Get(context.Background(), "", k.ID); apikey.ErrorCode(err) != apikey.ENOTFOUND {
		t.Errorf("the key is still there: %v", err)
	}
}

// TestDeleteAsksOrNeedsYes: without --yes and a terminal, nothing is deleted.
func TestDeleteAsksOrNeedsYes(t *testing.T) {
	e := newTestEnv(t, output.Table)
	k := e.create(t, "kept")
	err := deleteRun(context.Background(), &DeleteOptions{Env: e.Env, IDs: []string{k.ID}, Actor: "tester"})
	if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "--yes required") {
		t.Fatalf("error %v", err)
	}
}

func TestConfigRuns(t *testing.T) {
	e := newTestEnv(t, output.CSV)
	ctx := context.Background()
	if err := configSetRun(ctx, &ConfigSetOptions{Env: e.Env, Name: "max_keys_per_user", Value: "3", Actor: "tester"}); err != nil {
		t.Fatal(err)
	}
	e.out.Reset()
	if err := configGetRun(ctx, &ConfigGetOptions{Env: e.Env, Name: "max_keys_per_user"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.out.String(), "max_keys_per_user,3") {
		t.Errorf("get after set: %q", e.out)
	}
	e.out.Reset()
	if err := configUnsetRun(ctx, &ConfigUnsetOptions{Env: e.Env, Name: "max_keys_per_user", Actor: "tester"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(e.out.String(), "max_keys_per_user,3") {
		t.Errorf("unset kept the value: %q", e.out)
	}
}

func TestConfigSetChecksBeforeOpening(t *testing.T) {
	e := newTestEnv(t, output.JSON)
	err := configSetRun(context.Background(), &ConfigSetOptions{Env: e.Env, Name: "max_keys_per_user", Value: "-1", Actor: "tester"})
	if apikey.ErrorCode(err) != apikey.EINVALID {
		t.Fatalf("error %v, want invalid", err)
	}
	e.noDatabase(t)
}

func TestAuditRun(t *testing.T) {
	e := newTestEnv(t, output.Table)
	e.create(t, "a")
	e.create(t, "b")
	if err := auditRun(context.Background(), &AuditOptions{Env: e.Env, Query: apikey.EventQuery{Limit: 1}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.errOut.String(), "Showing the newest 1 event; more match") {
		t.Errorf("stderr %q", e.errOut)
	}
}

func TestDBRuns(t *testing.T) {
	e := newTestEnv(t, output.Table)
	opts := &DBOptions{Env: e.Env}
	if err := dbMigrateRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if err := dbStatusRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.out.String(), "Schema is up to date (version 7).") || !strings.Contains(e.out.String(), "sqlite") {
		t.Errorf("stdout %q", e.out)
	}
}

func TestServeRun(t *testing.T) {
	e := newTestEnv(t, output.Table)
	// Serves until the deadline, then shuts down cleanly.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	opts := &ServeOptions{Env: e.Env, Listen: "127.0.0.1:0", LogFormat: "json", Config: server.Config{
		TouchInterval: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second, IdleTimeout: time.Second, ShutdownTimeout: time.Second,
	}}
	if err := serveRun(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.errOut.String(), `"msg":"keyadm serve starting","db":"sqlite"`) {
		t.Errorf("stderr %q", e.errOut)
	}
}

func TestVersionRun(t *testing.T) {
	io, out, _ := output.Test("")
	if err := versionRun(context.Background(), &VersionOptions{IO: io, Printer: &output.Printer{IO: io, Format: output.Table, Quiet: true}}); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := BuildInfo(); out.String() != v+"\n" {
		t.Errorf("stdout %q", out)
	}
}

// parse runs keyadm's command line with runF in place of the run function
// (no database is opened) and returns the error.
func parse(t *testing.T, args ...string) error {
	t.Helper()
	io, _, _ := output.Test("")
	f := &Factory{IO: io}
	root := NewRootCmd(f)
	root.SetArgs(append([]string{"--db", filepath.Join(t.TempDir(), "k.db"), "--actor", "tester"}, args...))
	root.SetOut(io.Out)
	root.SetErr(io.ErrOut)
	return root.Execute()
}

// TestFlagsFillOptions: the constructors turn flags into Options; runF
// sees them without any database.
func TestFlagsFillOptions(t *testing.T) {
	io, _, _ := output.Test("")
	f := &Factory{IO: io}
	var got *RotateOptions
	root := rootWith(t, f, NewCmdRotate(f, func(o *RotateOptions) error { got = o; return nil }))
	dir := t.TempDir()
	root.SetArgs([]string{"--db", filepath.Join(dir, "k.db"), "--actor", "tester", "--tenant", "acme", "rotate", "0193f5c4-5a4e-7c1a-9d3b-2f1e0c8b7a61", "--grace", "2h"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if got == nil || got.Grace != 2*time.Hour || got.Actor != "tester" || got.Tenant != "acme" || got.ID != "0193f5c4-5a4e-7c1a-9d3b-2f1e0c8b7a61" {
		t.Fatalf("options %+v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "k.db")); err == nil {
		t.Error("parsing flags opened the database")
	}
}

func TestBadGraceNamesTheFlag(t *testing.T) {
	err := parse(t, "rotate", "0193f5c4-5a4e-7c1a-9d3b-2f1e0c8b7a61", "--grace", "soon")
	if err == nil || !strings.HasPrefix(message(err), "--grace: ") {
		t.Fatalf("error %v", err)
	}
}

package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/output"
)

func TestDBCopyRun(t *testing.T) {
	e := newTestEnv(t, output.Table)
	e.create(t, "ci")
	to := filepath.Join(t.TempDir(), "copy.db")
	opts := &DBCopyOptions{Env: e.Env, To: to}
	if err := dbCopyRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if want := "Copied 2 rows (principals 0, api_keys 1, tenant_config 0, audit_events 1, key_usage 0, rate_limit_state 0) from sqlite "; !strings.HasPrefix(e.out.String(), want) {
		t.Errorf("stdout %q, want %q…", e.out, want)
	}
	// Again: the target now holds rows.
	if err := dbCopyRun(context.Background(), opts); apikey.ErrorCode(err) != apikey.EINVALID {
		t.Errorf("second copy: %v, want invalid (exit 2)", err)
	}
	opts.Force = true
	if err := dbCopyRun(context.Background(), opts); err != nil {
		t.Errorf("forced copy: %v", err)
	}
}

// TestDBCopyNeedsTo: --to is required, checked before any database opens.
func TestDBCopyNeedsTo(t *testing.T) {
	err := parse(t, "db", "copy")
	if err == nil || message(err) != "--to is required: the database to copy into" {
		t.Fatalf("error %v", err)
	}
}

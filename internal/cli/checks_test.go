package cli

import (
	"context"
	"testing"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/output"
)

// TestListChecksBeforeOpening: a bad cursor is refused by the Service
// before the store is opened, for a page and for --all, so list needs no
// check of its own.
func TestListChecksBeforeOpening(t *testing.T) {
	for _, all := range []bool{false, true} {
		e := newTestEnv(t, output.JSON)
		opts := &ListOptions{Env: e.Env, All: all, Input: apikey.ListInput{After: "nope", Limit: 20}}
		if err := listRun(context.Background(), opts); apikey.ErrorCode(err) != apikey.EINVALID {
			t.Fatalf("all=%v: error %v, want invalid", all, err)
		}
		e.noDatabase(t)
	}
}

// TestAuditChecksKeyBeforeOpening: a malformed --key is refused by the
// Service before the store is opened.
func TestAuditChecksKeyBeforeOpening(t *testing.T) {
	e := newTestEnv(t, output.JSON)
	err := auditRun(context.Background(), &AuditOptions{Env: e.Env, Query: apikey.EventQuery{KeyID: "nope"}})
	if apikey.ErrorCode(err) != apikey.EINVALID {
		t.Fatalf("error %v, want invalid", err)
	}
	e.noDatabase(t)
}

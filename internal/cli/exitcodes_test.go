package cli

import (
	"errors"
	"strings"
	"testing"

	"github.com/keyadm/keyadm/internal/apikey"
)

// TestExitCodeTable: ExitCode answers from ExitCodes, which lists every
// code once, in order, and the root help shows it.
func TestExitCodeTable(t *testing.T) {
	for i, e := range ExitCodes {
		if e.Code != i || e.Meaning == "" {
			t.Errorf("ExitCodes[%d] = %d %q", i, e.Code, e.Meaning)
		}
		for _, kind := range e.kinds {
			if got := ExitCode(apikey.Errorf(kind, "x")); got != e.Code {
				t.Errorf("ExitCode(%s error) = %d, the table says %d", kind, got, e.Code)
			}
		}
	}
	for err, want := range map[error]int{
		nil: ExitOK, errors.New("disk on fire"): ExitFailure, &usageError{msg: "bad"}: ExitUsage, errCancelled: ExitUsage,
	} {
		if got := ExitCode(err); got != want {
			t.Errorf("ExitCode(%v) = %d, want %d", err, got, want)
		}
	}
	long := NewRootCmd(&Factory{}).Long
	for _, e := range ExitCodes {
		if !strings.Contains(long, e.Meaning) {
			t.Errorf("root help lacks exit code %d: %q", e.Code, e.Meaning)
		}
	}
}

package cli

import (
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/output"
)

// run runs keyadm in-process with the given stdin, as if on a terminal when
// tty is set.
func run(t *testing.T, db, stdin string, tty bool, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runAt(t, time.Time{}, db, stdin, tty, args...)
}

// runAt is run with the clock set to now (zero: the real clock).
func runAt(t *testing.T, now time.Time, db, stdin string, tty bool, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	io, out, errOut := output.Test(stdin)
	if tty {
		io.SetTTY(true, true, 120)
	}
	f := &Factory{IO: io}
	if !now.IsZero() {
		f.Now = func() time.Time { return now }
	}
	code = Main(f, append([]string{"--db", db, "--actor", "tester"}, args...))
	return code, out.String(), errOut.String()
}

func createKey(t *testing.T, db string) string {
	t.Helper()
	code, out, errOut := run(t, db, "", false, "create", "--name", "confirm-me", "-o", "json")
	if code != 0 {
		t.Fatalf("create: %d %s", code, errOut)
	}
	return regexp.MustCompile(`"id": "([0-9a-f-]{36})"`).FindStringSubmatch(out)[1]
}

func status(t *testing.T, db, id string) string {
	t.Helper()
	_, out, _ := run(t, db, "", false, "show", id, "-o", "json")
	return regexp.MustCompile(`"status": "(\w+)"`).FindStringSubmatch(out)[1]
}

// TestConfirmOnTerminal: on a terminal, revoke and delete ask first, and a
// "no" changes nothing.
func TestConfirmOnTerminal(t *testing.T) {
	db := filepath.Join(t.TempDir(), "k.db")
	id := createKey(t, db)

	code, out, errOut := run(t, db, "n\n", true, "revoke", id)
	if code != ExitUsage || !strings.Contains(errOut, `Revoke key `+id+` ("confirm-me", tenant default)? [y/N]`) ||
		!strings.Contains(errOut, "keyadm: cancelled; nothing was changed") || out != "" {
		t.Fatalf("declined revoke: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	if s := status(t, db, id); s != "active" {
		t.Fatalf("declined revoke left the key %s", s)
	}

	code, out, errOut = run(t, db, "yes\n", true, "revoke", id)
	if code != 0 || !strings.Contains(out, "Revoked key "+id) {
		t.Fatalf("confirmed revoke: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	if s := status(t, db, id); s != "revoked" {
		t.Fatalf("confirmed revoke left the key %s", s)
	}

	// End of input counts as no.
	code, _, _ = run(t, db, "", true, "delete", id)
	if code != ExitUsage {
		t.Fatalf("delete with no answer: code %d", code)
	}
	code, _, errOut = run(t, db, "y\n", true, "delete", id)
	if code != 0 || !strings.Contains(errOut, "Delete key "+id) {
		t.Fatalf("confirmed delete: code %d, stderr %q", code, errOut)
	}
	if code, _, _ := run(t, db, "", false, "show", id); code != ExitNotFound {
		t.Fatalf("deleted key: show exits %d", code)
	}
}

// TestConfirmNamesEveryKey: a revoke of several keys names each one
// before asking, counts those past the first 20, and a "no" revokes none.
func TestConfirmNamesEveryKey(t *testing.T) {
	db := filepath.Join(t.TempDir(), "k.db")
	var ids []string
	for range 23 {
		ids = append(ids, createKey(t, db))
	}
	code, _, errOut := run(t, db, "n\n", true, append([]string{"revoke"}, ids[:3]...)...)
	if code != ExitUsage || !strings.Contains(errOut, "Revoke these 3 keys:\n") || !strings.Contains(errOut, "Revoke 3 keys? [y/N]") {
		t.Fatalf("declined revoke of 3: code %d, stderr %q", code, errOut)
	}
	for _, id := range ids[:3] {
		if !strings.Contains(errOut, "  "+id+` ("confirm-me", tenant default)`+"\n") {
			t.Errorf("the question does not name %s: %q", id, errOut)
		}
		if s := status(t, db, id); s != "active" {
			t.Fatalf("key %s is %s after a declined revoke", id, s)
		}
	}
	code, out, errOut := run(t, db, "y\n", true, append([]string{"revoke"}, ids...)...)
	if code != 0 || !strings.Contains(errOut, "  … and 3 more\n") || strings.Contains(errOut, ids[20]) {
		t.Fatalf("revoke of 23: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	for _, id := range ids {
		if s := status(t, db, id); s != "revoked" {
			t.Fatalf("key %s is %s after a confirmed revoke", id, s)
		}
	}
}

// TestNoPromptWithoutTerminal: off a terminal, destructive commands never
// wait for an answer: they need --yes.
func TestNoPromptWithoutTerminal(t *testing.T) {
	db := filepath.Join(t.TempDir(), "k.db")
	id := createKey(t, db)
	for _, cmd := range []string{"revoke", "delete"} {
		code, _, errOut := run(t, db, "y\n", false, cmd, id)
		if code != ExitUsage || !strings.Contains(errOut, "--yes required when not running interactively") {
			t.Fatalf("%s off a terminal: code %d, stderr %q", cmd, code, errOut)
		}
	}
	if s := status(t, db, id); s != "active" {
		t.Fatalf("key is %s", s)
	}
}

// TestRevokeAlreadyRevoked: revoking a key already revoked asks nothing,
// on a terminal or off one: it says so and succeeds. With others to
// revoke, the question names only those.
func TestRevokeAlreadyRevoked(t *testing.T) {
	db := filepath.Join(t.TempDir(), "k.db")
	id, other := createKey(t, db), createKey(t, db)
	if code, _, errOut := run(t, db, "", false, "revoke", id, "--yes"); code != 0 {
		t.Fatalf("revoke: %d %s", code, errOut)
	}
	for _, tty := range []bool{true, false} {
		// No answer on stdin: a question would read "no" and cancel.
		code, out, errOut := run(t, db, "", tty, "revoke", id)
		if code != 0 || errOut != "" || out != "Already revoked key "+id+" (confirm-me)\n" {
			t.Fatalf("revoke again (terminal %v): code %d, stdout %q, stderr %q", tty, code, out, errOut)
		}
	}
	code, out, errOut := run(t, db, "y\n", true, "revoke", id, other)
	if code != 0 || !strings.Contains(errOut, "Revoke key "+other+` ("confirm-me", tenant default)? [y/N]`) ||
		strings.Contains(errOut, id) || !strings.Contains(out, "Already revoked key "+id) || !strings.Contains(out, "Revoked key "+other) {
		t.Fatalf("revoke of a revoked and an active key: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	// Only one revoke event each.
	_, out, _ = run(t, db, "", false, "audit", "--action", "key.revoke", "-o", "csv")
	if n := strings.Count(out, "key.revoke"); n != 2 {
		t.Fatalf("%d revoke events, want 2:\n%s", n, out)
	}
}

// TestColor: status is coloured only on a terminal, and never with
// --no-color or NO_COLOR.
func TestColor(t *testing.T) {
	db := filepath.Join(t.TempDir(), "k.db")
	createKey(t, db)
	_, out, _ := run(t, db, "", true, "list")
	if !strings.Contains(out, "\x1b[32mactive\x1b[0m") {
		t.Fatalf("no colour on a terminal: %q", out)
	}
	_, out, _ = run(t, db, "", true, "list", "--no-color")
	if strings.Contains(out, "\x1b[") {
		t.Fatalf("colour despite --no-color: %q", out)
	}
	t.Setenv("NO_COLOR", "1")
	io, buf, _ := output.Test("")
	io.SetTTY(true, true, 120)
	Main(&Factory{IO: io}, []string{"--db", db, "list"})
	if strings.Contains(buf.String(), "\x1b[") {
		t.Fatalf("colour despite NO_COLOR: %q", buf.String())
	}
	_, out, _ = run(t, db, "", false, "list")
	if strings.Contains(out, "\x1b[") {
		t.Fatalf("colour on a pipe: %q", out)
	}
}

// TestFitsTerminal: a narrow terminal drops low-priority columns, never
// ID, NAME, STATUS or LAST USED, and the table fits at any width.
func TestFitsTerminal(t *testing.T) {
	db := filepath.Join(t.TempDir(), "k.db")
	createKey(t, db)
	for _, width := range []int{200, 100, 80, 60, 40} {
		io, out, _ := output.Test("")
		io.SetTTY(false, true, width)
		io.DisableColor()
		if code := Main(&Factory{IO: io}, []string{"--db", db, "list"}); code != 0 {
			t.Fatal(code)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		for _, h := range []string{"ID", "NAME", "STATUS", "LAST USED"} {
			if !strings.Contains(lines[0], h) {
				t.Fatalf("width %d dropped %s: %q", width, h, lines[0])
			}
		}
		for _, l := range lines {
			if n := output.DisplayWidth(l); n > width {
				t.Fatalf("width %d: line of %d cells: %q", width, n, l)
			}
		}
		if width == 200 && !strings.Contains(lines[0], "PERMISSIONS") {
			t.Fatalf("wide terminal dropped columns: %q", lines[0])
		}
		if width == 80 && strings.Contains(lines[0], "PERMISSIONS") {
			t.Fatalf("80 columns kept PERMISSIONS: %q", lines[0])
		}
	}
}

// TestSweepProgress: a sweep on a terminal asks once with the count and
// draws a progress bar on stderr; on a pipe it draws nothing.
func TestSweepProgress(t *testing.T) {
	db := filepath.Join(t.TempDir(), "k.db")
	for range 3 {
		createKey(t, db)
	}
	// --unused-for counts never-used keys from their creation: an hour
	// later, every key is stale for --unused-for 30m.
	later := time.Now().Add(time.Hour)
	code, out, errOut := runAt(t, later, db, "y\n", true, "revoke", "--unused-for", "30m", "--tenant", "default")
	if code != 0 || !strings.Contains(errOut, "Revoke 3 active keys unused for PT30M in tenant default? [y/N]") ||
		!strings.Contains(errOut, "revoking") || out != "Revoked 3 active keys unused for PT30M in tenant default.\n" {
		t.Fatalf("sweep on a terminal: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	createKey(t, db)
	code, out, errOut = runAt(t, later, db, "", false, "revoke", "--unused-for", "30m", "--yes")
	if code != 0 || errOut != "" || !strings.HasPrefix(out, "Revoked 1 ") {
		t.Fatalf("sweep on a pipe: code %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// brokenPipe is a stdout that takes nothing, like a closed pipe or a full disk.
type brokenPipe struct{}

func (brokenPipe) Write([]byte) (int, error) {
	return 0, errors.New("write /dev/stdout: no space left on device")
}

// TestUnprintedSecretNamesItsKey: when the secret of a committed key
// cannot be printed, the error names the key to revoke, and never the
// secret; the key is there, never used.
func TestUnprintedSecretNamesItsKey(t *testing.T) {
	db := filepath.Join(t.TempDir(), "k.db")
	old := createKey(t, db)
	for _, args := range [][]string{{"create", "--name", "lost"}, {"rotate", old}} {
		io, _, errOut := output.Test("")
		io.Out = brokenPipe{}
		code := Main(&Factory{IO: io}, append([]string{"--db", db, "--actor", "tester"}, args...))
		m := regexp.MustCompile(`\Akeyadm: key ([0-9a-f-]{36}) was created, but printing its secret failed \(write /dev/stdout: no space left on device\); nobody has the secret, so revoke the key: keyadm revoke ([0-9a-f-]{36})\n\z`).
			FindStringSubmatch(errOut.String())
		if code != ExitFailure || m == nil || m[1] != m[2] {
			t.Fatalf("%v to a full disk: code %d, stderr %q", args, code, errOut.String())
		}
		if s := status(t, db, m[1]); s != "active" {
			t.Fatalf("the unprinted key %s is %s", m[1], s)
		}
		if strings.Contains(errOut.String(), "qapi_") {
			t.Fatalf("the error holds a secret: %q", errOut.String())
		}
	}
}

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// --- SQLite on a disk that refuses writes -------------------------------------------

// mountTmpfs mounts a tmpfs of the given size for the test, or skips.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// seeded makes a database with three keys and returns their ids and
// secrets.
func seeded(t *testing.T, db string) (ids, secrets []string) {
	t.Helper()
	for i := range 3 {
		code, out, errOut := keyadm(db, "", "create", "-o", "json", "--name", fmt.Sprintf("kept-%d", i))
		id, secret := (&run{stdout: out}).printed()
		if code != 0 || secret == "" {
			t.Fatalf("create: %s", errOut)
		}
		ids, secrets = append(ids, id), append(secrets, secret)
	}
	return ids, secrets
}

// intact checks a database after a failure: sound, and exactly the keys
// committed before, each verifying.
func intact(t *testing.T, db string, secrets []string) {
	t.Helper()
	integrityCheck(t, db)
	code, out, errOut := keyadm(db, "", "list", "--all", "-q")
	if code != 0 || len(strings.Fields(out)) != len(secrets) {
		t.Fatalf("list after the failure: exit %d, %d keys, want %d: %s", code, len(strings.Fields(out)), len(secrets), errOut)
	}
	for _, s := range secrets {
		if code, _, errOut := keyadm(db, s+"\n", "verify", "-q"); code != 0 {
			t.Errorf("a key committed before the failure does not verify: %s", errOut)
		}
	}
}

// writes are commands that must write, on a database holding the keys
// ids and secrets: each fails cleanly when nothing can be written.
func writes(ids, secrets []string) []struct{ stdin, args []string } {
	return []struct{ stdin, args []string }{
		{nil, []string{"create", "--name", "refused"}},
		{nil, []string{"config", "set", "max_keys_per_user", "5"}},
		{nil, []string{"update", ids[0], "--description", "refused"}},
		{nil, []string{"revoke", ids[0], "--yes"}},
		{nil, []string{"rotate", ids[1]}},
		{nil, []string{"delete", ids[2], "--yes"}},
		// verify records the key's last use
		{[]string{secrets[0]}, []string{"verify"}},
	}
}

// refused checks that each write fails with exit 1, one line matching re,
// and nothing on stdout.
func refused(t *testing.T, db, how, re string, ids, secrets []string) {
	t.Helper()
	for _, w := range writes(ids, secrets) {
		code, out, errOut := keyadm(db, strings.Join(w.stdin, ""), w.args...)
		what := strings.Join(w.args, " ") + " " + how
		if code != 1 || out != "" {
			t.Errorf("%s: exit %d, stdout %q; want 1 and nothing", what, code, out)
		}
		oneLine(t, what, errOut, re)
	}
}

// TestSQLiteReadOnly: on a read-only file system, or a file that cannot be
// written, every change fails with one line and exit 1, and the file is
// left sound with its keys intact. As root, chmod does not stop a write,
// so the read-only cases are a tmpfs remounted read-only and an immutable
// file (chattr +i); as another user, chmod.
func TestSQLiteReadOnly(t *testing.T) {
	type readOnly struct {
		name  string
		dir   func(t *testing.T) string
		apply func(t *testing.T, db string) (undo func())
	}
	var cases []readOnly
	if os.Geteuid() == 0 {
		cases = append(cases, readOnly{
			name: "read-only file system",
			dir:  func(t *testing.T) string { return mountTmpfs(t, "4m") },
			apply: func(t *testing.T, db string) func() {
				dir := filepath.Dir(db)
				mustRun(t, "mount", "-o", "remount,ro", dir)
				return func() { mustRun(t, "mount", "-o", "remount,rw", dir) }
			},
		}, readOnly{
			name: "immutable file",
			dir:  func(t *testing.T) string { return t.TempDir() },
			apply: func(t *testing.T, db string) func() {
				if out, err := exec.Command("chattr", "+i", db).CombinedOutput(); err != nil {
					t.Skipf("chattr +i does not work here (%v: %s)", err, out)
				}
				// Even if the test stops early, so the folder can be removed.
				t.Cleanup(func() { _ = exec.Command("chattr", "-i", db).Run() })
				return func() { mustRun(t, "chattr", "-i", db) }
			},
		})
	} else {
		cases = append(cases, readOnly{
			name: "read-only file and folder",
			dir:  func(t *testing.T) string { return t.TempDir() },
			apply: func(t *testing.T, db string) func() {
				must(t, os.Chmod(db, 0o400))
				must(t, os.Chmod(filepath.Dir(db), 0o500))
				return func() {
					must(t, os.Chmod(filepath.Dir(db), 0o700))
					must(t, os.Chmod(db, 0o600))
				}
			},
		})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := filepath.Join(c.dir(t), "keyadm.db")
			ids, secrets := seeded(t, db)
			undo := c.apply(t, db)
			refused(t, db, "on a read-only database", `sqlite .*keyadm\.db: .*read-only.*`, ids, secrets)
			undo()
			intact(t, db, secrets)
		})
	}
}

// TestSQLiteDiskFull: on a full disk, changes fail with one line and exit
// 1 and print no secret; once space is back the file is sound, holds
// exactly the keys whose secrets were printed, and works again.
func TestSQLiteDiskFull(t *testing.T) {
	dir := mountTmpfs(t, "1m")
	db := filepath.Join(dir, "keyadm.db")
	ids, secrets := seeded(t, db)
	filler := filepath.Join(dir, "filler")
	fill := func(leave int64) {
		t.Helper()
		var fs syscall.Statfs_t
		must(t, syscall.Statfs(dir, &fs))
		free := int64(fs.Bavail) * fs.Bsize
		must(t, os.WriteFile(filler, make([]byte, max(free-leave, 0)), 0o600))
	}

	// Nearly full: creates succeed until one does not.
	fill(160 << 10)
	failed := 0
	for i := 0; i < 400 && failed < 3; i++ {
		code, out, errOut := keyadm(db, "", "create", "-q", "--name", fmt.Sprintf("filling-%d", i))
		switch {
		case code == 0:
			secrets = append(secrets, strings.TrimSpace(out))
		default:
			failed++
			if code != 1 || out != "" {
				t.Errorf("create on a full disk: exit %d, stdout %q; want 1 and nothing", code, out)
			}
			oneLine(t, "create on a full disk", errOut, `sqlite .*keyadm\.db: disk full; nothing was written`)
		}
	}
	if failed == 0 {
		t.Errorf("no create failed: the disk never filled up, or a failure went unreported")
	}
	t.Logf("%d keys fitted before the disk was full", len(secrets))

	// Completely full: even opening fails, in one line.
	must(t, os.Remove(filler))
	fill(0)
	refused(t, db, "on a full disk", `sqlite .*keyadm\.db: .+`, ids, secrets)

	must(t, os.Remove(filler))
	intact(t, db, secrets)
	if code, _, errOut := keyadm(db, "", "create", "--name", "after"); code != 0 {
		t.Fatalf("create once space is back: %s", errOut)
	}
}

func mustRun(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, out)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

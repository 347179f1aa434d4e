package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/store/sqlite"
	"github.com/keyadm/keyadm/internal/store/storetest"
)

func TestConformance(t *testing.T) { suite().RunTests(t) }

// BenchmarkConformance: the suite's benchmarks (make bench).
func BenchmarkConformance(b *testing.B) { suite().RunBenchmarks(b) }

func suite() *storetest.Suite {
	return &storetest.Suite{Open: func(t testing.TB, now func() time.Time) apikey.Store {
		db, err := sqlite.Open(filepath.Join(t.TempDir(), "keyadm.db"), sqlite.Options{})
		return storetest.Migrated(t, db, err, now)
	}}
}

// Every connection of each pool gets its page cache: a large tenant's
// writes slow down threefold with SQLite's 2 MiB default.
func TestPageCache(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "keyadm.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range []struct {
		name    string
		pool    *sql.DB
		wantKiB int
	}{{"writer", db.RW, 64 << 10}, {"reader", db.RO, 16 << 10}} {
		var kib int
		if err := c.pool.QueryRow(`PRAGMA cache_size`).Scan(&kib); err != nil {
			t.Fatal(err)
		}
		if kib != -c.wantKiB {
			t.Errorf("%s cache_size = %d, want %d (%d MiB)", c.name, kib, -c.wantKiB, c.wantKiB>>10)
		}
	}
}

// TestReadOnly: a database this user may read but not write (the file, or
// the folder SQLite keeps its -wal and -shm files in) opens read-only: reads
// work and leave no file behind, a write fails with one line that names
// the file, says why and what to do, and a file others may read still
// gets its warning.
func TestReadOnly(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		mode   os.FileMode
		target func(db string) string // what loses write access
		why    string
		warn   bool
	}{
		{"folder", 0o600, filepath.Dir, `this user may not write its folder .*, where SQLite keeps the -wal and -shm files \((permission denied|operation not permitted)\)`, false},
		{"file readable by others", 0o644, func(db string) string { return db }, `this user may not write the file \((permission denied|operation not permitted)\)`, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "keyadm.db")
			id := seed(t, path)
			if err := os.Chmod(path, c.mode); err != nil {
				t.Fatal(err)
			}
			withoutWrite(t, c.target(path))
			var warnings []string
			db, err := sqlite.Open(path, sqlite.Options{Warn: func(w string) { warnings = append(warnings, w) }})
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer db.Close()
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatalf("migrate (nothing pending): %v", err)
			}
			if (len(warnings) == 1) != c.warn {
				t.Errorf("warnings %q, want one: %v", warnings, c.warn)
			}
			svc := &apikey.Service{Store: db}
			if k, _, err := svc.Get(ctx, "", id); err != nil || k.Name != "seeded" {
				t.Fatalf("read: %v", err)
			}
			if _, err := db.SchemaStatus(ctx); err != nil {
				t.Fatalf("schema status: %v", err)
			}
			_, err = svc.Create(ctx, apikey.CreateInput{Name: "refused", Actor: "tester"})
			want := `^sqlite ` + regexp.QuoteMeta(path) + `: database is read-only: ` + c.why + `; run keyadm as a user who may, or grant this one write permission$`
			if apikey.ErrorCode(err) != apikey.EUNAVAILABLE || !regexp.MustCompile(want).MatchString(apikey.ErrorMessage(err)) {
				t.Errorf("write: %q (code %q), want %s (unavailable)", apikey.ErrorMessage(err), apikey.ErrorCode(err), want)
			}
			db.Close()
			if extra, _ := filepath.Glob(path + "-*"); len(extra) > 0 {
				t.Errorf("a read-only open left %v", extra)
			}
		})
	}
}

// TestReadOnlyWhileWritten: in a folder this user may not write, a database
// another process has open (so its -wal and -shm files exist) is read
// through them, commits still in the -wal included.
func TestReadOnlyWhileWritten(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keyadm.db")
	id := seed(t, path)
	writer, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	name := "renamed in the wal"
	if _, _, err := (&apikey.Service{Store: writer}).Update(ctx, "", id, apikey.UpdateInput{Name: &name, Actor: "tester"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Fatalf("the writer has no -wal: %v", err)
	}
	withoutWrite(t, filepath.Dir(path))
	db, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer db.Close()
	k, _, err := (&apikey.Service{Store: db}).Get(ctx, "", id)
	if err != nil || k.Name != name {
		t.Fatalf("read: %+v, %v; want the name committed in the -wal", k, err)
	}
}

// seed makes a database at path holding one key, closed, and returns its id.
func seed(t *testing.T, path string) string {
	t.Helper()
	db, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, err := (&apikey.Service{Store: db}).Create(context.Background(), apikey.CreateInput{Name: "seeded", Actor: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	return c.Key.ID
}

// withoutWrite takes write access to path from this user until the test
// ends: by its mode, or, for root, whom modes do not stop, by making it
// immutable (chattr +i), which stops root too.
func withoutWrite(t *testing.T, path string) {
	t.Helper()
	if os.Geteuid() != 0 {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, info.Mode().Perm()&^0o222); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(path, info.Mode().Perm()) })
		return
	}
	if out, err := exec.Command("chattr", "+i", path).CombinedOutput(); err != nil {
		t.Skipf("chattr +i does not work here (%v: %s)", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("chattr", "-i", path).Run() })
}

// TestHugePathClipped: a --db of 100 KB is named clipped in the error, with
// the file's name kept, instead of echoed whole.
func TestHugePathClipped(t *testing.T) {
	path := filepath.Join(t.TempDir(), strings.Repeat("x/", 50_000)+"typo.db")
	_, err := sqlite.Open(path, sqlite.Options{})
	msg := apikey.ErrorMessage(err)
	if len(msg) > 1000 || !strings.Contains(msg, "/typo.db (") {
		t.Fatalf("error of %d bytes: %.300s", len(msg), msg)
	}
}

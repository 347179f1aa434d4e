package sqlite_test

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	modsqlite "modernc.org/sqlite"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/store/sqlite"
	"github.com/keyadm/keyadm/internal/store/sqlstore"
	"github.com/keyadm/keyadm/internal/store/storetest"
)

// TestVerifyNotReprepared guards the verify path against SQLite's STAT4
// re-prepare: on an analysed database, a statement whose plan may depend on
// a bound value (an indexed column compared with a parameter) is parsed and
// planned again whenever that parameter is bound, which made every verify
// cost 3–4× its floor (issue 17). SQLite's authorizer runs each time a
// statement is compiled, so counting its calls counts (re-)prepares without
// depending on any plan.
func TestVerifyNotReprepared(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keyadm.db")
	selects, updates := countCompiles(path)
	const known = 50
	db, secrets := analysedStore(t, ctx, path, 3000, known)
	defer db.Close()
	svc := &apikey.Service{Store: db}

	// check is the server's path: one SELECT, prepared once. verify is the
	// CLI's: the same SELECT, then in a write transaction the touch (an
	// UPDATE, prepared once) and a read of the whole key, which is prepared
	// per transaction by design (a one-shot command runs it once).
	for _, c := range []struct {
		name            string
		run             func(secret string) error
		selects, update int64
	}{
		{"check", func(s string) error { _, _, err := svc.Check(ctx, s); return err }, 0, 0},
		{"verify", func(s string) error { _, _, err := svc.Verify(ctx, "", s); return err }, known, 0},
	} {
		// The first calls prepare on the connection they get.
		for _, s := range secrets[:5] {
			if err := c.run(s); err != nil {
				t.Fatal(err)
			}
		}
		s0, u0 := selects.Load(), updates.Load()
		for _, s := range secrets {
			if err := c.run(s); err != nil {
				t.Fatal(err)
			}
		}
		if s, u := selects.Load()-s0, updates.Load()-u0; s != c.selects || u != c.update {
			t.Errorf("%s: %d calls on an analysed database compiled %d SELECTs and %d UPDATEs; want %d and %d (a re-prepare on every binding)",
				c.name, known, s, u, c.selects, c.update)
		}
	}
}

// countCompiles counts the SELECTs and UPDATEs compiled on the file at path,
// through SQLite's authorizer.
func countCompiles(path string) (selects, updates *atomic.Int64) {
	selects, updates = new(atomic.Int64), new(atomic.Int64)
	escaped := (&url.URL{Path: filepath.ToSlash(path)}).EscapedPath()
	// Hooks cannot be removed: this one only counts on this test's file.
	modsqlite.RegisterConnectionHook(func(c modsqlite.ExecQuerierContext, dsn string) error {
		if !strings.Contains(dsn, escaped) {
			return nil
		}
		return c.(modsqlite.AuthorizerRegisterer).RegisterAuthorizer(
			func(action modsqlite.AuthorizerActionCode, _, _, _, _ string) modsqlite.AuthorizerReturnCode {
				switch action {
				case modsqlite.AuthSelect:
					selects.Add(1)
				case modsqlite.AuthUpdate:
					updates.Add(1)
				}
				return modsqlite.AuthorizerOK
			})
	})
	return selects, updates
}

// analysedStore seeds n keys over three tenants into a new store at path,
// the first known of them with secrets it returns, gathers statistics with
// STAT4 samples, as a database in service has them, then opens the store
// again and prepares its statements on them, as a new process does.
func analysedStore(t *testing.T, ctx context.Context, path string, n, known int) (*sqlstore.DB, []string) {
	open := func() *sqlstore.DB {
		db, err := sqlite.Open(path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return db
	}
	db := open()
	var secrets []string
	for range known {
		sec, err := apikey.GenerateSecret(nil, "qapi")
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, sec.String())
	}
	err := storetest.Seed(ctx, db, n, func(i int, k *apikey.Key, hash []byte) []byte {
		k.TenantID = []string{"a", "b", "c"}[i%3]
		if i < known {
			return apikey.HashKey(secrets[i])
		}
		return hash
	})
	if err != nil {
		t.Fatal(err)
	}
	// Statistics with STAT4 samples, as a database in service has them;
	// then a new process prepares its statements on them.
	if _, err := db.RW.Exec(`ANALYZE`); err != nil {
		t.Fatal(err)
	}
	var samples int
	if err := db.RW.QueryRow(`SELECT count(*) FROM sqlite_stat4`).Scan(&samples); err != nil || samples == 0 {
		t.Fatalf("no STAT4 samples after ANALYZE (%d, %v): the test would prove nothing", samples, err)
	}
	db.Close()
	db = open()
	if err := db.PrepareHot(ctx); err != nil {
		t.Fatal(err)
	}
	return db, secrets
}

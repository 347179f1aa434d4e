package storetest

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/store/sqlstore"
)

// sqlCounter is a log handler that counts the statements whose SQL
// contains a string: the reads a cache saves.
type sqlCounter struct {
	contains string
	n        atomic.Int64
}

func (c *sqlCounter) Enabled(context.Context, slog.Level) bool { return true }
func (c *sqlCounter) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *sqlCounter) WithGroup(string) slog.Handler            { return c }
func (c *sqlCounter) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "sql" && strings.Contains(a.Value.String(), c.contains) {
			c.n.Add(1)
		}
		return true
	})
	return nil
}

// countSQL counts the statements of e's store whose SQL contains a
// string; stores not on database/sql keep no caches, and skip the test.
func countSQL(t *testing.T, e *env, contains string) (*sqlstore.DB, *sqlCounter) {
	t.Helper()
	db, ok := e.store.(*sqlstore.DB)
	if !ok {
		t.Skipf("%T keeps no caches", e.store)
	}
	c := &sqlCounter{contains: contains}
	db.Log = slog.New(c)
	return db, c
}

// TestAuthorityCache: verify reads a key's owner, team and settings once,
// then only the key and the authority version, until something the key
// inherits changes, however it changes: through keyadm, by hand in SQL on
// another connection (another process), or not at all (a write
// transaction that saw its own change and rolled it back).
func (s *Suite) TestAuthorityCache(t *testing.T) {
	e := s.env(t)
	db, joins := countSQL(t, e, "JOIN principals u")
	e.addPrincipal(apikey.KindUser, "acme", "alice", "read", "write")
	c := e.create(apikey.CreateInput{TenantID: "acme", OwnerID: "alice"})
	check := func(what string, want ...string) {
		t.Helper()
		k, _, err := e.svc.Check(e.ctx, c.Secret.String())
		if err != nil {
			t.Fatalf("%s: check: %v", what, err)
		}
		wantPerms(t, what, k.Effective, want...)
	}
	wantJoins := func(what string, want int64) {
		t.Helper()
		if got := joins.n.Swap(0); got != want {
			t.Fatalf("%s: %d joined reads, want %d", what, got, want)
		}
	}

	for range 5 {
		check("first checks", "read", "write")
	}
	wantJoins("five checks", 1)

	// By hand, on another connection: the trigger moves the version.
	if _, err := db.RW.ExecContext(e.ctx, `UPDATE principals SET permissions = '["read"]' WHERE id = 'alice'`); err != nil {
		t.Fatal(err)
	}
	check("after an UPDATE in SQL", "read")
	check("again", "read")
	wantJoins("after an UPDATE in SQL", 1)

	// The counter made again (a migration down and up) and back at the
	// number the cache holds: its new epoch tells them apart.
	var n int64
	if err := db.RW.QueryRowContext(e.ctx, `SELECT n FROM authority_version`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RW.ExecContext(e.ctx, `UPDATE principals SET permissions = '["read", "write"]' WHERE id = 'alice'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RW.ExecContext(e.ctx, db.Dialect.Rebind(`UPDATE authority_version SET n = ?, epoch = 'again'`), n); err != nil {
		t.Fatal(err)
	}
	check("after the counter is made again", "read", "write")

	// A write transaction that disables alice sees it, then rolls back:
	// the cache must not keep what was never committed.
	disableAndRollBack(t, db, mustHash(t, c.Secret.String()))
	// The next commit reaches the version the rolled-back write saw: what
	// that write read must not pass for it.
	e.addPrincipal(apikey.KindUser, "acme", "bob", "read")
	check("after the rollback and the next commit", "read", "write")

	// A setting, through keyadm: the next check is refused.
	e.setConfig("acme", apikey.SettingKeysEnabled, "false")
	_, _, err := e.svc.Check(e.ctx, c.Secret.String())
	wantRejected(t, err, apikey.ReasonDisabled)
}

// disableAndRollBack disables alice in a write transaction, reads the key
// of hash there (its owner disabled, as the transaction sees it), and
// rolls back.
func disableAndRollBack(t *testing.T, db *sqlstore.DB, hash []byte) {
	t.Helper()
	rollback := errors.New("roll back")
	err := db.Update(context.Background(), func(tx apikey.Tx) error {
		p, err := tx.GetPrincipal(apikey.KindUser, "acme", "alice")
		if err != nil {
			return err
		}
		p.Enabled = false
		if err := tx.SavePrincipal(p); err != nil {
			return err
		}
		g, err := tx.KeyByHash(hash)
		if err != nil {
			return err
		}
		if g.Owner == nil || g.Owner.Enabled {
			t.Errorf("inside the transaction: owner %+v, want alice disabled", g.Owner)
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatalf("update: %v", err)
	}
}

func mustHash(t *testing.T, plaintext string) []byte {
	t.Helper()
	secret, err := apikey.ParseSecret(plaintext)
	if err != nil {
		t.Fatal(err)
	}
	return secret.Hash()
}

package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/store/sqlstore"
)

// TestKeyCache: in serve (after PrepareHot), where the engine's triggers
// version the keys, verify reads a key once and then only the versions,
// until the key changes, however it changes: through keyadm, or by hand in
// SQL on another connection (another process). What serve writes itself
// (last uses, use counts) does not make it read the key again; a key with
// limits is read every time; a write transaction's read is never kept.
// Where the engine keeps no keys, every verify reads the key.
func (s *Suite) TestKeyCache(t *testing.T) {
	e := s.env(t)
	db, reads := countSQL(t, e, "WHERE k.key_hash")
	if err := db.PrepareHot(e.ctx); err != nil {
		t.Fatal(err)
	}
	cached := db.KeepsKeys()
	if cached != (db.Dialect.KeysVersioned != nil) {
		t.Fatalf("keeps keys: %v, engine versions keys: %v", cached, db.Dialect.KeysVersioned != nil)
	}
	c := e.create(apikey.CreateInput{TenantID: "acme", Permissions: []string{"read", "write"}})
	secret := c.Secret.String()
	check := func(what string, want ...string) {
		t.Helper()
		k, _, err := e.svc.Check(e.ctx, secret)
		if err != nil {
			t.Fatalf("%s: check: %v", what, err)
		}
		wantPerms(t, what, k.Effective, want...)
	}
	refused := func(what, reason string) {
		t.Helper()
		_, _, err := e.svc.Check(e.ctx, secret)
		wantRejected(t, err, reason)
	}
	wantReads := func(what string, checks, ifCached int64) {
		t.Helper()
		want := checks
		if cached {
			want = ifCached
		}
		if got := reads.n.Swap(0); got != want {
			t.Fatalf("%s: %d key reads, want %d", what, got, want)
		}
	}
	byHand := func(q string, args ...any) {
		t.Helper()
		if _, err := db.RW.ExecContext(e.ctx, db.Dialect.Rebind(q), args...); err != nil {
			t.Fatal(err)
		}
	}
	now := db.Dialect.Time(e.clock.Now())

	for range 5 {
		check("first checks", "read", "write")
	}
	wantReads("five checks", 5, 1)

	// serve's flush writes last uses and use counts: not a change.
	if err := e.svc.RecordActivity(e.ctx, apikey.Activity{Uses: map[string]time.Time{c.Key.ID: e.clock.Now()}}); err != nil {
		t.Fatal(err)
	}
	check("after a flush", "read", "write")
	wantReads("after a flush", 1, 0)

	// By hand, on another connection: each change is seen on the next check.
	byHand(`UPDATE api_keys SET permissions = '["read"]' WHERE id = ?`, c.Key.ID)
	check("after narrowing it in SQL", "read")
	check("again", "read")
	wantReads("after narrowing it in SQL", 2, 1)
	for _, col := range []struct{ name, reason string }{
		{"disabled_at", apikey.ReasonDisabled}, {"expires_at", apikey.ReasonExpired}, {"revoked_at", apikey.ReasonRevoked},
	} {
		byHand(`UPDATE api_keys SET `+col.name+` = ? WHERE id = ?`, now, c.Key.ID)
		refused("after setting "+col.name+" in SQL", col.reason)
		byHand(`UPDATE api_keys SET `+col.name+` = NULL WHERE id = ?`, c.Key.ID)
		check("after clearing "+col.name+" in SQL", "read")
	}

	// A write transaction that revokes the key sees it revoked, then rolls
	// back: nothing it read may be kept. Whatever number of its statements
	// moved the version there, the committed one reaching that number must
	// not find the revoked key.
	for moved := int64(1); moved <= 4; moved++ {
		check("before the rollback", "read")
		var n int64
		if err := db.RW.QueryRowContext(e.ctx, `SELECT keys_n FROM authority_version`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		revokeAndRollBack(t, db, c.Key.ID, mustHash(t, secret))
		byHand(`UPDATE authority_version SET keys_n = ?`, n+moved)
		check(fmt.Sprintf("after the rollback and %d more changes", moved), "read")
	}
	reads.n.Store(0)

	// Limits given by hand: the key is read on every check from then on.
	check("warm", "read")
	reads.n.Store(0)
	byHand(`UPDATE api_keys SET uses_remaining = 100 WHERE id = ?`, c.Key.ID)
	for range 3 {
		check("with credits given in SQL", "read")
	}
	wantReads("with credits given in SQL, three checks", 3, 3)
	byHand(`UPDATE api_keys SET uses_remaining = NULL, allow_ips = '["10.0.0.0/8"]' WHERE id = ?`, c.Key.ID)
	for range 3 {
		check("with an allowlist given in SQL", "read")
	}
	wantReads("with an allowlist given in SQL, three checks", 3, 3)

	// Through keyadm.
	if _, _, err := e.svc.Revoke(e.ctx, "", []string{c.Key.ID}, "", "ops"); err != nil {
		t.Fatal(err)
	}
	refused("after keyadm revoke", apikey.ReasonRevoked)
	byHand(`DELETE FROM api_keys WHERE id = ?`, c.Key.ID)
	refused("after deleting it in SQL", apikey.ReasonUnknown)
}

// revokeAndRollBack revokes key id in a write transaction, reads it by
// hash there (revoked, as the transaction sees it), and rolls back.
func revokeAndRollBack(t *testing.T, db *sqlstore.DB, id string, hash []byte) {
	t.Helper()
	err := db.Update(context.Background(), func(tx apikey.Tx) error {
		k, err := tx.GetKey(id, "")
		if err != nil {
			return err
		}
		now := tx.Now()
		k.RevokedAt = &now
		if err := tx.SaveKey(k); err != nil {
			return err
		}
		g, err := tx.KeyByHash(hash)
		if err != nil {
			return err
		}
		if g.Key.RevokedAt == nil {
			t.Errorf("inside the transaction: key not revoked")
		}
		return errRollBack
	})
	if err != errRollBack {
		t.Fatalf("update: %v", err)
	}
}

var errRollBack = apikey.Errorf(apikey.EINVALID, "roll back")

package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/store/sqlstore"
)

// TestKeyCache: where the engine's triggers move the authority version on
// key changes, verify reads a key once and then only the version, until
// the key changes, however it changes: through keyadm, or by hand in SQL
// on another connection (another process). What serve writes itself (last
// uses, use counts) does not make it read the key again; a key with limits
// is read every time; a write transaction's read is never kept. Where the
// engine keeps no keys, every verify reads the key.
func (s *Suite) TestKeyCache(t *testing.T) {
	e := s.env(t)
	db, reads := countSQL(t, e, "WHERE k.key_hash")
	cached := db.Dialect.KeysVersioned != nil
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
	byHand(`UPDATE api_keys SET disabled_at = ? WHERE id = ?`, db.Dialect.Time(e.clock.Now()), c.Key.ID)
	_, _, err := e.svc.Check(e.ctx, secret)
	wantRejected(t, err, apikey.ReasonDisabled)
	byHand(`UPDATE api_keys SET disabled_at = NULL WHERE id = ?`, c.Key.ID)
	check("after enabling it in SQL", "read")

	// A write transaction that revokes the key sees it revoked, then rolls
	// back: nothing it read may be kept.
	revokeAndRollBack(t, db, c.Key.ID, mustHash(t, secret))
	check("after the rollback", "read")

	// Through keyadm.
	if _, _, err := e.svc.Revoke(e.ctx, "", []string{c.Key.ID}, "", "ops"); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.svc.Check(e.ctx, secret)
	wantRejected(t, err, apikey.ReasonRevoked)
	byHand(`DELETE FROM api_keys WHERE id = ?`, c.Key.ID)
	_, _, err = e.svc.Check(e.ctx, secret)
	wantRejected(t, err, apikey.ReasonUnknown)
	reads.n.Store(0)

	// A key with credits: its answer carries what is left, read every time.
	l := e.create(apikey.CreateInput{TenantID: "acme", Limits: apikey.LimitsInput{Uses: new(int64(100))}})
	if _, _, err := e.svc.Check(e.ctx, l.Secret.String()); err != nil {
		t.Fatal(err)
	}
	reads.n.Store(0)
	for range 3 {
		if _, _, err := e.svc.Check(e.ctx, l.Secret.String()); err != nil {
			t.Fatal(err)
		}
	}
	wantReads("a key with credits, three checks", 3, 3)
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

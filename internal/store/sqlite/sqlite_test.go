package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/store/sqlite"
	"github.com/keyadm/keyadm/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	suite := &storetest.Suite{Open: func(t *testing.T, now func() time.Time) apikey.Store {
		db, err := sqlite.Open(filepath.Join(t.TempDir(), "keyadm.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		db.Now = now
		if _, err := db.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return db
	}}
	suite.RunTests(t)
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

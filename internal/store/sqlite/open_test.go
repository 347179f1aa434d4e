package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/store/sqlite"
)

// A read command on an up-to-date database (open, schema check, one read
// transaction) connects once: every SQLite connection parses the schema
// and loads its statistics again, the largest cost of a list after the
// process's start (BENCHMARKS.md).
func TestReadConnectsOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keyadm.db")
	db, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = sqlite.Open(path, sqlite.Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if applied, err := db.Migrate(ctx); err != nil || len(applied) > 0 {
		t.Fatalf("Migrate = %v, %v; want nothing to apply", applied, err)
	}
	if err := db.View(ctx, func(apikey.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if n := db.RW.Stats().OpenConnections + db.RO.Stats().OpenConnections; n != 1 {
		t.Errorf("%d connections (writer %d, reader %d), want 1", n, db.RW.Stats().OpenConnections, db.RO.Stats().OpenConnections)
	}
}

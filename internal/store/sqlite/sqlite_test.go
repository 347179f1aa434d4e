package sqlite_test

import (
	"context"
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

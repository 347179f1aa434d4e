package postgres_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/store/postgres"
	"github.com/keyadm/keyadm/internal/store/storetest"
)

func TestMain(m *testing.M) {
	if os.Getenv(storetest.PostgresEnv) == "" {
		fmt.Fprintln(os.Stderr, storetest.PostgresSkipMessage)
	}
	os.Exit(m.Run())
}

func TestConformance(t *testing.T) {
	suite := &storetest.Suite{Open: func(t *testing.T, now func() time.Time) apikey.Store {
		db, err := postgres.Open(context.Background(), storetest.PostgresURL(t))
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

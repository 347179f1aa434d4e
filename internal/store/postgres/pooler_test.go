package postgres_test

import (
	"context"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/store/postgres"
	"github.com/keyadm/keyadm/internal/store/sqlstore"
	"github.com/keyadm/keyadm/internal/store/storetest"
)

// TestConformancePgbouncer runs the whole suite through pgbouncer in
// transaction pooling mode, migrations included, with nothing in the URL
// to say so: keyadm finds out itself.
func TestConformancePgbouncer(t *testing.T) {
	storetest.ClusterURLs(t)
	(&storetest.Suite{Open: func(t testing.TB, now func() time.Time) apikey.Store {
		return openMigrated(t, storetest.PooledURL(t), now)
	}}).RunTests(t)
}

// openMigrated opens the store at u with the clock now and migrates it.
func openMigrated(t testing.TB, u string, now func() time.Time) *sqlstore.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), u)
	return storetest.Migrated(t, db, err, now)
}

// TestPoolerDetected: through pgbouncer nothing is prepared on the server
// unless the URL names pgx's preparing mode itself; straight to the
// primary, the verify path's statements are prepared as before.
func TestPoolerDetected(t *testing.T) {
	primary, _, _ := storetest.ClusterURLs(t)
	pooled := storetest.PooledURL(t)
	cases := map[string]struct {
		url       string
		noPrepare bool
	}{
		"pgbouncer":                        {pooled, true},
		"pgbouncer, exec mode in the URL":  {withQuery(t, pooled, postgres.ExecModeOption, "exec"), true},
		"pgbouncer, cache_statement asked": {withQuery(t, pooled, postgres.ExecModeOption, "cache_statement"), false},
		"primary":                          {primary, false},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			db, err := postgres.Open(context.Background(), c.url)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if db.Dialect.NoPrepare != c.noPrepare {
				t.Fatalf("NoPrepare = %v, want %v", db.Dialect.NoPrepare, c.noPrepare)
			}
		})
	}
}

// TestPgbouncerLeftovers: pgbouncer in transaction mode hands server
// connections on with whatever statements an earlier client prepared on
// them (pgx's default mode, an older keyadm): keyadm, pooled, neither
// prepares nor trips over them, from its first statement on.
func TestPgbouncerLeftovers(t *testing.T) {
	storetest.ClusterURLs(t)
	u := storetest.PooledURL(t)
	ctx := context.Background()
	preparing := openMigrated(t, withQuery(t, u, postgres.ExecModeOption, "cache_statement"), time.Now)
	var port int
	if err := preparing.RW.QueryRowContext(ctx, `SELECT inet_server_port()`).Scan(&port); err != nil { // what detection asks
		t.Fatal(err)
	}
	exercise(t, &apikey.Service{Store: preparing})
	preparing.Close()

	pooled := openMigrated(t, u, time.Now)
	exercise(t, &apikey.Service{Store: pooled})
}

// exercise creates, lists, verifies and revokes a key.
func exercise(t *testing.T, svc *apikey.Service) {
	t.Helper()
	ctx := context.Background()
	c, err := svc.Create(ctx, apikey.CreateInput{Name: "k", Actor: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.List(ctx, apikey.ListInput{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Verify(ctx, "", c.Secret.String()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Revoke(ctx, "", []string{c.Key.ID}, "test", "tester"); err != nil {
		t.Fatal(err)
	}
}

// TestServerPathThroughPgbouncer: what serve does, the verify statements
// prepared once and then run by many requests at once, works through
// pgbouncer, where consecutive transactions of one client connection land
// on different server connections.
func TestServerPathThroughPgbouncer(t *testing.T) {
	storetest.ClusterURLs(t)
	db := openMigrated(t, storetest.PooledURL(t), time.Now)
	svc := &apikey.Service{Store: db}
	ctx := context.Background()
	var secrets []string
	for range 4 {
		c, err := svc.Create(ctx, apikey.CreateInput{Name: "k", Actor: "tester"})
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, c.Secret.String())
	}
	if err := db.PrepareHot(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 25 {
				if _, _, err := svc.Verify(ctx, "", secrets[(i+j)%len(secrets)]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("verify through pgbouncer: %v", err)
	}
}

func withQuery(t *testing.T, raw, name, value string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set(name, value)
	u.RawQuery = q.Encode()
	return u.String()
}

package store

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/store/sqlstore"
	"github.com/keyadm/keyadm/internal/store/storetest"
)

// engines open a fresh, migrated store of each engine.
var engines = map[string]func(t *testing.T) string{
	"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "keyadm.db") },
	"postgres": func(t *testing.T) string { return storetest.PostgresURL(t) },
}

func openMigrated(t *testing.T, u string) DB {
	t.Helper()
	db, err := Open(context.Background(), u, Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestCopyTablesMatchSchema: the tables db copy moves, and those it leaves
// to each database, are exactly the tables the migrations make, on both
// engines, so a new migration's table cannot be left out of copies.
func TestCopyTablesMatchSchema(t *testing.T) {
	for engine, url := range engines {
		t.Run(engine, func(t *testing.T) {
			db := openMigrated(t, url(t))
			have, err := db.(sqlDB).Tables(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if want := slices.Sorted(slices.Values(slices.Concat(sqlstore.CopyTables, sqlstore.LocalTables))); !slices.Equal(have, want) {
				t.Errorf("schema has tables %v; sqlstore.CopyTables and LocalTables have %v: add the new table to CopyTables, parents first", have, want)
			}
		})
	}
}

// seedStore makes n keys with real secrets (every tenth revoked, every
// tenth but seven disabled, every tenth but five inheriting from a
// registered owner; one tenant with a setting, a user and a disabled team)
// and returns the secrets.
func seedStore(t *testing.T, db DB, n int) []apikey.Secret {
	t.Helper()
	ctx := context.Background()
	secrets := make([]apikey.Secret, n)
	err := storetest.Seed(ctx, db, n, func(i int, k *apikey.Key, _ []byte) []byte {
		s, err := apikey.GenerateSecret(rand.Reader, "qapi")
		if err != nil {
			t.Fatal(err)
		}
		secrets[i] = s
		k.Hint, k.Metadata = s.Hint(), map[string]string{"i": "x"}
		at := k.CreatedAt
		switch i % 10 {
		case 0:
			k.RevokedAt = &at
		case 5:
			k.OwnerID, k.Permissions = &seedOwner, []string{}
		case 7:
			k.DisabledAt = &at
		}
		return s.Hash()
	})
	if err != nil {
		t.Fatal(err)
	}
	svc := &apikey.Service{Store: db}
	if _, err := svc.SetConfig(ctx, "acme", "max_keys_per_user", "5", "tester"); err != nil {
		t.Fatal(err)
	}
	name, email := "Alice", "alice@example.com"
	if _, err := svc.AddPrincipal(ctx, apikey.KindUser, "", seedOwner,
		apikey.PrincipalInput{Name: &name, Email: &email, Permissions: []string{"read", "write"}, Actor: "tester"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddPrincipal(ctx, apikey.KindTeam, "", "ops", apikey.PrincipalInput{Permissions: []string{"read"}, Actor: "tester"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetPrincipalEnabled(ctx, apikey.KindTeam, "", "ops", false, "tester"); err != nil {
		t.Fatal(err)
	}
	// A usage count and a rate-limit state, so their tables move too.
	k, _, err := svc.Check(ctx, secrets[1].String())
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.RecordActivity(ctx, apikey.Activity{Counts: []apikey.UsageCount{{KeyID: k.ID, TenantID: k.TenantID, Hour: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Outcome: "valid", Count: 3}}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(ctx, func(tx apikey.Tx) error {
		_, err := tx.TakeRate("k:"+k.ID, apikey.Rate{Limit: 1, Per: time.Minute}, tx.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return secrets
}

// seedOwner is the registered user whose permissions seedStore's
// inheriting keys take.
var seedOwner = "alice"

// seedEvents is how many audit events seedStore writes: a setting, two
// principals added and one disabled.
const seedEvents = 4

// checkVerifies: every key verifies on db as it did on the source:
// revoked and disabled ones are rejected, the others accepted, those that
// inherit with their registered owner's permissions.
func checkVerifies(t *testing.T, db DB, secrets []apikey.Secret) {
	t.Helper()
	svc := &apikey.Service{Store: db}
	for i, s := range secrets {
		k, _, err := svc.Check(context.Background(), s.String())
		if refused := i%10 == 0 || i%10 == 7; refused != (apikey.ErrorCode(err) == apikey.EREJECTED) || (!refused && err != nil) {
			t.Fatalf("key %d (refused %v) on %s: %v", i, refused, db.Engine(), err)
		}
		if want := []string{"read", "write"}; i%10 == 5 && !slices.Equal(k.Effective, want) {
			t.Fatalf("key %d on %s may %v, want its owner's %v", i, db.Engine(), k.Effective, want)
		}
	}
}

// checkPrincipals: the user and the team seedStore registered are on db
// as they were made, the team still disabled.
func checkPrincipals(t *testing.T, db DB) {
	t.Helper()
	svc := &apikey.Service{Store: db}
	u, _, err := svc.GetPrincipal(context.Background(), apikey.KindUser, "", seedOwner)
	if err != nil || *u.Name != "Alice" || *u.Email != "alice@example.com" || !u.Enabled || !slices.Equal(u.Permissions, []string{"read", "write"}) {
		t.Errorf("%s: user %s is %+v, %v", db.Engine(), seedOwner, u, err)
	}
	team, _, err := svc.GetPrincipal(context.Background(), apikey.KindTeam, "", "ops")
	if err != nil || team.Enabled || !slices.Equal(team.Permissions, []string{"read"}) || team.Name != nil {
		t.Errorf("%s: team ops is %+v, %v", db.Engine(), team, err)
	}
}

func mustCopy(t *testing.T, src, dst DB, opts CopyOptions) []TableCount {
	t.Helper()
	counts, err := Copy(context.Background(), src, dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	return counts
}

// TestCopy: SQLite to PostgreSQL and back, with the row counts, every
// key verifying on each target, and new rows numbered past the copied ones.
func TestCopy(t *testing.T) {
	ctx := context.Background()
	const n = 2000 // more than one batch
	src := openMigrated(t, engines["sqlite"](t))
	secrets := seedStore(t, src, n)
	pg := openMigrated(t, engines["postgres"](t))
	back := openMigrated(t, engines["sqlite"](t))
	want := []TableCount{{Table: "principals", Rows: 2}, {Table: "api_keys", Rows: n},
		{Table: "tenant_config", Rows: 1}, {Table: "audit_events", Rows: seedEvents},
		{Table: "key_usage", Rows: 1}, {Table: "rate_limit_state", Rows: 1}}
	total := int64(n + 5 + seedEvents)
	var started int64
	var progressed int
	opts := CopyOptions{Start: func(total int64) { started = total }, Progress: func(rows int) { progressed += rows }}
	if got := mustCopy(t, src, pg, opts); !slices.Equal(got, want) {
		t.Errorf("sqlite to postgres copied %v, want %v", got, want)
	}
	if started != total || int64(progressed) != total {
		t.Errorf("progress: started %d, progressed %d, want %d", started, progressed, total)
	}
	checkVerifies(t, pg, secrets)
	checkPrincipals(t, pg)
	if got := mustCopy(t, pg, back, CopyOptions{}); !slices.Equal(got, want) {
		t.Errorf("postgres to sqlite copied %v, want %v", got, want)
	}
	checkVerifies(t, back, secrets)
	checkPrincipals(t, back)
	for _, db := range []DB{pg, back} {
		svc := &apikey.Service{Store: db}
		cfg, err := svc.Config(ctx, "acme")
		if err != nil || cfg.MaxKeysPerUser() != 5 {
			t.Errorf("%s: acme's config %+v, %v", db.Engine(), cfg, err)
		}
		var usage []apikey.UsageCount
		err = svc.Usage(ctx, apikey.UsageQuery{}, func(c apikey.UsageCount) error { usage = append(usage, c); return nil })
		if err != nil || len(usage) != 1 || usage[0].Count != 3 || !usage[0].Hour.Equal(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) {
			t.Errorf("%s: usage %+v, %v", db.Engine(), usage, err)
		}
		// The copied event keeps its id; the next one gets a new one.
		if _, err := svc.SetConfig(ctx, "acme", "max_keys_per_user", "6", "tester"); err != nil {
			t.Errorf("%s: a new event after the copy: %v", db.Engine(), err)
		}
		got, _, err := svc.Get(ctx, "", secretsKeyID(t, db, secrets[3]))
		if err != nil || got.Metadata["i"] != "x" || got.Hint != secrets[3].Hint() {
			t.Errorf("%s: key 3 is %+v, %v", db.Engine(), got, err)
		}
	}
}

func secretsKeyID(t *testing.T, db DB, s apikey.Secret) string {
	t.Helper()
	k, _, err := (&apikey.Service{Store: db}).Check(context.Background(), s.String())
	if err != nil {
		t.Fatal(err)
	}
	return k.ID
}

// TestCopyInterrupted: a copy cancelled after its first batch leaves the
// target as it was, empty, in both directions.
func TestCopyInterrupted(t *testing.T) {
	for from, to := range map[string]string{"sqlite": "postgres", "postgres": "sqlite"} {
		t.Run(from+" to "+to, func(t *testing.T) {
			src := openMigrated(t, engines[from](t))
			seedStore(t, src, 2000)
			dst := openMigrated(t, engines[to](t))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			copied := 0
			_, err := Copy(ctx, src, dst, CopyOptions{Progress: func(rows int) { copied += rows; cancel() }})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("interrupted copy: %v, want context.Canceled", err)
			}
			if copied == 0 || copied >= 2000 {
				t.Errorf("cancelled after %d rows, want within the keys", copied)
			}
			assertEmpty(t, dst)
		})
	}
}

func assertEmpty(t *testing.T, db DB) {
	t.Helper()
	for _, table := range sqlstore.CopyTables {
		var n int
		if err := db.(sqlDB).RW.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s %s: %d rows, %v; want empty", db.Engine(), table, n, err)
		}
	}
}

// TestCopyNonEmptyTarget: a target with rows is refused, as invalid input
// with nothing written, unless forced; forced, its rows are replaced.
func TestCopyNonEmptyTarget(t *testing.T) {
	for engine, url := range engines {
		t.Run(engine, func(t *testing.T) {
			src := openMigrated(t, engines["sqlite"](t))
			secrets := seedStore(t, src, 20)
			dst := openMigrated(t, url(t))
			old := seedStore(t, dst, 3)
			_, err := Copy(context.Background(), src, dst, CopyOptions{})
			if apikey.ErrorCode(err) != apikey.EINVALID {
				t.Fatalf("copy to a non-empty target: %v, want invalid", err)
			}
			checkVerifies(t, dst, old)
			mustCopy(t, src, dst, CopyOptions{Force: true})
			checkVerifies(t, dst, secrets)
			checkPrincipals(t, dst)
			if _, _, err := (&apikey.Service{Store: dst}).Check(context.Background(), old[1].String()); apikey.ErrorCode(err) != apikey.EREJECTED {
				t.Errorf("a key of the replaced rows still verifies: %v", err)
			}
		})
	}
}

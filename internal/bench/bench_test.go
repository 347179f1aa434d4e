package bench

import (
	"context"
	"crypto/sha256"
	"fmt"
	neturl "net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/store"
	"github.com/keyadm/keyadm/internal/store/sqlstore"
	"github.com/keyadm/keyadm/internal/store/storetest"
)

// Tenants is how many tenants the seeded keys spread over.
const Tenants = 100

// knownSecrets is how many seeded keys have a secret the benchmarks know.
const knownSecrets = 1000

var (
	tmpDir string
	mu     sync.Mutex
	dbs    = map[string]*seeded{}
)

// seeded is a database filled once per run and shared by benchmarks that
// only read it.
type seeded struct {
	db          *sqlstore.DB
	url, schema string // how a process reaches the same data
	secrets     []string
	took        time.Duration
	n           int
	analysed    bool
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "keyadm-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tmpDir = dir
	// The machine may be shared: say how loaded it was (BENCHMARKS.md).
	fmt.Printf("load average at start: %s\n", loadAverage())
	code := m.Run()
	fmt.Printf("load average at end: %s\n", loadAverage())
	for _, s := range dbs {
		s.db.Close()
	}
	for _, drop := range drops {
		drop()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// engines are the databases to measure: SQLite always, PostgreSQL when
// KEYADM_TEST_POSTGRES names a server.
func engines() []string {
	if os.Getenv(storetest.PostgresEnv) != "" {
		return []string{"sqlite", "postgres"}
	}
	return []string{"sqlite"}
}

// sizes are the key counts the cost-growth figures cover; KEYADM_BENCH_MAX
// caps them (for a quick run).
func sizes() []int {
	all := []int{10_000, 100_000, 1_000_000}
	if s := os.Getenv("KEYADM_BENCH_MAX"); s != "" {
		var max int
		fmt.Sscan(s, &max)
		var out []int
		for _, n := range all {
			if n <= max {
				out = append(out, n)
			}
		}
		return out
	}
	return all
}

// open returns a new, empty, migrated database of the engine, and its URL.
func open(b *testing.B, engine, name string) (*sqlstore.DB, string) {
	var url string
	switch engine {
	case "sqlite":
		url = filepath.Join(tmpDir, name+".db")
	case "postgres":
		u, drop, err := storetest.NewSchema(pgBase())
		if err != nil {
			b.Fatal(err)
		}
		drops = append(drops, drop)
		url = u
	}
	return openURL(b, url), url
}

// openURL opens the store at url, migrated, with its hot statements
// prepared, as `keyadm serve` starts: a new process prepares on the
// statistics the database has at that moment.
func openURL(b *testing.B, url string) *sqlstore.DB {
	db, err := store.OpenSQL(context.Background(), url, store.Options{Migrate: true})
	if err != nil {
		b.Fatal(err)
	}
	if err := db.PrepareHot(context.Background()); err != nil {
		b.Fatal(err)
	}
	return db
}

// drops remove the PostgreSQL schemas a run made.
var drops []func()

func pgBase() string { return os.Getenv(storetest.PostgresEnv) }

// seed returns the shared database of n keys across Tenants tenants,
// created over the past year, a third of them used in the past 30 days, a
// tenth revoked; knownSecrets of them have secrets the benchmark knows.
func seed(b *testing.B, engine string, n int) *seeded {
	mu.Lock()
	defer mu.Unlock()
	name := fmt.Sprintf("%s-%d", engine, n)
	if s := dbs[name]; s != nil {
		return s
	}
	b.Logf("seeding %d keys on %s…", n, engine)
	db, url := open(b, engine, name)
	now := time.Now().UTC().Truncate(time.Microsecond)
	s := &seeded{db: db, url: url, n: n}
	if u, err := neturl.Parse(url); err == nil {
		s.schema = u.Query().Get("search_path")
	}
	for range knownSecrets {
		sec, err := apikey.GenerateSecret(nil, "qapi")
		if err != nil {
			b.Fatal(err)
		}
		s.secrets = append(s.secrets, sec.String())
	}
	start := time.Now()
	err := storetest.Seed(context.Background(), db, n, func(i int, k *apikey.Key, hash []byte) []byte {
		k.TenantID = fmt.Sprintf("tenant-%03d", i%Tenants)
		k.CreatedAt = now.Add(-time.Duration(n-i) * (365 * apikey.Day / time.Duration(n)))
		k.UpdatedAt = k.CreatedAt
		if i%3 == 0 {
			used := now.Add(-time.Duration(i%30) * apikey.Day)
			k.LastUsedAt = &used
		}
		if i%10 == 9 {
			k.RevokedAt = &now
		}
		if i < knownSecrets {
			k.TenantID = "tenant-000"
			k.RevokedAt = nil
			return apikey.HashKey(s.secrets[i])
		}
		return hash
	})
	if err != nil {
		b.Fatal(err)
	}
	s.took = time.Since(start)
	b.Logf("seeded %d keys on %s in %v", n, engine, s.took.Round(time.Millisecond))
	if err := seedEvents(db, n/10); err != nil {
		b.Fatal(err)
	}
	dbs[name] = s
	return s
}

// analysed returns the shared database of n keys after ANALYZE, reopened
// so that its statements are prepared on the statistics: a database in
// service has them (autovacuum on PostgreSQL, ANALYZE or PRAGMA optimize
// on SQLite), and preparing before ANALYZE hid the cost of SQLite's STAT4
// re-prepare (issue 17).
func analysed(b *testing.B, engine string, n int) *seeded {
	s := seed(b, engine, n)
	mu.Lock()
	defer mu.Unlock()
	if s.analysed {
		return s
	}
	if _, err := s.db.RW.Exec(`ANALYZE`); err != nil {
		b.Fatal(err)
	}
	s.db.Close()
	s.db = openURL(b, s.url)
	s.analysed = true
	return s
}

// seedEvents appends n audit events, for the export benchmarks.
func seedEvents(db *sqlstore.DB, n int) error {
	for start := 0; start < n; start += 10_000 {
		err := db.Update(context.Background(), func(tx apikey.Tx) error {
			for i := start; i < min(start+10_000, n); i++ {
				id := fmt.Sprintf("0193f5c4-5a4e-7c1a-9d3b-%012d", i)
				e := &apikey.AuditEvent{Time: tx.Now(), Actor: "bench", Action: apikey.ActionKeyUpdate, TenantID: "tenant-000",
					KeyID: &id, Details: map[string]any{"changes": map[string]any{"name": map[string]any{"old": "a", "new": "b"}}}}
				if err := tx.AppendEvent(e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkSeed reports how long seeding took, per engine and size.
func BenchmarkSeed(b *testing.B) {
	for _, engine := range engines() {
		for _, n := range sizes() {
			b.Run(fmt.Sprintf("%s/%d", engine, n), func(b *testing.B) {
				s := seed(b, engine, n)
				for range b.N {
				}
				b.ReportMetric(s.took.Seconds(), "seed-s")
				b.ReportMetric(float64(n)/s.took.Seconds(), "keys/s")
			})
		}
	}
}

// BenchmarkVerify: keyadm's verify paths next to the floor, SHA-256 plus
// the one indexed SELECT on the same database, prepared on the same
// statistics. "check" is what `keyadm serve` does per request (last use
// coalesced); "verify" is the CLI's, which also writes the last use, a
// committed transaction per call. Each size runs first on the database as
// seeded (fresh-*, no statistics), then after ANALYZE. floor-bare is the
// floor's query with a bare ? instead of +?: on SQLite with STAT4 samples,
// the statement is re-prepared on every call (what keyadm's queries avoid).
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	for _, engine := range engines() {
		for _, n := range sizes() {
			if s := seed(b, engine, n); !s.analysed {
				benchVerify(b, ctx, s, fmt.Sprintf("%s/%d/fresh-", engine, n), false)
			}
			s := analysed(b, engine, n)
			benchVerify(b, ctx, s, fmt.Sprintf("%s/%d/", engine, n), true)
		}
	}
}

func benchVerify(b *testing.B, ctx context.Context, s *seeded, prefix string, all bool) {
	svc := &apikey.Service{Store: s.db}
	floorLoop := func(query string) func(b *testing.B) {
		return func(b *testing.B) {
			floor, err := s.db.RO.PrepareContext(ctx, s.db.Dialect.Rebind(query))
			if err != nil {
				b.Fatal(err)
			}
			defer floor.Close()
			for i := range b.N {
				h := sha256.Sum256([]byte(s.secrets[i%knownSecrets]))
				var id string
				if err := floor.QueryRowContext(ctx, h[:]).Scan(&id); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.Run(prefix+"floor", floorLoop(`SELECT id FROM api_keys WHERE key_hash = +?`))
	b.Run(prefix+"check", func(b *testing.B) {
		for i := range b.N {
			if _, _, err := svc.Check(ctx, s.secrets[i%knownSecrets]); err != nil {
				b.Fatal(err)
			}
		}
	})
	if !all {
		return
	}
	b.Run(prefix+"floor-bare", floorLoop(`SELECT id FROM api_keys WHERE key_hash = ?`))
	b.Run(prefix+"verify", func(b *testing.B) {
		for i := range b.N {
			if _, _, err := svc.Verify(ctx, "", s.secrets[i%knownSecrets]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkList: the first page of 20, newest first, in one tenant, as
// `keyadm list` asks for it, with and without filters.
func BenchmarkList(b *testing.B) {
	ctx := context.Background()
	ninety := 90 * apikey.Day
	cases := []struct {
		name string
		in   apikey.ListInput
	}{
		{"newest", apikey.ListInput{}},
		{"active", apikey.ListInput{Filter: apikey.KeyFilter{Status: apikey.StatusActive}}},
		{"unused90d", apikey.ListInput{UnusedFor: &ninety}},
		{"byName", apikey.ListInput{Sort: apikey.Sort{Field: apikey.SortName}}},
	}
	for _, engine := range engines() {
		for _, n := range sizes() {
			s := analysed(b, engine, n)
			svc := &apikey.Service{Store: s.db}
			for _, c := range cases {
				b.Run(fmt.Sprintf("%s/%d/%s", engine, n, c.name), func(b *testing.B) {
					in := c.in
					in.Filter.TenantID = "tenant-042"
					in.Limit = 20
					for range b.N {
						p, err := svc.List(ctx, in)
						if err != nil {
							b.Fatal(err)
						}
						if len(p.Keys) != 20 {
							b.Fatalf("%d keys on the first page", len(p.Keys))
						}
					}
				})
			}
		}
	}
}

// BenchmarkSweep: `revoke --unused-for 90d` over 100,000 stale keys. Each
// iteration seeds a fresh database (not timed) and sweeps it.
func BenchmarkSweep(b *testing.B) {
	ctx := context.Background()
	const n = 100_000
	for _, engine := range engines() {
		b.Run(fmt.Sprintf("%s/%d", engine, n), func(b *testing.B) {
			for i := range b.N {
				b.StopTimer()
				db, _ := open(b, engine, fmt.Sprintf("sweep-%s-%d", engine, i))
				old := time.Now().Add(-200 * apikey.Day)
				db.Now = func() time.Time { return old }
				if err := storetest.Seed(ctx, db, n, nil); err != nil {
					b.Fatal(err)
				}
				db.Now = nil
				svc := &apikey.Service{Store: db}
				b.StartTimer()
				got, err := svc.RevokeStale(ctx, apikey.SweepInput{UnusedFor: 90 * apikey.Day, Actor: "bench"})
				b.StopTimer()
				if err != nil || got != n {
					b.Fatalf("revoked %d of %d: %v", got, n, err)
				}
				db.Close()
			}
		})
	}
}

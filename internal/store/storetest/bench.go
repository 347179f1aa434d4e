package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/store/sqlstore"
)

// BenchTenants is how many tenants the seeded keys spread over.
const BenchTenants = 100

// KnownSecrets is how many seeded keys have a secret the benchmarks know.
const KnownSecrets = 1000

// sweepKeys is how many stale keys BenchmarkSweep revokes.
const sweepKeys = 100_000

// BenchSizes are the key counts the cost-growth figures cover;
// KEYADM_BENCH_MAX caps them (for a quick run), and a cap below the
// smallest is itself the one size.
func BenchSizes() []int {
	all := []int{10_000, 100_000, 1_000_000}
	s := os.Getenv("KEYADM_BENCH_MAX")
	if s == "" {
		return all
	}
	var max int
	fmt.Sscan(s, &max)
	var out []int
	for _, n := range all {
		if n <= max {
			out = append(out, n)
		}
	}
	if len(out) == 0 && max > 0 {
		out = []int{max}
	}
	return out
}

// SeedTenants inserts n keys across BenchTenants tenants, created over the
// year before now, a third of them used in the past 30 days, a tenth
// revoked; the first KnownSecrets (or n, if fewer) are active keys of
// tenant-000 whose secrets it returns.
func SeedTenants(ctx context.Context, st apikey.Store, n int, now time.Time) ([]string, error) {
	secrets := make([]string, min(n, KnownSecrets))
	for i := range secrets {
		sec, err := apikey.GenerateSecret(nil, "qapi")
		if err != nil {
			return nil, err
		}
		secrets[i] = sec.String()
	}
	err := Seed(ctx, st, n, func(i int, k *apikey.Key, hash []byte) []byte {
		k.TenantID = fmt.Sprintf("tenant-%03d", i%BenchTenants)
		k.CreatedAt = now.Add(-time.Duration(n-i) * (365 * apikey.Day / time.Duration(n)))
		k.UpdatedAt = k.CreatedAt
		if i%3 == 0 {
			used := now.Add(-time.Duration(i%30) * apikey.Day)
			k.LastUsedAt = &used
		}
		if i%10 == 9 {
			k.RevokedAt = &now
		}
		if i < len(secrets) {
			k.TenantID = "tenant-000"
			k.RevokedAt = nil
			return apikey.HashKey(secrets[i])
		}
		return hash
	})
	return secrets, err
}

// RunBenchmarks runs every Benchmark method of the suite as a
// sub-benchmark (as restic's backend suite does), so every engine is
// measured by the same code.
func (s *Suite) RunBenchmarks(b *testing.B) { runMethods(s, "Benchmark", b) }

// benchStore is a fresh store from the suite's factory, seeded with
// SeedTenants.
type benchStore struct {
	ctx     context.Context
	n       int
	svc     *apikey.Service
	secrets []string
}

// seeded opens a fresh store, seeds n keys (untimed), then gathers the
// planner's statistics and prepares the hot statements, as a database in
// service has them and as `keyadm serve` starts on it.
func (s *Suite) seeded(b *testing.B, n int) *benchStore {
	b.Helper()
	ctx := context.Background()
	clock := NewClock()
	st := s.Open(b, clock.Now)
	secrets, err := SeedTenants(ctx, st, n, clock.Now())
	if err != nil {
		b.Fatal(err)
	}
	if db, ok := st.(*sqlstore.DB); ok {
		if _, err := db.RW.ExecContext(ctx, `ANALYZE`); err != nil {
			b.Fatal(err)
		}
		if err := db.PrepareHot(ctx); err != nil {
			b.Fatal(err)
		}
	}
	return &benchStore{ctx: ctx, n: n, svc: &apikey.Service{Store: st}, secrets: secrets}
}

// eachSize runs bench as a sub-benchmark per BenchSizes, each on its own
// seeded store, opened once however many times the sub-benchmark runs.
func (s *Suite) eachSize(b *testing.B, bench func(b *testing.B, st *benchStore)) {
	for _, n := range BenchSizes() {
		st := s.seeded(b, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) { bench(b, st) })
	}
}

// BenchmarkCheck: the server's verify path (one read, last use coalesced)
// over known secrets.
func (s *Suite) BenchmarkCheck(b *testing.B) {
	s.eachSize(b, func(b *testing.B, st *benchStore) {
		for i := range b.N {
			if _, _, err := st.svc.Check(st.ctx, st.secrets[i%len(st.secrets)]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkVerify: the CLI's verify path, which also writes the last use: a
// committed transaction per call.
func (s *Suite) BenchmarkVerify(b *testing.B) {
	s.eachSize(b, func(b *testing.B, st *benchStore) {
		for i := range b.N {
			if _, _, err := st.svc.Verify(st.ctx, "", st.secrets[i%len(st.secrets)]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCreate: one key into tenant-000 of the seeded store (its quota
// counts the tenant's active keys).
func (s *Suite) BenchmarkCreate(b *testing.B) {
	s.eachSize(b, func(b *testing.B, st *benchStore) {
		for i := range b.N {
			in := apikey.CreateInput{TenantID: "tenant-000", Name: fmt.Sprintf("bench-%d", i), Actor: "bench"}
			if _, err := st.svc.Create(st.ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkList: the first page of 20, newest first, in one tenant, as
// `keyadm list` asks for it, with and without filters.
func (s *Suite) BenchmarkList(b *testing.B) {
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
	s.eachSize(b, func(b *testing.B, st *benchStore) {
		for _, c := range cases {
			b.Run(c.name, func(b *testing.B) {
				in := c.in
				in.Filter.TenantID = "tenant-042"
				in.Limit = 20
				for range b.N {
					p, err := st.svc.List(st.ctx, in)
					if err != nil {
						b.Fatal(err)
					}
					// A quick run's tenants may hold fewer than a page.
					if len(p.Keys) != 20 && (st.n >= 10_000 || len(p.Keys) == 0) {
						b.Fatalf("%d keys on the first page", len(p.Keys))
					}
				}
			})
		}
	})
}

// BenchmarkSweep: `revoke --unused-for 90d` over 100,000 stale keys (fewer
// under KEYADM_BENCH_MAX). Each iteration seeds a fresh store (not timed)
// and sweeps it.
func (s *Suite) BenchmarkSweep(b *testing.B) {
	n := min(sweepKeys, BenchSizes()[len(BenchSizes())-1])
	b.Run(fmt.Sprint(n), func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			clock := NewClock()
			st := s.Open(b, clock.Now)
			if err := Seed(context.Background(), st, n, nil); err != nil {
				b.Fatal(err)
			}
			clock.Advance(200 * apikey.Day)
			svc := &apikey.Service{Store: st}
			b.StartTimer()
			got, err := svc.RevokeStale(context.Background(), apikey.SweepInput{UnusedFor: 90 * apikey.Day, Actor: "bench"})
			b.StopTimer()
			if err != nil || got != n {
				b.Fatalf("revoked %d of %d: %v", got, n, err)
			}
		}
	})
}

// flushBatch is how many keys a batch of BenchmarkFlush writes: 100, as
// serve's flush did when BENCHMARKS.md's figures were taken (it writes
// 500 now, server.activityBatch), so that they stay comparable.
const flushBatch = 100

// BenchmarkFlush: one transaction of serve's flush, a batch of 100 keys
// picked at random across the store, each with a last use and a valid
// count (RecordActivity); ns/key is the time a key a flush writes takes,
// cpu-ns/key the CPU it takes (the process's, all threads: what serve's
// requests lose to it).
func (s *Suite) BenchmarkFlush(b *testing.B) {
	s.eachSize(b, func(b *testing.B, st *benchStore) {
		ids := st.ids(b)
		rng := rand.New(rand.NewPCG(1, 2))
		at := time.Now()
		cpu0 := cpuTime()
		b.ResetTimer()
		for range b.N {
			if err := st.svc.RecordActivity(st.ctx, randomBatch(rng, ids, at)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*flushBatch), "ns/key")
		b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*flushBatch), "cpu-ns/key")
	})
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ids are the ids of every key of the store.
func (st *benchStore) ids(b *testing.B) []string {
	var ids []string
	err := st.svc.Store.View(st.ctx, func(tx apikey.Tx) error {
		return tx.EachKey(apikey.ListQuery{Now: time.Now()}, func(k *apikey.Key) error {
			ids = append(ids, k.ID)
			return nil
		})
	})
	if err != nil || len(ids) != st.n {
		b.Fatalf("%d keys of %d: %v", len(ids), st.n, err)
	}
	return ids
}

// randomBatch is a flush's batch of flushBatch keys of ids picked at
// random, each with a last use and a valid count at at.
func randomBatch(rng *rand.Rand, ids []string, at time.Time) apikey.Activity {
	a := apikey.Activity{Uses: make(map[string]time.Time, flushBatch)}
	for range flushBatch {
		id := ids[rng.IntN(len(ids))]
		a.Uses[id] = at
		a.Counts = append(a.Counts, apikey.UsageCount{KeyID: id, TenantID: "t", Hour: at, Outcome: apikey.OutcomeValid, Count: 1})
	}
	return a
}

// BenchmarkCheckDuringFlush: BenchmarkCheck on four goroutines (serve's
// read pool has four connections), quiet, then while serve's flush writes
// a batch of 100 random keys every 50 ms (about its pace after a busy
// minute of 100,000 keys): each commit empties the readers' page caches,
// which then read their pages again.
func (s *Suite) BenchmarkCheckDuringFlush(b *testing.B) {
	s.eachSize(b, func(b *testing.B, st *benchStore) {
		ids := st.ids(b)
		for _, flushing := range []bool{false, true} {
			b.Run(map[bool]string{false: "quiet", true: "flushing"}[flushing], func(b *testing.B) {
				ctx, stop := context.WithCancel(st.ctx)
				done := make(chan int)
				go func() {
					batches := 0
					defer func() { done <- batches }()
					rng := rand.New(rand.NewPCG(3, 4))
					t := time.NewTicker(50 * time.Millisecond)
					defer t.Stop()
					for flushing {
						select {
						case <-ctx.Done():
							return
						case <-t.C:
						}
						if err := st.svc.RecordActivity(st.ctx, randomBatch(rng, ids, time.Now())); err != nil {
							b.Error(err)
							return
						}
						batches++
					}
				}()
				b.SetParallelism(2) // 2 × GOMAXPROCS goroutines: 4 on 2 cores
				b.RunParallel(func(pb *testing.PB) {
					for i := 0; pb.Next(); i++ {
						if _, _, err := st.svc.Check(st.ctx, st.secrets[i%len(st.secrets)]); err != nil {
							b.Error(err)
							return
						}
					}
				})
				stop()
				b.ReportMetric(float64(<-done)/b.Elapsed().Seconds(), "flushes/s")
			})
		}
	})
}

package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/keyadm/keyadm/internal/store/storetest"
)

// keyadmBin is the built binary (`make bench` passes it); process
// benchmarks skip without it.
func keyadmBin(b *testing.B) string {
	bin := os.Getenv("KEYADM_BIN")
	if bin == "" {
		b.Skip("set KEYADM_BIN to a built keyadm (make bench does) to time whole processes")
	}
	return bin
}

func runProcess(b *testing.B, name string, args ...string) time.Duration {
	b.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "HOME="+tmpDir)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		b.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return took
}

// runPaired runs the keyadm process and its floor in turn, b.N times each,
// and reports their median wall times (ms, floor-ms) and the median of the
// pairs' ratios: on a shared machine the load drifts during a run, and a
// ratio taken pair by pair follows it where two separate loops would not.
func runPaired(b *testing.B, keyadm, floor []string) {
	b.Helper()
	var a, f, ratio []float64
	for range b.N {
		ta := runProcess(b, keyadm[0], keyadm[1:]...).Seconds() * 1000
		tf := runProcess(b, floor[0], floor[1:]...).Seconds() * 1000
		a, f, ratio = append(a, ta), append(f, tf), append(ratio, ta/tf)
	}
	b.ReportMetric(median(a), "ms")
	b.ReportMetric(median(f), "floor-ms")
	b.ReportMetric(median(ratio), "ratio")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// BenchmarkColdStart: `keyadm version` and `keyadm --help`, which must not
// open a database or read more than they need, each paired with the
// floor, a Go hello world built here the way keyadm is built. "stack" is
// the same pairing for hello world linked with the libraries the design
// card fixes (testdata/stack): the part of keyadm's start that no change
// of keyadm's own removes.
func BenchmarkColdStart(b *testing.B) {
	bin := keyadmBin(b)
	hello := tool(b, "hello")
	b.Run("version", func(b *testing.B) { runPaired(b, []string{bin, "version"}, []string{hello}) })
	b.Run("help", func(b *testing.B) { runPaired(b, []string{bin, "--help"}, []string{hello}) })
	stack := tool(b, "stack")
	b.Run("stack", func(b *testing.B) { runPaired(b, []string{stack}, []string{hello}) })
}

// BenchmarkListProcess: the whole `keyadm list --limit 20` process paired
// with the engine's own shell running the query keyadm runs (the same
// columns and index: keyadm --debug shows its SQL) on the same data.
func BenchmarkListProcess(b *testing.B) {
	bin := keyadmBin(b)
	for _, engine := range engines() {
		for _, n := range storetest.BenchSizes() {
			s := analysed(b, engine, n)
			var url, shell string
			var shellArgs []string
			query := `SELECT id, tenant_id, team_id, owner_id, name, description, permissions, hint, created_at, created_by,
				updated_at, expires_at, revoked_at, revoked_by, revoke_reason, last_used_at, metadata, rotated_from
				FROM api_keys WHERE tenant_id = 'tenant-042' ORDER BY created_at DESC, id DESC LIMIT 21`
			switch engine {
			case "sqlite":
				url = s.db.Location
				shell, shellArgs = "sqlite3", []string{url, query}
			case "postgres":
				url = s.url
				shell, shellArgs = "psql", []string{"-X", "-q", "-A", "-c", "SET search_path = " + s.schema + "; " + query, pgBase()}
			}
			b.Run(fmt.Sprintf("%s/%d", engine, n), func(b *testing.B) {
				if _, err := exec.LookPath(shell); err != nil {
					b.Skipf("%s not installed", shell)
				}
				runPaired(b, []string{bin, "--db", url, "list", "--tenant", "tenant-042", "--limit", "20"}, append([]string{shell}, shellArgs...))
			})
		}
	}
}

// BenchmarkExport: `keyadm list --all -o csv` and `keyadm audit -o json`
// stream: peak memory stays flat as the table grows (maxrss-MB).
func BenchmarkExport(b *testing.B) {
	bin := keyadmBin(b)
	for _, engine := range engines() {
		for _, n := range storetest.BenchSizes() {
			s := analysed(b, engine, n)
			for name, args := range map[string][]string{
				"list-csv":   {"list", "--all", "-o", "csv"},
				"audit-json": {"audit", "--limit", "0", "-o", "json"},
			} {
				b.Run(fmt.Sprintf("%s/%d/%s", engine, n, name), func(b *testing.B) {
					// GNU time measures the child alone: a child of this large
					// process would inherit its peak across fork.
					if _, err := exec.LookPath("/usr/bin/time"); err != nil {
						b.Skip("/usr/bin/time not installed")
					}
					var peak int64
					for range b.N {
						cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%M", bin, "--db", s.url}, args...)...)
						cmd.Stdout = io.Discard
						var errOut strings.Builder
						cmd.Stderr = &errOut
						if err := cmd.Run(); err != nil {
							b.Fatalf("%v: %s", err, errOut.String())
						}
						lines := strings.Fields(errOut.String())
						var kb int64
						fmt.Sscan(lines[len(lines)-1], &kb)
						peak = max(peak, kb)
					}
					b.ReportMetric(float64(peak)/1024, "maxrss-MB")
				})
			}
		}
	}
}

// BenchmarkSeedFloor: keyadm seeding n keys into a new database
// (storetest.SeedTenants, as BenchmarkSeed) and then the sqlite3 shell
// inserting rows shaped like them (same schema, same indexes, 500 rows per
// INSERT) in one transaction, with keyadm's writer page cache: seeding
// beside its floor, in turn, so both see the same machine. x-floor =
// keyadm's time ÷ the shell's (the goal of issue 17 is ≤ 1.5).
func BenchmarkSeedFloor(b *testing.B) {
	if _, err := exec.LookPath("sqlite3"); err != nil {
		b.Skip("sqlite3 not installed")
	}
	for _, n := range storetest.BenchSizes() {
		b.Run(fmt.Sprintf("sqlite/%d", n), func(b *testing.B) {
			sqlFile := filepath.Join(tmpDir, fmt.Sprintf("seed-floor-%d.sql", n))
			writeSeedSQL(b, sqlFile, n)
			var ours, shell time.Duration
			for i := range b.N {
				ours += seedOnce(b, fmt.Sprintf("seed-ours-%d-%d", n, i), n)
				shell += seedShell(b, fmt.Sprintf("seed-floor-%d-%d", n, i), sqlFile)
			}
			b.ReportMetric(ours.Seconds()/float64(b.N), "seed-s")
			b.ReportMetric(shell.Seconds()/float64(b.N), "shell-s")
			b.ReportMetric(ours.Seconds()/shell.Seconds(), "x-floor")
		})
	}
}

// seedOnce times keyadm seeding n keys into a new database, then removes it.
func seedOnce(b *testing.B, name string, n int) time.Duration {
	db, _ := open(b, "sqlite", name)
	defer os.Remove(db.Location)
	defer db.Close()
	start := time.Now()
	if _, err := storetest.SeedTenants(context.Background(), db, n, time.Now().UTC()); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// seedShell times the sqlite3 shell running sqlFile on a new, migrated
// database, then removes it.
func seedShell(b *testing.B, name, sqlFile string) time.Duration {
	db, _ := open(b, "sqlite", name)
	path := db.Location
	db.Close()
	defer os.Remove(path)
	in, err := os.Open(sqlFile)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	cmd := exec.Command("sqlite3", path)
	cmd.Stdin = in
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		b.Fatalf("sqlite3: %v\n%s", err, out)
	}
	return took
}

func writeSeedSQL(b *testing.B, name string, n int) {
	f, err := os.Create(name)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "PRAGMA synchronous=FULL;\nPRAGMA cache_size=-%d;\nBEGIN;\n", 64<<10)
	now := time.Now().UnixMicro()
	year := int64(365 * 24 * time.Hour / time.Microsecond)
	hash := make([]byte, 32)
	for i := range n {
		if i%500 == 0 {
			if i > 0 {
				w.WriteString(";\n")
			}
			w.WriteString("INSERT INTO api_keys (id, tenant_id, team_id, owner_id, name, description, permissions, hint, key_hash, created_at, created_by, updated_at, expires_at, revoked_at, revoked_by, revoke_reason, last_used_at, metadata, rotated_from) VALUES ")
		} else {
			w.WriteString(",")
		}
		rand.Read(hash)
		created := now - int64(n-i)*(year/int64(n))
		used, revoked := "NULL", "NULL"
		if i%3 == 0 {
			used = strconv.FormatInt(now-int64(i%30)*86_400_000_000, 10)
		}
		if i%10 == 9 {
			revoked = strconv.FormatInt(now, 10)
		}
		fmt.Fprintf(w, "('%s','tenant-%03d',NULL,NULL,'seed-%d',NULL,'[\"read\"]','qapi_seed',X'%x',%d,'seed',%d,NULL,%s,NULL,NULL,%s,'{}',NULL)",
			uuid.Must(uuid.NewV7()).String(), i%storetest.BenchTenants, i, hash, created, created, revoked, used)
	}
	w.WriteString(";\nCOMMIT;\n")
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
}

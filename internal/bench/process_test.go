package bench

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
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

func runProcess(b *testing.B, name string, args ...string) {
	b.Helper()
	for range b.N {
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), "HOME="+tmpDir)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
}

// BenchmarkColdStart: `keyadm version` and `keyadm --help`, which must not
// open a database or read more than they need, next to a Go hello world.
func BenchmarkColdStart(b *testing.B) {
	bin := keyadmBin(b)
	b.Run("version", func(b *testing.B) { runProcess(b, bin, "version") })
	b.Run("help", func(b *testing.B) { runProcess(b, bin, "--help") })
	// The floor: a Go hello world, built here the way keyadm is built.
	b.Run("floor-hello", func(b *testing.B) { runProcess(b, tool(b, "hello")) })
}

// BenchmarkListProcess: the whole `keyadm list --limit 20` process next to
// the engine's own shell running the equivalent query on the same data.
func BenchmarkListProcess(b *testing.B) {
	bin := keyadmBin(b)
	for _, engine := range engines() {
		for _, n := range sizes() {
			s := analysed(b, engine, n)
			var url, shell string
			var shellArgs []string
			query := `SELECT id, name, tenant_id, revoked_at, expires_at, last_used_at, created_at
				FROM api_keys WHERE tenant_id = 'tenant-042' ORDER BY created_at DESC, id DESC LIMIT 21`
			switch engine {
			case "sqlite":
				url = s.db.Location
				shell, shellArgs = "sqlite3", []string{url, query}
			case "postgres":
				url = s.url
				shell, shellArgs = "psql", []string{"-X", "-q", "-A", "-c", "SET search_path = " + s.schema + "; " + query, pgBase()}
			}
			b.Run(fmt.Sprintf("%s/%d/keyadm", engine, n), func(b *testing.B) {
				runProcess(b, bin, "--db", url, "list", "--tenant", "tenant-042", "--limit", "20")
			})
			b.Run(fmt.Sprintf("%s/%d/shell", engine, n), func(b *testing.B) {
				if _, err := exec.LookPath(shell); err != nil {
					b.Skipf("%s not installed", shell)
				}
				runProcess(b, shell, shellArgs...)
			})
		}
	}
}

// BenchmarkExport: `keyadm list --all -o csv` and `keyadm audit -o json`
// stream: peak memory stays flat as the table grows (maxrss-MB).
func BenchmarkExport(b *testing.B) {
	bin := keyadmBin(b)
	for _, engine := range engines() {
		for _, n := range sizes() {
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

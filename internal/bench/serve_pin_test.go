package bench

import (
	"context"
	"database/sql"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// benchApp is the application_name of keyadm serve's connections in the
// serve benchmark, by which pinBackends finds their backends.
const benchApp = "keyadm_bench_serve"

// withApp is a postgres:// URL that names its connections benchApp.
func withApp(t *testing.T, dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", benchApp)
	u.RawQuery = q.Encode()
	return u.String()
}

// pinBackends keeps the PostgreSQL backends of keyadm serve's connections
// (application_name benchApp) on cpu until the test ends, and says how in
// the report's words.
//
// Why CPU 0, the server's: a backend is a process of its own, and left
// alone the kernel ran it on either CPU, beside the generator as often as
// beside the server, so PostgreSQL's figures depended on where the
// scheduler put it (issue 17: p99 of 100 ms at half of peak). Everything
// that answers a request goes on the server's CPU: SQLite runs inside the
// keyadm process, so on CPU 0 too, and the trivial handler has that CPU
// alone. Each engine thus gets the one CPU the trivial handler gets, the
// generator keeps the other to itself, and PostgreSQL's verify is charged
// with its backend's work, as on a machine the database shares. (On two
// CPUs there is no split without a compromise: a database on a machine or
// cores of its own would answer faster than this.) The postmaster and its
// background processes stay where the kernel puts them; they do little
// during a run.
//
// keyadm's pool opens connections as load grows and closes idle ones
// after a minute, so the backends are looked up every 100 ms and each new
// one pinned (taskset -p) as it appears. Pinning needs the backends on
// this machine and the right to set their affinity (root, or the user
// PostgreSQL runs as); without either, the report says they are not.
// KEYADM_BENCH_PG_CPU puts them elsewhere (a taskset CPU list: "1" beside
// the generator, "0,1" either), to compare.
func pinBackends(t *testing.T, base, cpu string) string {
	if c := os.Getenv("KEYADM_BENCH_PG_CPU"); c != "" {
		cpu = c
	}
	if cpu == "" || os.Getenv("KEYADM_BENCH_PIN") == "0" {
		return "PostgreSQL not pinned"
	}
	u, err := url.Parse(base)
	if err != nil {
		return "PostgreSQL not pinned"
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "PostgreSQL not pinned: not on this machine"
	}
	ts, err := exec.LookPath("taskset")
	if err != nil {
		return "PostgreSQL not pinned: no taskset"
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	pin := func(pid int) error {
		// The pid is PostgreSQL's own answer, but make sure it is a
		// postgres process of this machine before touching it.
		comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		if err != nil || strings.TrimSpace(string(comm)) != "postgres" {
			return nil // gone, or not local after all
		}
		return exec.Command(ts, "-p", "-c", cpu, strconv.Itoa(pid)).Run()
	}
	ctx, stop := context.WithCancel(context.Background())
	failed := make(chan error, 1)
	done := make(chan struct{})
	pinned := map[int]bool{} // the goroutine's until done
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			rows, err := db.QueryContext(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, benchApp)
			for err == nil && rows.Next() {
				var pid int
				if err = rows.Scan(&pid); err == nil && !pinned[pid] {
					if err = pin(pid); err == nil {
						pinned[pid] = true
					}
				}
			}
			if rows != nil {
				rows.Close()
			}
			if err != nil && ctx.Err() == nil {
				failed <- err
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() {
		stop()
		<-done
		db.Close()
		t.Logf("%d PostgreSQL backends pinned on CPU %s", len(pinned), cpu)
		select {
		case err := <-failed:
			t.Errorf("pinning PostgreSQL's backends: %v", err)
		default:
		}
	})
	return "PostgreSQL's backends of keyadm serve on CPU " + cpu
}

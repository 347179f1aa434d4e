package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	toolsMu sync.Mutex
	tools   = map[string]string{}
)

// tool builds the program in testdata/name (hello, trivial, loadgen) the
// way `make build` builds keyadm (pure Go, trimmed paths, no symbols), once
// per run, and returns its path: the floors are built by the benchmark
// itself, so anyone can rerun them.
func tool(tb testing.TB, name string) string {
	toolsMu.Lock()
	defer toolsMu.Unlock()
	if p := tools[name]; p != "" {
		return p
	}
	out := filepath.Join(tmpDir, "bin", name)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, "./testdata/"+name)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("building %s: %v\n%s", name, err, msg)
	}
	tools[name] = out
	return out
}

// pinned runs name on the given CPU with taskset when the machine has
// more than one and taskset is installed (KEYADM_BENCH_PIN=0 turns it off):
// the server and the load generator then do not take turns on one core.
func pinned(cpu string, name string, args ...string) *exec.Cmd {
	if cpu != "" && os.Getenv("KEYADM_BENCH_PIN") != "0" {
		if ts, err := exec.LookPath("taskset"); err == nil {
			return exec.Command(ts, append([]string{"-c", cpu, name}, args...)...)
		}
	}
	return exec.Command(name, args...)
}

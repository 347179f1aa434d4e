package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The limits of the limited keys of TestServe (issue 14): far beyond what a
// run can spend, so every verify answers 200 and the runs measure the
// bookkeeping (a GCRA write per window, one credit spent per verify), never
// a 429. limitRate is also serve's throttle of failed verifications, so the
// malformed-key runs stay 401.
const (
	limitRate = "100000000/1s"
	limitUses = "100000000"
)

// limitKeys are the generator's files for the limit cases: as many keys of
// each kind, one a line.
type limitKeys struct {
	plain, rated, credits string // no limit (seeded); --rate-limit; --uses
	n                     int    // keys of each kind; 0: not measured
	why                   string // why not, when n is 0
}

// limitKeys makes KEYADM_BENCH_LIMIT_KEYS (default 200) keys with a rate
// limit and as many with credits on the database at url with the real
// `keyadm create`, and takes as many seeded keys from plainFile as the
// control: the same number of distinct keys, so the three differ only by
// their limits. Without limits in keyadm (`create --help` has no
// --rate-limit), it measures nothing and says why.
func (b *serveBench) limitKeys(t *testing.T, url, plainFile string) limitKeys {
	if !hasFlag(b.bin, "create", "--rate-limit") {
		return limitKeys{why: "not measured: this keyadm's create has no --rate-limit (limits not merged yet)"}
	}
	n := envInt(t, "KEYADM_BENCH_LIMIT_KEYS", 200)
	plain, err := firstLines(plainFile, n)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, lines []string) string {
		name = filepath.Join(dir, name)
		if err := os.WriteFile(name, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return name
	}
	return limitKeys{
		plain:   write("plain", plain),
		rated:   write("rated", b.createKeys(t, url, "rated", n, "--rate-limit", limitRate)),
		credits: write("credits", b.createKeys(t, url, "credits", n, "--uses", limitUses)),
		n:       n,
	}
}

// createKeys runs `keyadm create -q` n times, two at a time, and returns
// the secrets it printed.
func (b *serveBench) createKeys(t *testing.T, url, name string, n int, args ...string) []string {
	secrets := make([]string, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed error
	next := make(chan int)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				cmd := exec.Command(b.bin, append([]string{"--db", url, "create", "--name", name + "-" + strconv.Itoa(i), "-q"}, args...)...)
				cmd.Env = append(os.Environ(), "HOME="+tmpDir, "XDG_CONFIG_HOME="+tmpDir)
				var errOut strings.Builder
				cmd.Stderr = &errOut
				out, err := cmd.Output()
				mu.Lock()
				if err != nil && failed == nil {
					failed = fmt.Errorf("keyadm create %s: %v: %s", strings.Join(args, " "), err, errOut.String())
				}
				secrets[i] = strings.TrimSpace(string(out))
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if failed != nil {
		t.Fatal(failed)
	}
	return secrets
}

// hasFlag reports whether `keyadm CMD --help` lists flag.
func hasFlag(bin, cmd, flag string) bool {
	out, err := exec.Command(bin, cmd, "--help").Output()
	return err == nil && strings.Contains(string(out), flag+" ")
}

// firstLines returns the first n lines of a file (fewer if it is shorter).
func firstLines(name string, n int) ([]string, error) {
	b, err := os.ReadFile(name)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	return lines[:min(n, len(lines))], err
}

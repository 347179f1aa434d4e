package main

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCreditsAcrossProcesses: 16 keyadm verify processes started at one
// instant against a key with 10 uses: exactly 10 exit 0, the others exit
// 5 with usage_exceeded's message, on each engine.
func TestCreditsAcrossProcesses(t *testing.T) {
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			code, secret, errOut := keyadm(db, "", "create", "--name", "metered", "--uses", "10", "-q")
			if code != 0 {
				t.Fatalf("create: %d %s", code, errOut)
			}
			codes := make([]int, 16)
			var wg sync.WaitGroup
			start := time.Now().Add(500 * time.Millisecond)
			for i := range codes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var errOut string
					codes[i], _, errOut = keyadmAt(start, db, secret, "verify", "-q")
					if codes[i] == 5 && !strings.Contains(errOut, "has no uses left") {
						t.Errorf("process %d: %s", i, errOut)
					}
				}()
			}
			wg.Wait()
			got := map[int]int{}
			for _, c := range codes {
				got[c]++
			}
			if got[0] != 10 || got[5] != 6 {
				t.Fatalf("exit codes %v; want 10 × 0 and 6 × 5", got)
			}
		})
	}
}

// TestLimitsAcrossServeProcesses: two keyadm serve processes on one
// database, 16 clients spread over both: a key with 100 uses gets exactly
// 100 answers 200, and a key limited to 30 an hour exactly 30; the credits
// and the GCRA state are in the database, so both processes share them.
func TestLimitsAcrossServeProcesses(t *testing.T) {
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			_, credits, _ := keyadm(db, "", "create", "--name", "credits", "--uses", "100", "-q")
			_, rated, _ := keyadm(db, "", "create", "--name", "rated", "--rate-limit", "30/1h", "-q")
			servers := []*serveProc{startServe(t, db), startServe(t, db)}
			for _, c := range []struct {
				key      string
				want     int
				rejected string
			}{{strings.TrimSpace(credits), 100, "usage_exceeded"}, {strings.TrimSpace(rated), 30, "rate_limited"}} {
				got := hammer(t, servers, c.key, 16, 9)
				if got[http.StatusOK] != c.want || got[http.StatusTooManyRequests] != 144-c.want {
					t.Errorf("%s: statuses %v; want %d × 200 and the rest 429", c.rejected, got, c.want)
				}
			}
		})
	}
}

// hammer sends each times POST /v1/verify with key from each of n
// clients, alternating between the servers, and counts the statuses.
func hammer(t *testing.T, servers []*serveProc, key string, n, each int) map[int]int {
	var mu sync.Mutex
	got := map[int]int{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				code, _ := verifyOverHTTP(t, servers[(i+j)%len(servers)].base, key)
				mu.Lock()
				got[code]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return got
}

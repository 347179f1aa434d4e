package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// serveProc is a running `keyadm serve` and what it has written to stderr.
type serveProc struct {
	cmd    *exec.Cmd
	base   string
	mu     sync.Mutex
	stderr strings.Builder
	done   chan struct{}
}

func (s *serveProc) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// startServe starts the real binary on a free port and waits until it
// says where it listens.
func startServe(t *testing.T, db string, args ...string) *serveProc {
	t.Helper()
	return startServeEnv(t, nil, db, args...)
}

// startServeEnv is startServe with more environment variables.
func startServeEnv(t *testing.T, env []string, db string, args ...string) *serveProc {
	t.Helper()
	cmd := exec.Command("keyadm", append([]string{"--db", db, "serve", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(append(os.Environ(), "HOME="+os.TempDir()), env...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &serveProc{cmd: cmd, done: make(chan struct{})}
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			cmd.Process.Kill()
			<-s.done
		}
	})
	listening := make(chan string, 1)
	addrRE := regexp.MustCompile(`msg=listening addr=(\S+)`)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			s.mu.Lock()
			s.stderr.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if m := addrRE.FindStringSubmatch(sc.Text()); m != nil {
				listening <- m[1]
			}
		}
		io.Copy(io.Discard, pipe)
		cmd.Wait()
		close(s.done)
	}()
	select {
	case addr := <-listening:
		s.base = "http://" + addr
	case <-s.done:
		t.Fatalf("keyadm serve exited: %s", s.log())
	case <-time.After(20 * time.Second):
		t.Fatalf("keyadm serve did not start: %s", s.log())
	}
	return s
}

// verifyOverHTTP sends POST /v1/verify with a key and decodes the answer.
func verifyOverHTTP(t *testing.T, base, key string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/v1/verify", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// TestServeEndToEnd: the real `keyadm serve`, on a free port, verifies a
// key over HTTP and rejects a bad one; on SIGTERM it exits 0 having written
// the key's last use, and its log never held the key.
func TestServeEndToEnd(t *testing.T) {
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			code, out, errOut := keyadm(db, "", "create", "--name", "svc", "--tenant", "acme", "-o", "json")
			if code != 0 {
				t.Fatalf("create: %d %s", code, errOut)
			}
			var created struct{ ID, Key string }
			if err := json.Unmarshal([]byte(out), &created); err != nil {
				t.Fatal(err)
			}
			s := startServe(t, db, "--touch-interval", "1h")

			status, body := verifyOverHTTP(t, s.base, created.Key)
			if status != http.StatusOK || body["id"] != created.ID || body["tenantId"] != "acme" {
				t.Fatalf("verify: %d %v", status, body)
			}
			// A typo in the last character: one that differs from it, or the
			// "typo" would be the key itself about once in 62 runs.
			typo := "x"
			if strings.HasSuffix(created.Key, typo) {
				typo = "y"
			}
			status, body = verifyOverHTTP(t, s.base, created.Key[:len(created.Key)-1]+typo)
			if status != http.StatusUnauthorized || !strings.Contains(toJSON(body), `"code":"malformed"`) {
				t.Fatalf("verify a typo: %d %v", status, body)
			}
			// The use waits in memory for the interval (an hour)...
			_, out, _ = keyadm(db, "", "show", created.ID, "-o", "json")
			if !strings.Contains(out, `"lastUsedAt": null`) {
				t.Fatalf("last use written before the interval:\n%s", out)
			}

			// ...and is written when SIGTERM stops the server, which exits 0.
			if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case <-s.done:
			case <-time.After(30 * time.Second):
				t.Fatalf("keyadm serve did not stop on SIGTERM: %s", s.log())
			}
			if c := s.cmd.ProcessState.ExitCode(); c != 0 {
				t.Fatalf("exit %d after SIGTERM: %s", c, s.log())
			}
			_, out, _ = keyadm(db, "", "show", created.ID, "-o", "json")
			if strings.Contains(out, `"lastUsedAt": null`) {
				t.Fatalf("last use not written at shutdown:\n%s", out)
			}
			log := s.log()
			if strings.Contains(log, created.Key) || strings.Contains(log, created.Key[5:30]) || strings.Contains(log, "Bearer") {
				t.Fatalf("the log holds the key:\n%s", log)
			}
			for _, want := range []string{"route=/v1/verify", "status=200", "status=401", `msg="last uses written" keys=1`} {
				if !strings.Contains(log, want) {
					t.Fatalf("no %q in the log:\n%s", want, log)
				}
			}
		})
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestServeAddressInUse: a port taken by another process is a runtime
// failure (exit 1) with the address in the message.
func TestServeAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cmd := exec.Command("keyadm", "--db", t.TempDir()+"/keyadm.db", "serve", "--listen", ln.Addr().String())
	cmd.Env = append(os.Environ(), "HOME="+os.TempDir())
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "cannot listen on "+ln.Addr().String()) {
		t.Fatalf("serve on a taken port: %v: %s", err, out)
	}
}

// TestServeSecondSignal: SIGTERM waits for the request in flight; a second
// SIGTERM stops keyadm at once.
func TestServeSecondSignal(t *testing.T) {
	db := t.TempDir() + "/keyadm.db"
	code, admin, errOut := keyadm(db, "", "create", "--name", "admin", "--permission", "admin", "-q")
	if code != 0 {
		t.Fatalf("create: %s", errOut)
	}
	s := startServe(t, db, "--read-timeout", "1m", "--shutdown-timeout", "1m")
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A create whose body never comes: in flight until the read timeout.
	_, err = io.WriteString(conn, "POST /v1/api-keys HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"+
		"Content-Length: 100\r\nx-api-key: "+strings.TrimSpace(admin)+"\r\n\r\n{")
	if err != nil {
		t.Fatal(err)
	}
	waitLog := func(what string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(s.log(), what) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the log: %s", what, s.log())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(httpGet(t, s.base+"/metrics"), "keyadm_http_requests_in_flight 2") {
		if time.Now().After(deadline) {
			t.Fatal("the request is not in flight")
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	waitLog("a second one stops at once")
	select {
	case <-s.done:
		t.Fatalf("keyadm serve stopped with a request in flight: %v %s", s.cmd.ProcessState, s.log())
	case <-time.After(300 * time.Millisecond):
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatal("a second SIGTERM did not stop keyadm serve")
	}
	if ws, ok := s.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Fatalf("keyadm serve ended with %v, want killed by SIGTERM", s.cmd.ProcessState)
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/store"
	"github.com/keyadm/keyadm/internal/store/storetest"
)

// --- PostgreSQL going away ---------------------------------------------------------

// pgProxy forwards a local port to the PostgreSQL server, and can stop
// (refusing connections and cutting those open), start again on the same
// port, cut each connection after the server has sent so many bytes, or
// go silent: a server that is down, restarting, dropping connections or
// hung, without touching the real one.
type pgProxy struct {
	target string
	addr   string
	// cutAfter > 0 closes each connection once the server has sent that
	// many bytes through it.
	cutAfter atomic.Int64
	// hang passes a connection's start-up through (up to the server's
	// first ReadyForQuery), then nothing more.
	hang atomic.Bool
	// silent accepts connections and never answers.
	silent atomic.Bool
	// served counts the bytes the server sent, over every connection.
	served atomic.Int64

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
}

func newPGProxy(t *testing.T, target string) *pgProxy {
	t.Helper()
	p := &pgProxy{target: target, conns: map[net.Conn]bool{}}
	if err := p.listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	p.addr = p.ln.Addr().String()
	t.Cleanup(p.stop)
	return p
}

func (p *pgProxy) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return nil
}

// start listens again on the same port.
func (p *pgProxy) start(t *testing.T) {
	t.Helper()
	if err := p.listen(p.addr); err != nil {
		t.Fatalf("proxy restart: %v", err)
	}
}

// stop refuses new connections and cuts every open one.
func (p *pgProxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

func (p *pgProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		return false
	}
	for _, c := range cs {
		p.conns[c] = true
	}
	return true
}

func (p *pgProxy) serve(client net.Conn) {
	if p.silent.Load() {
		if p.track(client) {
			_, _ = io.Copy(io.Discard, client)
		}
		client.Close()
		return
	}
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	if !p.track(client, server) {
		client.Close()
		server.Close()
		return
	}
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(server, client)
		done <- struct{}{}
	}()
	go func() {
		p.forward(client, server)
		done <- struct{}{}
	}()
	<-done
	client.Close()
	server.Close()
}

// forward copies what the server sends to the client, message by message
// (a type byte and a length), until the connection ends, is cut, or hangs.
func (p *pgProxy) forward(client, server net.Conn) {
	budget, hang := p.cutAfter.Load(), p.hang.Load()
	r := bufio.NewReader(server)
	for {
		head := make([]byte, 5)
		if _, err := io.ReadFull(r, head); err != nil {
			return
		}
		msg := make([]byte, 1+int(binary.BigEndian.Uint32(head[1:])))
		copy(msg, head)
		if _, err := io.ReadFull(r, msg[5:]); err != nil {
			return
		}
		if budget > 0 && int64(len(msg)) >= budget {
			_, _ = client.Write(msg[:budget])
			p.served.Add(budget)
			return
		}
		budget -= int64(len(msg))
		if _, err := client.Write(msg); err != nil {
			return
		}
		p.served.Add(int64(len(msg)))
		if hang && msg[0] == 'Z' {
			// Connected and ready; from now on, silence.
			_, _ = io.Copy(io.Discard, r)
			return
		}
	}
}

// proxied is a fresh PostgreSQL schema reached through a proxy.
func proxied(t *testing.T) (*pgProxy, string) {
	t.Helper()
	u, err := url.Parse(storetest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	p := newPGProxy(t, u.Host)
	u.Host = p.addr
	q := u.Query()
	q.Set("connect_timeout", "3")
	u.RawQuery = q.Encode()
	return p, u.String()
}

// oneLine matches a whole stderr that is one "keyadm: …" line.
func oneLine(t *testing.T, what, stderr string, re string) {
	t.Helper()
	if !regexp.MustCompile(`\Akeyadm: ` + re + `\n\z`).MatchString(stderr) {
		t.Errorf("%s: stderr %q, want one line matching %q", what, stderr, "keyadm: "+re)
	}
	if strings.Contains(stderr, "goroutine") || strings.Contains(stderr, ".go:") {
		t.Errorf("%s: a stack trace reached the user: %s", what, stderr)
	}
}

// TestPostgresOutage: while the server is unreachable every command exits
// 1 with one clear line, writes nothing, and a valid key is not "rejected"
// (5) but unverifiable (1); once the server is back, the next command works
// and the keys made before are intact.
func TestPostgresOutage(t *testing.T) {
	p, db := proxied(t)
	var secrets, ids []string
	for i := range 3 {
		code, out, errOut := keyadm(db, "", "create", "-o", "json", "--name", fmt.Sprintf("before-%d", i))
		id, secret := (&run{stdout: out}).printed()
		if code != 0 || secret == "" {
			t.Fatalf("create: exit %d: %s", code, errOut)
		}
		secrets, ids = append(secrets, secret), append(ids, id)
	}
	down := regexp.QuoteMeta("postgres "+p.addr+"/test: ") + `cannot connect: .+`
	outage := func(how string) {
		t.Helper()
		for _, c := range []struct {
			stdin string
			args  []string
		}{
			{"", []string{"list"}},
			{"", []string{"create", "--name", "during-" + how}},
			{secrets[0] + "\n", []string{"verify"}},
			{"", []string{"revoke", ids[1], "--yes"}},
			{"", []string{"rotate", ids[2]}},
			{"", []string{"config", "set", "max_keys_per_user", "1"}},
		} {
			code, out, errOut := keyadm(db, c.stdin, c.args...)
			what := how + ": " + strings.Join(c.args, " ")
			if code != 1 || out != "" {
				t.Errorf("%s: exit %d, stdout %q; want 1 and nothing", what, code, out)
			}
			oneLine(t, what, errOut, down)
		}
	}

	p.stop()
	outage("server down")

	// A server that accepts and hangs up at once, as one restarting does.
	p.start(t)
	p.cutAfter.Store(1)
	outage("server restarting")

	// A server that accepts and never answers: the connect timeout
	// (connect_timeout=3 here, 10 s by default) ends the wait.
	p.cutAfter.Store(0)
	p.silent.Store(true)
	began := time.Now()
	code, out, errOut := keyadm(db, "", "list")
	if code != 1 || out != "" || time.Since(began) > 15*time.Second {
		t.Errorf("server silent: exit %d after %v, stdout %q; want 1 and nothing, within the timeout", code, time.Since(began), out)
	}
	oneLine(t, "server silent: list", errOut, regexp.QuoteMeta("postgres "+p.addr+"/test: ")+`.+`)
	p.silent.Store(false)

	code, out, errOut = keyadm(db, "", "list", "-o", "json")
	if code != 0 {
		t.Fatalf("after the outage: exit %d: %s", code, errOut)
	}
	if got := strings.Count(out, `"id"`); got != 3 {
		t.Errorf("after the outage: %d keys, want the 3 made before", got)
	}
	for _, s := range secrets {
		if code, _, errOut := keyadm(db, s+"\n", "verify", "-q"); code != 0 {
			t.Errorf("after the outage, a key made before does not verify: %s", errOut)
		}
	}
	if code, out, _ := keyadm(db, "", "audit", "-o", "json"); code != 0 || strings.Count(out, `"action"`) != 3 {
		t.Errorf("after the outage, the audit trail is not the 3 creations: %s", out)
	}
}

// TestPostgresRecoversInProcess: a long-lived process (keyadm serve holds
// one Store) reports the outage as EUNAVAILABLE and works again once the
// server is back, without reopening the store.
func TestPostgresRecoversInProcess(t *testing.T) {
	p, db := proxied(t)
	ctx := context.Background()
	st, err := store.Open(ctx, db, store.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := &apikey.Service{Store: st}
	c, err := svc.Create(ctx, apikey.CreateInput{Name: "long-lived", Actor: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	p.stop()
	for i := range 2 {
		_, _, err = svc.Check(ctx, c.Secret.String())
		if err == nil || apikey.ErrorCode(err) == apikey.EREJECTED {
			t.Fatalf("check %d while down: %v, want a failure that is not a rejection", i, err)
		}
		if code := apikey.ErrorCode(err); code != apikey.EUNAVAILABLE {
			// BUG (known, reported): a pooled connection cut under the
			// store surfaces as EINTERNAL "unexpected EOF" (CLI: "internal
			// error: unexpected EOF"), not as the server being unavailable.
			t.Errorf("check %d while down: %v (code %q), want %q", i, err, code, apikey.EUNAVAILABLE)
		}
	}
	p.start(t)
	if _, _, err := svc.Check(ctx, c.Secret.String()); err != nil {
		t.Fatalf("check after the server came back: %v", err)
	}
	if _, err := svc.Create(ctx, apikey.CreateInput{Name: "after", Actor: "tester"}); err != nil {
		t.Fatalf("create after the server came back: %v", err)
	}
}

// TestPostgresConnectionCut: the connection drops at every point of a
// create's and a revoke's conversation with the server. Each either
// succeeds, or exits 1 with one line and prints nothing; afterwards every
// printed secret verifies, a revoke is all or none, and every key and
// revocation has its audit event (checkAccounts).
func TestPostgresConnectionCut(t *testing.T) {
	p, db := proxied(t)
	var runs []*run
	create := func(name string) *run {
		r := &run{name: name, args: []string{"create", "-o", "json", "--name", name}}
		start(db, 0, r)
		runs = append(runs, r)
		return r
	}
	// How many bytes the server sends for one create.
	if r := create("measure"); r.code != 0 {
		t.Fatalf("create: %s", r.stderr)
	}
	p.served.Store(0)
	if r := create("measure-again"); r.code != 0 {
		t.Fatalf("create: %s", r.stderr)
	}
	total := p.served.Load()
	step := max(total/40, 1)
	cuts := 0
	for n := int64(1); n < total+step; n += step {
		p.cutAfter.Store(n)
		r := create(fmt.Sprintf("cut-%d", n))
		var revoke *run
		if ids := unrevoked(runs); len(ids) >= 2 {
			revoke = &run{ids: ids[:2], args: []string{"revoke", "--yes", ids[0], ids[1]}}
			start(db, 0, revoke)
			runs = append(runs, revoke)
		}
		for _, r := range []*run{r, revoke} {
			if r == nil || r.code == 0 {
				continue
			}
			cuts++
			if r.code != 1 || r.stdout != "" {
				t.Errorf("%v cut after %d bytes: exit %d, stdout %q; want 1 and nothing", r.args, n, r.code, r.stdout)
			}
			what := fmt.Sprintf("%v cut after %d bytes", r.args, n)
			oneLine(t, what, r.stderr, `.+`)
			if !strings.HasPrefix(r.stderr, "keyadm: postgres "+p.addr+"/test: ") {
				// BUG (known, reported): a connection lost mid-command is
				// reported as "internal error: unexpected EOF" (or "conn
				// closed", "driver: bad connection", "lock for migrations:
				// unexpected EOF"), naming neither the server nor the cause.
				t.Errorf("%s: %q does not say the server was lost", what, r.stderr)
			}
		}
	}
	p.cutAfter.Store(0)
	t.Logf("a create is %d bytes from the server; %d commands were cut", total, cuts)
	if cuts == 0 {
		t.Fatal("no command was cut: the proxy does not cut")
	}
	checkAccounts(t, db, runs)
}

// TestPostgresHang: a server that accepts the connection and then stops
// answering (a hung server, a network partition mid-session).
//
// Connecting and the first answer are bounded by store.OpenTimeout.
func TestStressPostgresHang(t *testing.T) {
	stress(t) // it waits out store.OpenTimeout
	p, db := proxied(t)
	if code, _, errOut := keyadm(db, "", "db", "migrate"); code != 0 {
		t.Fatalf("db migrate: %s", errOut)
	}
	p.hang.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "keyadm", "--db", db, "list")
	cmd.Env = append(os.Environ(), "HOME="+os.TempDir())
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("keyadm list was still waiting after 20 s on a server that stopped answering")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1: %s", err, out)
	}
}

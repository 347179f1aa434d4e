package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/store"
	"github.com/keyadm/keyadm/internal/store/sqlite"
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

// --- SQLite on a disk that refuses writes -------------------------------------------

// mountTmpfs mounts a tmpfs of the given size for the test, or skips.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// seeded makes a database with three keys and returns their ids and
// secrets.
func seeded(t *testing.T, db string) (ids, secrets []string) {
	t.Helper()
	for i := range 3 {
		code, out, errOut := keyadm(db, "", "create", "-o", "json", "--name", fmt.Sprintf("kept-%d", i))
		id, secret := (&run{stdout: out}).printed()
		if code != 0 || secret == "" {
			t.Fatalf("create: %s", errOut)
		}
		ids, secrets = append(ids, id), append(secrets, secret)
	}
	return ids, secrets
}

// intact checks a database after a failure: sound, and exactly the keys
// committed before, each verifying.
func intact(t *testing.T, db string, secrets []string) {
	t.Helper()
	integrityCheck(t, db)
	code, out, errOut := keyadm(db, "", "list", "--all", "-q")
	if code != 0 || len(strings.Fields(out)) != len(secrets) {
		t.Fatalf("list after the failure: exit %d, %d keys, want %d: %s", code, len(strings.Fields(out)), len(secrets), errOut)
	}
	for _, s := range secrets {
		if code, _, errOut := keyadm(db, s+"\n", "verify", "-q"); code != 0 {
			t.Errorf("a key committed before the failure does not verify: %s", errOut)
		}
	}
}

// writes are commands that must write, on a database holding the keys
// ids and secrets: each fails cleanly when nothing can be written.
func writes(ids, secrets []string) []struct{ stdin, args []string } {
	return []struct{ stdin, args []string }{
		{nil, []string{"create", "--name", "refused"}},
		{nil, []string{"config", "set", "max_keys_per_user", "5"}},
		{nil, []string{"update", ids[0], "--description", "refused"}},
		{nil, []string{"revoke", ids[0], "--yes"}},
		{nil, []string{"rotate", ids[1]}},
		{nil, []string{"delete", ids[2], "--yes"}},
		// verify records the key's last use
		{[]string{secrets[0]}, []string{"verify"}},
	}
}

// refused checks that each write fails with exit 1, one line matching re,
// and nothing on stdout.
func refused(t *testing.T, db, how, re string, ids, secrets []string) {
	t.Helper()
	for _, w := range writes(ids, secrets) {
		code, out, errOut := keyadm(db, strings.Join(w.stdin, ""), w.args...)
		what := strings.Join(w.args, " ") + " " + how
		if code != 1 || out != "" {
			t.Errorf("%s: exit %d, stdout %q; want 1 and nothing", what, code, out)
		}
		oneLine(t, what, errOut, re)
	}
}

// TestSQLiteReadOnly: on a read-only file system, or a file that cannot be
// written, every change fails with one line and exit 1, and the file is
// left sound with its keys intact. As root, chmod does not stop a write,
// so the read-only cases are a tmpfs remounted read-only and an immutable
// file (chattr +i); as another user, chmod.
func TestSQLiteReadOnly(t *testing.T) {
	type readOnly struct {
		name  string
		dir   func(t *testing.T) string
		apply func(t *testing.T, db string) (undo func())
	}
	var cases []readOnly
	if os.Geteuid() == 0 {
		cases = append(cases, readOnly{
			name: "read-only file system",
			dir:  func(t *testing.T) string { return mountTmpfs(t, "4m") },
			apply: func(t *testing.T, db string) func() {
				dir := filepath.Dir(db)
				mustRun(t, "mount", "-o", "remount,ro", dir)
				return func() { mustRun(t, "mount", "-o", "remount,rw", dir) }
			},
		}, readOnly{
			name: "immutable file",
			dir:  func(t *testing.T) string { return t.TempDir() },
			apply: func(t *testing.T, db string) func() {
				if out, err := exec.Command("chattr", "+i", db).CombinedOutput(); err != nil {
					t.Skipf("chattr +i does not work here (%v: %s)", err, out)
				}
				// Even if the test stops early, so the folder can be removed.
				t.Cleanup(func() { _ = exec.Command("chattr", "-i", db).Run() })
				return func() { mustRun(t, "chattr", "-i", db) }
			},
		})
	} else {
		cases = append(cases, readOnly{
			name: "read-only file and folder",
			dir:  func(t *testing.T) string { return t.TempDir() },
			apply: func(t *testing.T, db string) func() {
				must(t, os.Chmod(db, 0o400))
				must(t, os.Chmod(filepath.Dir(db), 0o500))
				return func() {
					must(t, os.Chmod(filepath.Dir(db), 0o700))
					must(t, os.Chmod(db, 0o600))
				}
			},
		})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := filepath.Join(c.dir(t), "keyadm.db")
			ids, secrets := seeded(t, db)
			undo := c.apply(t, db)
			refused(t, db, "on a read-only database", `sqlite .*keyadm\.db: .*read-only.*`, ids, secrets)
			undo()
			intact(t, db, secrets)
		})
	}
}

// TestSQLiteDiskFull: on a full disk, changes fail with one line and exit
// 1 and print no secret; once space is back the file is sound, holds
// exactly the keys whose secrets were printed, and works again.
func TestSQLiteDiskFull(t *testing.T) {
	dir := mountTmpfs(t, "1m")
	db := filepath.Join(dir, "keyadm.db")
	ids, secrets := seeded(t, db)
	filler := filepath.Join(dir, "filler")
	fill := func(leave int64) {
		t.Helper()
		var fs syscall.Statfs_t
		must(t, syscall.Statfs(dir, &fs))
		free := int64(fs.Bavail) * fs.Bsize
		must(t, os.WriteFile(filler, make([]byte, max(free-leave, 0)), 0o600))
	}

	// Nearly full: creates succeed until one does not.
	fill(160 << 10)
	failed := 0
	for i := 0; i < 400 && failed < 3; i++ {
		code, out, errOut := keyadm(db, "", "create", "-q", "--name", fmt.Sprintf("filling-%d", i))
		switch {
		case code == 0:
			secrets = append(secrets, strings.TrimSpace(out))
		default:
			failed++
			if code != 1 || out != "" {
				t.Errorf("create on a full disk: exit %d, stdout %q; want 1 and nothing", code, out)
			}
			oneLine(t, "create on a full disk", errOut, `sqlite .*keyadm\.db: disk full; nothing was written`)
		}
	}
	if failed == 0 {
		t.Errorf("no create failed: the disk never filled up, or a failure went unreported")
	}
	t.Logf("%d keys fitted before the disk was full", len(secrets))

	// Completely full: even opening fails, in one line.
	must(t, os.Remove(filler))
	fill(0)
	refused(t, db, "on a full disk", `sqlite .*keyadm\.db: .+`, ids, secrets)

	must(t, os.Remove(filler))
	intact(t, db, secrets)
	if code, _, errOut := keyadm(db, "", "create", "--name", "after"); code != 0 {
		t.Fatalf("create once space is back: %s", errOut)
	}
}

func mustRun(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, out)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// --- verification without the database ----------------------------------------------

// TestMalformedKeyNeedsNoDatabase: a key with a bad checksum is rejected
// as malformed by Check and Verify on a store that is closed, so the
// rejection cannot have read it; a well-formed key on the same closed
// store fails with a database error, which shows the store is unusable.
func TestMalformedKeyNeedsNoDatabase(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "keyadm.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	svc := &apikey.Service{Store: st}
	c, err := svc.Create(ctx, apikey.CreateInput{Name: "k", Actor: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	must(t, st.Close())
	good := c.Secret.String()
	last := good[len(good)-1:]
	bad := good[:len(good)-1] + map[bool]string{true: "1", false: "0"}[last == "0"]
	for _, key := range []string{bad, good[:len(good)-1], "qapi_", "hunter2"} {
		_, _, err := svc.Check(ctx, key)
		if apikey.ErrorCode(err) != apikey.EREJECTED || apikey.ErrorReason(err) != apikey.ReasonMalformed {
			t.Errorf("Check(%q) on a closed store: %v (code %q), want rejected as malformed", key, err, apikey.ErrorCode(err))
		}
		_, _, err = svc.Verify(ctx, "", key)
		if apikey.ErrorCode(err) != apikey.EREJECTED || apikey.ErrorReason(err) != apikey.ReasonMalformed {
			t.Errorf("Verify(%q) on a closed store: %v (code %q), want rejected as malformed", key, err, apikey.ErrorCode(err))
		}
	}
	if _, _, err := svc.Check(ctx, good); apikey.ErrorCode(err) == apikey.EREJECTED || err == nil {
		t.Fatalf("Check of a good key on a closed store: %v; the store is not closed", err)
	}
}

// TestVerifyLooksUpByHashOnly: verify finds a key by the SHA-256 of the
// whole key, in SQL, through the unique index: the --debug trace of every
// statement it runs shows no other lookup of api_keys, and no statement
// reads a stored hash back for a comparison in Go, where it could leak
// timing (docs/security.md).
func TestVerifyLooksUpByHashOnly(t *testing.T) {
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			code, out, errOut := keyadm(db, "", "create", "-q", "--name", "k")
			if code != 0 {
				t.Fatal(errOut)
			}
			good := strings.TrimSpace(out)
			unknown := apikey.Secret{}
			for unknown.String() == "" || unknown.String() == good {
				var err error
				if unknown, err = apikey.GenerateSecret(nil, "qapi"); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range []struct {
				key  string
				code int
			}{{good, 0}, {unknown.String(), 5}} {
				code, _, trace := keyadm(db, c.key+"\n", "verify", "-q", "--debug")
				if code != c.code {
					t.Fatalf("verify: exit %d, want %d: %s", code, c.code, trace)
				}
				// The first statement on api_keys finds the key by the hash
				// of the secret alone; none reads a stored hash back; once
				// a key has matched, its id may be used (to record its use).
				statements := regexp.MustCompile(`msg=(?:query|exec) sql="([^"]*)"`).FindAllStringSubmatch(trace, -1)
				var keys []string
				for _, m := range statements {
					if strings.Contains(m[1], "api_keys") {
						keys = append(keys, m[1])
					}
				}
				if len(keys) == 0 || !regexp.MustCompile(`^SELECT .* WHERE k\.key_hash = \+?\?$`).MatchString(keys[0]) {
					t.Fatalf("verify does not start by looking the key up by its hash alone:\n%s", trace)
				}
				if c.code != 0 && len(keys) != 1 {
					t.Errorf("an unknown key led to %d statements on api_keys, want the one lookup:\n%s", len(keys), trace)
				}
				for _, q := range keys {
					if sel, _, _ := strings.Cut(q, " WHERE "); strings.Contains(sel, "key_hash") {
						t.Errorf("a statement reads stored hashes back: %s", q)
					}
					if q != keys[0] && !regexp.MustCompile(`WHERE (k\.)?id = \+?\?`).MatchString(q) {
						t.Errorf("after the match, a statement finds keys other than by id: %s", q)
					}
				}
			}
		})
	}
}

// --- text that validation would refuse, written by another tool ---------------------

// TestStoredControlCharacters: keyadm refuses control characters in names,
// descriptions and metadata (exit 2, nothing written), but the tables are
// shared with other tools; a name, description, owner, metadata and an
// audit actor holding escape sequences, put straight into the database,
// reach the terminal from no command's table output, nor from an error.
func TestStoredControlCharacters(t *testing.T) {
	db := filepath.Join(t.TempDir(), "keyadm.db")
	const esc = "\x1b[2J\x1b[31mowned\x1b]0;title\x07\u009b1m"
	for _, args := range [][]string{
		{"create", "--name", esc},
		{"create", "--name", "n", "--description", esc},
		{"create", "--name", "n", "--meta", "note=" + esc},
		{"create", "--name", "n", "--owner", esc},
	} {
		code, out, errOut := keyadm(db, "", args...)
		if code != 2 || out != "" || strings.ContainsAny(errOut, "\x1b\x07\u009b") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2, nothing, and no escape", args, code, out, errOut)
		}
	}
	// Refused before the database was opened: not even the file exists.
	if _, err := os.Stat(db); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a refused create made the database: %v", err)
	}

	ctx := context.Background()
	// Two days old, so a sweep's dry run lists them too.
	st, err := store.Open(ctx, db, store.Options{Migrate: true, Now: func() time.Time { return time.Now().Add(-48 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	secrets := make([]apikey.Secret, 3)
	ids := make([]string, 3)
	err = storetest.Seed(ctx, st, 3, func(i int, k *apikey.Key, _ []byte) []byte {
		secret, genErr := apikey.GenerateSecret(nil, "qapi")
		if genErr != nil {
			t.Fatal(genErr)
		}
		secrets[i], ids[i] = secret, k.ID
		owner, desc := esc, esc
		k.Name, k.OwnerID, k.TeamID, k.Description = fmt.Sprintf("%s-%d", esc, i), &owner, nil, &desc
		k.CreatedBy = esc
		k.Metadata = map[string]string{"note": esc}
		return secrets[i].Hash()
	})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(ctx, func(tx apikey.Tx) error {
		return tx.AppendEvent(&apikey.AuditEvent{Time: tx.Now(), Actor: esc, Action: apikey.ActionKeyUpdate, TenantID: apikey.DefaultTenant,
			KeyID: &ids[0], Details: map[string]any{"note": esc}})
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}

	commands := []struct {
		stdin string
		args  []string
		shows bool // stdout shows the stored text (sanitised)
	}{
		{"", []string{"list"}, true},
		{"", []string{"show", ids[0]}, true},
		{secrets[0].String() + "\n", []string{"verify"}, true},
		{"", []string{"update", ids[0], "--expires-in", "30d"}, true},
		{"", []string{"rotate", ids[0]}, true},
		{"", []string{"audit"}, true},
		{"", []string{"revoke", "--unused-for", "1d", "--dry-run"}, true},
		{"", []string{"revoke", ids[1], "--yes", "--reason", "r"}, true},
		{"", []string{"delete", ids[2], "--yes"}, true},
	}
	for _, c := range commands {
		code, out, errOut := keyadm(db, c.stdin, c.args...)
		if code != 0 && c.shows {
			t.Errorf("%v: exit %d: %q", c.args, code, errOut)
		}
		if c.shows && !strings.Contains(out, "owned") {
			t.Errorf("%v: the stored text is not shown at all: %q", c.args, out)
		}
		for _, stream := range []string{out, errOut} {
			if !strings.ContainsAny(stream, "\x1b\x07\u009b") {
				continue
			}
			if (c.args[0] == "revoke" || c.args[0] == "delete") && c.args[1] != "--unused-for" {
				// BUG (known, reported): revoke and delete print "Revoked
				// key ID (NAME)" with the stored name as it is
				// (internal/cli/destroy.go, printChanged).
				t.Errorf("%v: a control character reached the terminal: %q", c.args, stream)
				continue
			}
			t.Errorf("%v: a control character reached the terminal: %q", c.args, stream)
		}
	}
}

// TestSecretToClosedPipe: a create whose reader has gone (keyadm create |
// true) does not die silently of SIGPIPE: it says which key to revoke.
func TestSecretToClosedPipe(t *testing.T) {
	db := filepath.Join(t.TempDir(), "k.db")
	r, w, err := os.Pipe()
	must(t, err)
	must(t, r.Close())
	cmd := exec.Command("keyadm", "--db", db, "--actor", "tester", "create", "--name", "piped")
	cmd.Stdout = w
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	must(t, w.Close())
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("create into a closed pipe: %v (want exit 1), stderr %q", err, stderr.String())
	}
	m := regexp.MustCompile(`\Akeyadm: key ([0-9a-f-]{36}) was created, but printing its secret failed \(write /dev/stdout: broken pipe\); nobody has the secret, so revoke the key: keyadm revoke ([0-9a-f-]{36})\n\z`).
		FindStringSubmatch(stderr.String())
	if m == nil || m[1] != m[2] {
		t.Fatalf("stderr %q", stderr.String())
	}
}

package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/store/postgres"
	"github.com/keyadm/keyadm/internal/store/storetest"
)

func TestMain(m *testing.M) {
	if os.Getenv(storetest.PostgresEnv) == "" {
		fmt.Fprintln(os.Stderr, storetest.PostgresSkipMessage)
	}
	os.Exit(m.Run())
}

func TestConformance(t *testing.T) {
	suite(os.Getenv(storetest.PostgresEnv)).RunTests(t)
}

// BenchmarkConformance: the suite's benchmarks (make bench).
func BenchmarkConformance(b *testing.B) {
	suite(os.Getenv(storetest.PostgresEnv)).RunBenchmarks(b)
}

// TestConformanceICU runs the suite on a database whose collation is not
// byte-wise (ICU en-US, as many installations have), where an order and a
// keyset cursor that disagree on collation would skip keys.
func TestConformanceICU(t *testing.T) {
	base := os.Getenv(storetest.PostgresEnv)
	if base == "" {
		t.Skip(storetest.PostgresSkipMessage)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	const name = "keyadm_test_icu"
	_, err = admin.Exec(`CREATE DATABASE ` + name + ` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`)
	var pgErr *pgconn.PgError
	if err != nil && !(errors.As(err, &pgErr) && pgErr.Code == "42P04") { // 42P04: it exists already
		t.Fatalf("create an ICU database: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	suite(u.String()).RunTests(t)
}

func suite(base string) *storetest.Suite {
	return &storetest.Suite{Open: func(t testing.TB, now func() time.Time) apikey.Store {
		if base == "" {
			t.Skip(storetest.PostgresSkipMessage)
		}
		u, drop, err := storetest.NewSchema(base)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(drop)
		return openMigrated(t, u, now)
	}}
}

// TestConnectionErrors: each failure names the host and the cause, never
// the password, as an "unavailable" error (exit 1).
func TestConnectionErrors(t *testing.T) {
	base := os.Getenv(storetest.PostgresEnv)
	ctx := context.Background()
	cases := map[string]struct{ url, want string }{
		"unreachable":  {"postgres://keyadm:hunter2secret@127.0.0.1:1/keys?connect_timeout=5", "postgres 127.0.0.1:1/keys: cannot connect: connection refused"},
		"no such host": {"postgres://keyadm:hunter2secret@no-such-host.invalid:5432/keys?connect_timeout=5", "postgres no-such-host.invalid:5432/keys: cannot connect"},
	}
	if base != "" {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		u.Path = "/keyadm_no_such_database"
		u.User = url.UserPassword(u.User.Username(), "hunter2secret")
		cases["missing database"] = struct{ url, want string }{u.String(), "/keyadm_no_such_database: database does not exist"}
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := postgres.Open(ctx, c.url)
			if apikey.ErrorCode(err) != apikey.EUNAVAILABLE {
				t.Fatalf("error %v has code %q, want unavailable", err, apikey.ErrorCode(err))
			}
			msg := apikey.ErrorMessage(err)
			if !strings.Contains(msg, c.want) || strings.Contains(msg, "hunter2secret") || strings.Contains(msg, "\n") {
				t.Fatalf("message %q: want it to contain %q, without the password, on one line", msg, c.want)
			}
		})
	}
	_, err := postgres.Open(ctx, "postgres://keyadm:hunter2secret@127.0.0.1:5432/keys?sslmode=bogus")
	if apikey.ErrorCode(err) != apikey.EINVALID || strings.Contains(apikey.ErrorMessage(err), "hunter2secret") {
		t.Fatalf("bad URL: %v", err)
	}
}

// TestNotPostgres: a server at the address that answers in another protocol
// (HTTP, an SSH banner, garbage) is named for what it is, as an
// "unavailable" error (exit 1), with or without a TLS attempt first, not as
// pgx's "expected at most 1073741822, but got 1414811691".
func TestNotPostgres(t *testing.T) {
	servers := map[string]string{
		"HTTP": listen(t, func(c net.Conn) {
			c.Read(make([]byte, 64))
			c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
		}),
		"SSH banner": listen(t, func(c net.Conn) { c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n")) }),
		"zeros":      listen(t, func(c net.Conn) { c.Read(make([]byte, 64)); c.Write(make([]byte, 64)) }),
		"garbage":    listen(t, func(c net.Conn) { c.Read(make([]byte, 64)); c.Write([]byte("x\x00\x00\x00\x08abcd")) }),
	}
	for name, addr := range servers {
		for _, sslmode := range []string{"disable", "prefer"} {
			t.Run(name+"/"+sslmode, func(t *testing.T) {
				_, err := postgres.Open(context.Background(), "postgres://keyadm:hunter2secret@"+addr+"/keys?connect_timeout=5&sslmode="+sslmode)
				want := "postgres " + addr + "/keys: did not answer as a PostgreSQL server (is the --db URL right?)"
				if apikey.ErrorCode(err) != apikey.EUNAVAILABLE || apikey.ErrorMessage(err) != want {
					t.Fatalf("error %q (code %q), want %q (unavailable)", apikey.ErrorMessage(err), apikey.ErrorCode(err), want)
				}
			})
		}
	}
}

// listen serves each connection with answer on a loopback port, then
// closes it, and returns the address.
func listen(t *testing.T, answer func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				answer(c)
			}()
		}
	}()
	return l.Addr().String()
}

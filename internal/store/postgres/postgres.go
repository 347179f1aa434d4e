// Package postgres opens keyadm's store on PostgreSQL (and Postgres-wire
// engines) through pgx.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLockID is the advisory lock held while migrating: keyadm's
// own, so that processes of every keyadm version exclude one another.
const migrationLockID = 0x6b657961646d // "keyadm"

// migrationLocker is goose's table lock (a row in goose_lock with a lease
// kept alive by a heartbeat), tried every second (a first process's
// migrations take well under one) for 5 minutes. Not goose's session
// lock: behind a transaction pooler (pgbouncer) a session advisory lock
// stays on whichever server connection took it, and the unlock may reach
// another. A process that dies holding the row frees it when the lease
// runs out.
func migrationLocker() lock.Locker {
	l, err := lock.NewPostgresTableLocker(lock.WithTableLockID(migrationLockID), lock.WithTableLockTimeout(time.Second, 300), lock.WithTableUnlockTimeout(time.Second, 60))
	if err != nil {
		panic(err) // only for options out of range
	}
	return l
}

// Open connects to the database at a postgres:// URL. It does not migrate.
func Open(ctx context.Context, rawURL string) (*sqlstore.DB, error) {
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return nil, apikey.Errorf(apikey.EINVALID, "invalid PostgreSQL URL: %s", redactParseError(err))
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	location := fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
	pooler := newPooler(rawURL)
	db := stdlib.OpenDB(*cfg, pooler.option())
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(time.Minute)
	format := func(err error) error { return formatError(location, err) }
	store := &sqlstore.DB{
		RW: db, RO: db,
		Engine: "postgres", Location: location,
		Dialect: sqlstore.Dialect{
			Placeholders: true,
			Time:         func(t time.Time) any { return t },
			TimeType:     "TIMESTAMPTZ",
			IDType:       "UUID",
			LockKeyRows:  " FOR NO KEY UPDATE",
			LowTime:      "'-infinity'::timestamptz",
			HighTime:     "'infinity'::timestamptz",
			TextOrder:    ` COLLATE "C"`,
			LockOwner: func(ctx context.Context, tx *sql.Tx, key string) error {
				_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey(key))
				return err
			},
			ViewOptions: &sql.TxOptions{ReadOnly: true},
			FormatError: format,
			Greatest:    "GREATEST",
		},
		Migrations: &sqlstore.Migrations{
			Dialect: goose.DialectPostgres,
			FS:      sqlstore.MigrationFS(migrationFiles, "migrations"),
			Locker:  migrationLocker(),
		},
	}
	if err := pooler.settle(ctx, db, cfg, &store.Dialect); err != nil {
		db.Close()
		return nil, format(err)
	}
	return store, nil
}

func lockKey(s string) int64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return int64(h.Sum64())
}

// redactParseError keeps pgx's reason but never the URL, which may hold a
// password.
func redactParseError(err error) string {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) && pe.Unwrap() != nil {
		return pe.Unwrap().Error()
	}
	return "cannot parse it"
}

func formatError(location string, err error) error {
	unavailable := func(why string) error {
		return &apikey.Error{Code: apikey.EUNAVAILABLE, Err: err, Message: "postgres " + apikey.QuotePath(location) + ": " + why}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "28P01", "28000":
			return unavailable("authentication failed for user (check the user and password)")
		case "3D000":
			return unavailable("database does not exist")
		case "57P01", "57P02", "57P03":
			return unavailable("server is shutting down or starting up; try again")
		case "53300":
			return unavailable("too many connections")
		case "42501":
			return unavailable("permission denied: " + pgErr.Message)
		}
		return &apikey.Error{Code: apikey.EINTERNAL, Err: err, Message: "postgres " + apikey.QuotePath(location) + ": " + pgErr.Message + " (" + pgErr.Code + ")"}
	}
	var netErr net.Error
	var connErr *pgconn.ConnectError
	switch {
	case errors.As(err, &connErr) && notPostgres(err):
		return unavailable("did not answer as a PostgreSQL server (is the --db URL right?)")
	case errors.As(err, &connErr):
		return unavailable("cannot connect: " + connectCause(err))
	case errors.Is(err, context.DeadlineExceeded):
		return unavailable("timed out waiting for the server")
	case errors.As(err, &netErr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone), pgconn.SafeToRetry(err),
		strings.Contains(err.Error(), "conn closed"):
		return unavailable("lost the connection to the server (" + connectCause(err) + "); nothing more was written, try again")
	}
	return err
}

// notPostgres tells a connection refused because the server answered the
// startup message with something other than the PostgreSQL protocol: an
// HTTP, SSH or Redis server, say, whose first bytes read as an absurd
// message length or an unknown message type. A PostgreSQL server never does.
func notPostgres(err error) bool {
	var tooLong *pgproto3.ExceededMaxBodyLenErr
	if errors.As(err, &tooLong) {
		return true
	}
	msg := err.Error()
	for _, garbled := range []string{"unknown message type", "invalid message length", "received unexpected message"} {
		if strings.Contains(msg, garbled) {
			return true
		}
	}
	return false
}

// connectCause is the last, most specific part of a connection error.
func connectCause(err error) string {
	msg := err.Error()
	for _, cause := range []string{"connection refused", "no such host", "i/o timeout", "network is unreachable", "connection reset by peer", "server closed the connection"} {
		if strings.Contains(msg, cause) {
			return cause
		}
	}
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}

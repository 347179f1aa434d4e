// Package sqlite opens keyadm's store on an embedded SQLite file
// (modernc.org/sqlite, pure Go).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Options tune Open.
type Options struct {
	// Warn receives warnings, such as a database readable by others.
	Warn func(string)
	// MustExist refuses to create the file (or its folder).
	MustExist bool
}

// busyTimeout is how long a writer waits for another process's write lock
// before giving up; writers queue instead of failing with "database is locked".
const busyTimeout = 30 * time.Second

// Page caches per connection. SQLite's default (2 MiB) is outgrown by a
// large tenant's indexes: each new key enters nine B-trees at scattered
// places, and seeding a million keys took 131 s with it, 38 s with 64 MiB
// (BENCHMARKS.md). Readers look up one index path per query and also have
// the operating system's cache behind them, so they get less.
const (
	writerCacheKiB = 64 << 10
	readerCacheKiB = 16 << 10
)

// Open opens (creating if needed, 0600 in a 0700 folder) the SQLite
// database at path. It does not migrate; call Migrate.
func Open(path string, opts Options) (*sqlstore.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, apikey.Errorf(apikey.EINVALID, "invalid database path %q: %v", path, err)
	}
	if err := prepareFile(abs, opts); err != nil {
		return nil, err
	}
	dsn := func(txlock string, cacheKiB int) string {
		q := url.Values{}
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
		q.Add("_pragma", "journal_mode(WAL)")
		// FULL: a commit is on disk before keyadm prints the secret it stored.
		q.Add("_pragma", "synchronous(FULL)")
		q.Add("_pragma", "foreign_keys(1)")
		// A negative cache_size is in KiB; SQLite allocates pages as it
		// reads them, so a small database never uses it all.
		q.Add("_pragma", fmt.Sprintf("cache_size(-%d)", cacheKiB))
		q.Set("_txlock", txlock)
		return "file:" + (&url.URL{Path: filepath.ToSlash(abs)}).EscapedPath() + "?" + q.Encode()
	}
	// Writers take the write lock when they begin (BEGIN IMMEDIATE), so a
	// transaction never has to upgrade a read lock and fail with SQLITE_BUSY:
	// it waits its turn instead. That also serialises quota checks.
	rw, err := sql.Open("sqlite", dsn("immediate", writerCacheKiB))
	if err != nil {
		return nil, err
	}
	rw.SetMaxOpenConns(1)
	ro, err := sql.Open("sqlite", dsn("deferred", readerCacheKiB))
	if err != nil {
		rw.Close()
		return nil, err
	}
	ro.SetMaxOpenConns(4)
	// Keep them all: a reopened connection starts with a cold page cache.
	ro.SetMaxIdleConns(4)
	db := &sqlstore.DB{
		RW: rw, RO: ro,
		Engine: "sqlite", Location: abs,
		Dialect: sqlstore.Dialect{
			Time:            func(t time.Time) any { return t.UnixMicro() },
			CacheStatements: true,
			LowTime:         "-9223372036854775808",
			HighTime:        "9223372036854775807",
			FormatError:     func(err error) error { return formatError(abs, err) },
		},
		Migrations: &sqlstore.Migrations{
			Dialect: goose.DialectSQLite3,
			FS:      mustSub(migrationFiles, "migrations"),
			Lock:    fileLock(abs + ".lock"),
		},
	}
	// Opening is lazy; a first connection tells a bad file at once. It
	// also switches a new file to WAL, which SQLite refuses at once (no busy
	// wait) while another process does the same: so connect under the file
	// lock the migrations use.
	unlock, err := db.Migrations.Lock(context.Background())
	if err != nil {
		db.Close()
		return nil, unavailable(abs, "cannot lock: %v", err)
	}
	err = rw.Ping()
	if err == nil {
		err = ro.Ping()
	}
	unlock()
	if err != nil {
		db.Close()
		return nil, formatError(abs, err)
	}
	return db, nil
}

// prepareFile creates the folder (0700) and the file (0600) when missing,
// so the database is private from the first byte, and warns when an
// existing one is readable by others.
func prepareFile(path string, opts Options) error {
	if opts.MustExist {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return unavailable(path, "no database there: check --db (or KEYADM_DB); keyadm create starts a new one")
		}
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return unavailable(path, "cannot create folder: %v", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			// A read-only file or folder: let SQLite try, it can still read.
			if _, statErr := os.Stat(path); statErr == nil {
				return nil
			}
		}
		return unavailable(path, "cannot open: %v", pathless(err))
	}
	info, err := f.Stat()
	f.Close()
	if err != nil {
		return unavailable(path, "cannot stat: %v", err)
	}
	if info.IsDir() {
		return unavailable(path, "is a folder, not a database file")
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 && opts.Warn != nil {
		opts.Warn(fmt.Sprintf("database %s is readable or writable by others (mode %04o); run: chmod 600 %s", path, perm, path))
	}
	return nil
}

func fileLock(path string) func(context.Context) (func(), error) {
	return func(ctx context.Context) (func(), error) {
		l := flock.New(path, flock.SetPermissions(0o600))
		ok, err := l.TryLockContext(ctx, 20*time.Millisecond)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errors.New("could not take the migration lock")
		}
		return func() { _ = l.Unlock() }, nil
	}
}

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

func unavailable(path, format string, args ...any) error {
	return &apikey.Error{Code: apikey.EUNAVAILABLE, Message: "sqlite " + path + ": " + fmt.Sprintf(format, args...)}
}

// pathless drops the path an *fs.PathError repeats, since messages name it once.
func pathless(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func formatError(path string, err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	msg := strings.TrimSpace(se.Error())
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return &apikey.Error{Code: apikey.EUNAVAILABLE, Err: err,
			Message: fmt.Sprintf("sqlite %s: database stayed locked by another process for %s; try again", path, busyTimeout)}
	case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM:
		return &apikey.Error{Code: apikey.EUNAVAILABLE, Err: err, Message: "sqlite " + path + ": database is read-only: " + msg}
	case sqlite3.SQLITE_FULL:
		return &apikey.Error{Code: apikey.EUNAVAILABLE, Err: err, Message: "sqlite " + path + ": disk full; nothing was written"}
	case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR:
		return &apikey.Error{Code: apikey.EUNAVAILABLE, Err: err, Message: "sqlite " + path + ": " + msg}
	case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
		return &apikey.Error{Code: apikey.EUNAVAILABLE, Err: err, Message: "sqlite " + path + ": not a keyadm database or damaged: " + msg}
	}
	return &apikey.Error{Code: apikey.EINTERNAL, Err: err, Message: "sqlite " + path + ": " + msg}
}

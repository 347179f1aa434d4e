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
	"sync"
	"syscall"
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
		return nil, apikey.Errorf(apikey.EINVALID, "invalid database path %s: %v", apikey.QuotePath(path), err)
	}
	readOnly, err := prepareFile(abs, opts)
	if err != nil {
		return nil, err
	}
	// Without write access, reads still work (https://www.sqlite.org/wal.html#readonly):
	// a read-only connection uses the -wal and -shm files of a writer that
	// has the database open. With no -wal, nobody has it open and the file
	// holds every commit: it is read as immutable, which needs no -shm (none
	// could be created in a read-only folder) and leaves no file behind. A
	// writer that starts during such a read is not seen; a command is short.
	_, walErr := os.Lstat(abs + "-wal")
	immutable := readOnly != "" && errors.Is(walErr, fs.ErrNotExist)
	// Writers take the write lock when they begin (BEGIN IMMEDIATE), so a
	// transaction never has to upgrade a read lock and fail with SQLITE_BUSY:
	// it waits its turn instead. That also serialises quota checks.
	rw, err := sql.Open("sqlite", dsn(abs, readOnly != "", immutable, "immediate", writerCacheKiB))
	if err != nil {
		return nil, err
	}
	rw.SetMaxOpenConns(1)
	ro, err := sql.Open("sqlite", dsn(abs, readOnly != "", immutable, "deferred", readerCacheKiB))
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
			TimeType:        "INTEGER",
			IDType:          "TEXT",
			CacheStatements: true,
			LowTime:         "-9223372036854775808",
			HighTime:        "9223372036854775807",
			FormatError:     func(err error) error { return formatError(abs, readOnly, err) },
			KeysVersioned:   keysVersioned,
		},
		Migrations: &sqlstore.Migrations{
			Dialect: goose.DialectSQLite3,
			FS:      sqlstore.MigrationFS(migrationFiles, "migrations"),
		},
	}
	locker := &fileLocker{path: abs + ".lock"}
	if readOnly == "" {
		// Where nothing can write there is nothing to serialise (and no
		// lock file may be creatable).
		db.Migrations.Locker = locker
	}
	// Opening is lazy; a first connection tells a bad file at once. It
	// also switches a new file to WAL, which SQLite refuses at once (no busy
	// wait) while another process does the same: so connect under the file
	// lock the migrations use. One connection, of the read pool: a read
	// command's schema check and query then need no other, and each new
	// connection costs the parsing of the schema and of its statistics
	// (0.5 ms at 100k keys); the write pool connects on its first write.
	unlock, err := locker.lock(context.Background(), readOnly == "")
	if err != nil {
		db.Close()
		return nil, unavailable(abs, "cannot lock: %v", err)
	}
	err = ro.Ping()
	unlock()
	if err != nil {
		db.Close()
		return nil, formatError(abs, readOnly, err)
	}
	return db, nil
}

// dsn is the driver's name for the database at abs: its pragmas, the
// BEGIN of its transactions, and how a read-only one is opened.
func dsn(abs string, readOnly, immutable bool, txlock string, cacheKiB int) string {
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
	if readOnly {
		q.Set("mode", "ro")
	}
	if immutable {
		q.Set("immutable", "1")
	}
	return "file:" + (&url.URL{Path: filepath.ToSlash(abs)}).EscapedPath() + "?" + q.Encode()
}

// prepareFile creates the folder (0700) and the file (0600) when missing,
// so the database is private from the first byte, and warns when an
// existing one is readable by others. It returns why this user cannot
// write the database, "" when it can.
func prepareFile(path string, opts Options) (readOnly string, err error) {
	if opts.MustExist {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return "", unavailable(path, "no database there: check --db (or KEYADM_DB); keyadm create starts a new one")
		}
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", unavailable(path, "cannot create folder: %v", apikey.Pathless(err))
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		// A file this user may read but not write is opened read-only.
		if r, readErr := os.Open(path); readErr == nil {
			f, readOnly, err = r, readOnlyReason("the file", err), nil
		}
	}
	if err != nil {
		return "", unavailable(path, "cannot open: %v", apikey.Pathless(err))
	}
	info, err := f.Stat()
	f.Close()
	if err != nil {
		return "", unavailable(path, "cannot stat: %v", apikey.Pathless(err))
	}
	if info.IsDir() {
		return "", unavailable(path, "is a folder, not a database file")
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 && opts.Warn != nil {
		opts.Warn(fmt.Sprintf("database %s is readable or writable by others (mode %04o); run: chmod 600 %s", apikey.QuotePath(path), perm, apikey.QuotePath(path)))
	}
	if readOnly == "" {
		if err := canWrite(dir); err != nil {
			readOnly = readOnlyReason("its folder "+apikey.QuotePath(dir)+", where SQLite keeps the -wal and -shm files", err)
		}
	}
	return readOnly, nil
}

// readOnlyReason says why this user cannot write what, and what to do.
func readOnlyReason(what string, err error) string {
	if errors.Is(err, syscall.EROFS) {
		return "the file system is mounted read-only; remount it read-write or copy the database elsewhere"
	}
	return fmt.Sprintf("this user may not write %s (%v); run keyadm as a user who may, or grant this one write permission", what, apikey.Pathless(err))
}

// fileLocker is the lock file under which a process migrates (goose holds
// it as its Locker) or makes a new file WAL: SQLite refuses that at once,
// with no busy wait, while another process does the same. flock(2)
// excludes other open files in this process as well as other processes.
type fileLocker struct {
	path   string
	mu     sync.Mutex
	unlock func()
}

// lock blocks until this process alone holds the file, when enabled.
func (l *fileLocker) lock(ctx context.Context, enabled bool) (unlock func(), err error) {
	if !enabled {
		return func() {}, nil
	}
	f := flock.New(l.path, flock.SetPermissions(0o600))
	ok, err := f.TryLockContext(ctx, 20*time.Millisecond)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errors.New("could not take the migration lock")
	}
	return func() { _ = f.Unlock() }, nil
}

// Lock takes the lock for goose.
func (l *fileLocker) Lock(ctx context.Context, _ *sql.DB) error {
	unlock, err := l.lock(ctx, true)
	if err != nil {
		return fmt.Errorf("lock for migrations: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.unlock = unlock
	return nil
}

// Unlock releases what Lock took.
func (l *fileLocker) Unlock(context.Context, *sql.DB) error {
	l.mu.Lock()
	unlock := l.unlock
	l.unlock = nil
	l.mu.Unlock()
	if unlock != nil {
		unlock()
	}
	return nil
}

func unavailable(path, format string, args ...any) error {
	return sqliteError(apikey.EUNAVAILABLE, path, nil, fmt.Sprintf(format, args...))
}

// sqliteError is an application error about the database at path, which
// it names clipped (a --db may be any length).
func sqliteError(code, path string, err error, msg string) error {
	return &apikey.Error{Code: code, Err: err, Message: "sqlite " + apikey.QuotePath(path) + ": " + msg}
}

// formatError turns a driver error into an application error; readOnly
// is why this user cannot write the database ("" if it can).
func formatError(path, readOnly string, err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	msg := strings.TrimSpace(se.Error())
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return sqliteError(apikey.EUNAVAILABLE, path, err, fmt.Sprintf("database stayed locked by another process for %s; try again", busyTimeout))
	case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM:
		if readOnly != "" {
			msg = readOnly
		}
		return sqliteError(apikey.EUNAVAILABLE, path, err, "database is read-only: "+msg)
	case sqlite3.SQLITE_FULL:
		return sqliteError(apikey.EUNAVAILABLE, path, err, "disk full; nothing was written")
	case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR:
		return sqliteError(apikey.EUNAVAILABLE, path, err, msg)
	case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
		return sqliteError(apikey.EUNAVAILABLE, path, err, "not a keyadm database or damaged: "+msg)
	}
	return sqliteError(apikey.EINTERNAL, path, err, msg)
}

// keyTriggers move the keys' version on every change to what verify reads
// of a key (migration 00007).
var keyTriggers = []any{"api_keys_insert_authority", "api_keys_delete_authority",
	"api_keys_update_authority", "api_keys_credits_authority"}

// keysVersioned reports whether the database has all of keyTriggers, so
// that serve keeps verified keys only where something moves the keys'
// version.
func keysVersioned(ctx context.Context, db *sql.DB) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN (?, ?, ?, ?)`,
		keyTriggers...).Scan(&n)
	return n == len(keyTriggers), err
}

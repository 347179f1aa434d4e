// Package sqlstore implements apikey.Store once over database/sql. The
// engines (sqlite, postgres) supply a Dialect: how they bind parameters,
// store times, serialise quota checks and report errors.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// Dialect holds what differs between engines.
type Dialect struct {
	// Placeholders is true for engines that number parameters ($1, $2, …).
	Placeholders bool
	// Time converts a time to the engine's stored form, and TimeType
	// names that form's SQL type, for parameters whose type the engine
	// cannot infer (a VALUES list).
	Time     func(time.Time) any
	TimeType string
	// IDType is the SQL type of key ids, for the same reason.
	IDType string
	// LockKeyRows ends a SELECT that locks the rows it reads, in its
	// order, for engines whose writers lock rows ("" where one writer
	// holds the whole database).
	LockKeyRows string
	// LowTime and HighTime are SQL literals sorting before and after every
	// stored time: where a missing last use or expiry falls in an order.
	LowTime, HighTime string
	// TextOrder follows a text column wherever it is ordered or compared,
	// so names sort byte-wise on every engine whatever its collation.
	TextOrder string
	// LockOwner serialises quota checks for one tenant and owner until the
	// transaction ends; nil where the engine already serialises writers.
	LockOwner func(ctx context.Context, tx *sql.Tx, key string) error
	// CacheStatements prepares each statement once per transaction, for
	// drivers that would parse it again on every call.
	CacheStatements bool
	// NoPrepare keeps every statement unprepared on the server: behind a
	// transaction pooler the next one may run on another connection.
	NoPrepare bool
	// ViewOptions are the options of read transactions.
	ViewOptions *sql.TxOptions
	// FormatError turns driver errors into application errors.
	FormatError func(error) error
	// Greatest is the engine's two-argument maximum function (default MAX).
	Greatest string
	// KeysVersioned reports whether the database's triggers move the
	// keys' version (authority_version.keys_n) on every change to what
	// verify reads of a key, so that serve may keep verified keys
	// (keyCache); nil where they never do.
	KeysVersioned func(ctx context.Context, db *sql.DB) (bool, error)
}

// DB is an apikey.Store on database/sql.
type DB struct {
	// RW serves write transactions, RO read transactions (they may be the same).
	RW, RO     *sql.DB
	Dialect    Dialect
	Migrations *Migrations
	// Engine and Location name the database for messages; Location never
	// holds a password.
	Engine, Location string
	// Now is the clock; tests set it.
	Now func() time.Time
	Log *slog.Logger

	// stmts caches prepared statements of the hot paths, per pool: parsing
	// SQL costs more than running an indexed lookup.
	stmts sync.Map // stmtKey → *sql.Stmt
	// authority is what verified keys inherit, kept while the database's
	// authority version stands (see KeyByHash).
	authority authorityCache
	// keys are the keys verified before, kept while the keys' version
	// stands, where the engine's triggers move it (see keyCache).
	keys keyCache
}

type stmtKey struct {
	pool  *sql.DB
	query string
}

var _ apikey.Store = (*DB)(nil)

// Close closes both pools.
func (db *DB) Close() error {
	db.stmts.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
	err := db.RW.Close()
	if db.RO != db.RW {
		err = errors.Join(err, db.RO.Close())
	}
	return err
}

func (db *DB) now() time.Time {
	now := time.Now
	if db.Now != nil {
		now = db.Now
	}
	// Microseconds are what every engine keeps.
	return now().UTC().Truncate(time.Microsecond)
}

// Update runs fn in a write transaction.
func (db *DB) Update(ctx context.Context, fn func(apikey.Tx) error) error {
	return db.run(ctx, "write", db.RW, nil, fn)
}

// Peek runs fn outside a transaction, on the read pool: each statement
// sees the latest commit. It saves the round trips of BEGIN and COMMIT for
// single-read hot paths such as verification.
func (db *DB) Peek(ctx context.Context, fn func(apikey.Tx) error) error {
	if err := fn(&Tx{ctx: ctx, db: db, pool: db.RO, now: db.now()}); err != nil {
		return db.formatError(err)
	}
	return nil
}

// View runs fn in a read transaction.
func (db *DB) View(ctx context.Context, fn func(apikey.Tx) error) error {
	return db.run(ctx, "read", db.RO, db.Dialect.ViewOptions, fn)
}

func (db *DB) run(ctx context.Context, kind string, pool *sql.DB, opts *sql.TxOptions, fn func(apikey.Tx) error) error {
	start := time.Now()
	sqlTx, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return db.formatError(err)
	}
	tx := &Tx{tx: sqlTx, ctx: ctx, db: db, pool: pool, now: db.now()}
	db.debug("transaction begun", "kind", kind, "waited", time.Since(start).Round(time.Microsecond))
	defer func() {
		for _, st := range tx.stmts {
			st.Close()
		}
	}()
	if err := fn(tx); err != nil {
		_ = sqlTx.Rollback()
		if ctxErr := ctx.Err(); ctxErr != nil {
			// Cancelled: whatever the driver made of it (a closed
			// statement, a broken connection), nothing was committed.
			return ctxErr
		}
		db.debug("transaction rolled back", "kind", kind, "cause", apikey.ErrorCode(err))
		return db.formatError(err)
	}
	if err := sqlTx.Commit(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && (errors.Is(err, sql.ErrTxDone) || errors.Is(err, ctxErr)) {
			// Cancelled just before the commit: database/sql rolled the
			// transaction back, so nothing was committed.
			return ctxErr
		}
		return db.formatError(err)
	}
	db.debug("transaction committed", "kind", kind, "took", time.Since(start).Round(time.Microsecond))
	return nil
}

func (db *DB) debug(msg string, args ...any) {
	if db.Log != nil {
		db.Log.Debug(msg, args...)
	}
}

// debugSQL logs a statement (never its arguments), folding its white space
// only when someone listens.
func (db *DB) debugSQL(msg, q string) {
	if db.Log != nil && db.Log.Enabled(context.Background(), slog.LevelDebug) {
		db.Log.Debug(msg, "sql", apikey.OneLine(q))
	}
}

func (db *DB) formatError(err error) error {
	var ae *apikey.Error
	if err == nil || errors.As(err, &ae) || db.Dialect.FormatError == nil {
		return err
	}
	return db.Dialect.FormatError(err)
}

// hotQueries are the statements worth preparing once: the verify path.
var hotQueries = []string{queryKeyByHash, queryGrantByHash, queryVersions, execRecordUse, queryConfigValues, execAddUsage}

// prepareHot prepares the hot statements on both pools, outside any
// transaction: preparing inside one could wait for a connection the
// transaction itself holds. A transaction then re-prepares a statement on
// its own connection at most once (database/sql keeps it).
func (db *DB) prepareHot(ctx context.Context) error {
	if db.Dialect.KeysVersioned != nil {
		on, err := db.Dialect.KeysVersioned(ctx, db.RO)
		if err != nil {
			return err
		}
		db.keys.on.Store(on)
	}
	if db.Dialect.NoPrepare {
		return nil
	}
	for _, pool := range []*sql.DB{db.RW, db.RO} {
		for _, q := range hotQueries {
			q = db.Dialect.Rebind(q)
			key := stmtKey{pool, q}
			if _, ok := db.stmts.Load(key); ok {
				continue
			}
			st, err := pool.PrepareContext(ctx, q)
			if err != nil {
				return err
			}
			db.stmts.Store(key, st)
		}
	}
	return nil
}

// prepared returns the cached statement for q on pool, or nil.
func (db *DB) prepared(pool *sql.DB, q string) *sql.Stmt {
	if st, ok := db.stmts.Load(stmtKey{pool, q}); ok {
		return st.(*sql.Stmt)
	}
	return nil
}

// Rebind turns ? placeholders into $n for engines that number them.
//
// +? is a parameter whose value must not steer the plan: SQLite keeps the
// unary plus, which hides the value from the planner's STAT4 samples, so
// binding it does not re-prepare the statement; engines that number
// parameters take it as a plain one (PostgreSQL has no unary plus on bytea).
func (d Dialect) Rebind(q string) string {
	if !d.Placeholders {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '+' && i+1 < len(q) && q[i+1] == '?' {
			continue
		}
		if q[i] == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// Migrate applies pending migrations.
func (db *DB) Migrate(ctx context.Context) ([]int64, error) {
	applied, err := db.Migrations.Up(ctx, db.RW, db.RO)
	return applied, db.formatError(err)
}

// PrepareHot prepares the verify path's statements once, for a long-lived
// process such as the server; a one-shot command would only pay for it.
func (db *DB) PrepareHot(ctx context.Context) error {
	return db.formatError(db.prepareHot(ctx))
}

// SchemaStatus reports the schema version.
func (db *DB) SchemaStatus(ctx context.Context) (*SchemaStatus, error) {
	s, err := db.Migrations.Status(ctx, db.RW)
	return s, db.formatError(err)
}

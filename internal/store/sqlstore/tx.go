package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Tx is an apikey.Tx on a database/sql transaction.
type Tx struct {
	tx   *sql.Tx // nil outside a transaction (Peek)
	ctx  context.Context
	db   *DB
	pool *sql.DB
	now  time.Time
	// stmts are the statements this transaction prepared, where the
	// dialect asks for it: a sweep runs the same few thousands of times.
	stmts map[string]*sql.Stmt
}

// prepare returns q prepared in the transaction, once, or nil where the
// dialect does not cache statements (pgx caches them per connection).
func (tx *Tx) prepare(q string) (*sql.Stmt, error) {
	if tx.tx == nil || !tx.db.Dialect.CacheStatements {
		return nil, nil
	}
	if st, ok := tx.stmts[q]; ok {
		return st, nil
	}
	st, err := tx.tx.PrepareContext(tx.ctx, q)
	if err != nil {
		return nil, err
	}
	if tx.stmts == nil {
		tx.stmts = map[string]*sql.Stmt{}
	}
	tx.stmts[q] = st
	return st, nil
}

// querier is what runs statements: the transaction, or the pool itself
// outside one.
type querier interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

func (tx *Tx) q() querier {
	if tx.tx == nil {
		return tx.pool
	}
	return tx.tx
}

// stmt binds a prepared statement to the transaction, if there is one.
func (tx *Tx) stmt(st *sql.Stmt) *sql.Stmt {
	if tx.tx == nil {
		return st
	}
	return tx.tx.StmtContext(tx.ctx, st)
}

// Now is the time the transaction started.
func (tx *Tx) Now() time.Time { return tx.now }

func (tx *Tx) exec(q string, args ...any) (sql.Result, error) {
	tx.db.debugSQL("exec", q)
	q = tx.db.Dialect.Rebind(q)
	if st, err := tx.prepare(q); err != nil {
		return nil, err
	} else if st != nil {
		return st.ExecContext(tx.ctx, args...)
	}
	return tx.q().ExecContext(tx.ctx, q, args...)
}

// hotQuery runs one of hotQueries, prepared once, where it was prepared.
func (tx *Tx) hotQuery(q string, args ...any) (*sql.Rows, error) {
	if st := tx.db.prepared(tx.pool, tx.db.Dialect.Rebind(q)); st != nil {
		tx.db.debugSQL("query (prepared)", q)
		return tx.stmt(st).QueryContext(tx.ctx, args...)
	}
	return tx.query(q, args...)
}

// hotExec is hotQuery for statements that return no rows.
func (tx *Tx) hotExec(q string, args ...any) (sql.Result, error) {
	if st := tx.db.prepared(tx.pool, tx.db.Dialect.Rebind(q)); st != nil {
		tx.db.debugSQL("exec (prepared)", q)
		return tx.stmt(st).ExecContext(tx.ctx, args...)
	}
	return tx.exec(q, args...)
}

func (tx *Tx) query(q string, args ...any) (*sql.Rows, error) {
	tx.db.debugSQL("query", q)
	q = tx.db.Dialect.Rebind(q)
	if st, err := tx.prepare(q); err != nil {
		return nil, err
	} else if st != nil {
		return st.QueryContext(tx.ctx, args...)
	}
	return tx.q().QueryContext(tx.ctx, q, args...)
}

func (tx *Tx) t(t time.Time) any { return tx.db.Dialect.Time(t) }

func (tx *Tx) tp(t *time.Time) any {
	if t == nil {
		return nil
	}
	return tx.t(*t)
}

// placeholders is n comma-separated ? marks.
func placeholders(n int) string { return repeatList("?", n) }

// repeatList is n copies of item, comma-separated: a VALUES list of n rows.
func repeatList(item string, n int) string {
	return strings.TrimSuffix(strings.Repeat(item+", ", n), ", ")
}

// timeValue scans a time stored either as integer microseconds since the
// epoch (SQLite) or as a native timestamp (PostgreSQL).
type timeValue struct{ t time.Time }

func (v *timeValue) Scan(src any) error {
	switch s := src.(type) {
	case int64:
		v.t = time.UnixMicro(s).UTC()
	case time.Time:
		v.t = s.UTC()
	default:
		return fmt.Errorf("cannot scan %T as a time", src)
	}
	return nil
}

type nullTime struct{ p *time.Time }

func (v *nullTime) Scan(src any) error {
	if src == nil {
		v.p = nil
		return nil
	}
	var t timeValue
	if err := t.Scan(src); err != nil {
		return err
	}
	v.p = &t.t
	return nil
}

package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// kind is what a column holds, as far as moving a value between engines
// needs to know: SQLite keeps times and booleans as integers, PostgreSQL
// natively; PostgreSQL returns JSON as bytes, SQLite keeps it as text.
type kind int

const (
	kindOther kind = iota
	kindInteger
	kindText
	kindBytes
	kindTime
	kindBool
)

type column struct {
	name string
	kind kind
}

// catalog reads an engine's schema: its tables (keyadm's, without the
// migration bookkeeping) and their columns.
type catalog struct {
	tables  string // SQL: one table name a row
	columns string // SQL with one parameter, the table: name and type a row
	kinds   map[string]kind
	// snapshot is the isolation under which one transaction sees one
	// state of every table (SQLite's transactions always do).
	snapshot sql.IsolationLevel
	// afterCopy brings what numbers new rows (PostgreSQL's sequences)
	// past the rows a copy inserted with their ids; nil where inserting
	// an id does that already (SQLite's AUTOINCREMENT).
	afterCopy func(ctx context.Context, tx *sql.Tx, table string, cols []column) error
}

// catalogs by DB.Engine: the schema's own description differs by engine,
// the copy that reads it does not. goose's own tables (its version table
// and, on PostgreSQL, its migration lock) are not the store's data.
var catalogs = map[string]*catalog{
	"sqlite": {
		tables: `SELECT name FROM sqlite_master WHERE type = 'table'
			AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name NOT IN ('goose_db_version', 'goose_lock') ORDER BY name`,
		columns: `SELECT name, upper(type) FROM pragma_table_info(?) ORDER BY cid`,
		kinds:   map[string]kind{"INTEGER": kindInteger, "TEXT": kindText, "BLOB": kindBytes},
	},
	"postgres": {
		tables: `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()
			AND table_type = 'BASE TABLE' AND table_name NOT IN ('goose_db_version', 'goose_lock') ORDER BY table_name`,
		columns: `SELECT column_name, data_type FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = ? AND is_generated = 'NEVER'
			ORDER BY ordinal_position`,
		kinds: map[string]kind{
			"timestamp with time zone": kindTime, "timestamp without time zone": kindTime,
			"boolean": kindBool, "bytea": kindBytes, "text": kindText, "uuid": kindText,
			"character varying": kindText, "jsonb": kindText, "json": kindText,
			"bigint": kindInteger, "integer": kindInteger, "smallint": kindInteger,
		},
		snapshot:  sql.LevelRepeatableRead,
		afterCopy: resetSequences,
	},
}

func (db *DB) catalog() (*catalog, error) {
	c, ok := catalogs[db.Engine]
	if !ok {
		return nil, fmt.Errorf("no catalog for engine %q", db.Engine)
	}
	return c, nil
}

// Tables lists the schema's tables, but goose's own, by name.
func (db *DB) Tables(ctx context.Context) ([]string, error) {
	c, err := db.catalog()
	if err != nil {
		return nil, err
	}
	rows, err := db.RW.QueryContext(ctx, c.tables)
	if err != nil {
		return nil, db.formatError(err)
	}
	return scanStrings(rows)
}

func (db *DB) columns(ctx context.Context, q querier, table string) ([]column, error) {
	c, err := db.catalog()
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, db.Dialect.Rebind(c.columns), table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []column
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, err
		}
		cols = append(cols, column{name: name, kind: c.kinds[typ]})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("table %s has no columns", table)
	}
	return cols, nil
}

func scanStrings(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// convert turns a value read from one engine into what a column of kind k
// takes on the other.
func convert(v any, k kind) any {
	switch k {
	case kindTime:
		if n, ok := v.(int64); ok {
			return time.UnixMicro(n).UTC()
		}
	case kindBool:
		if n, ok := v.(int64); ok {
			return n != 0
		}
	case kindInteger:
		switch x := v.(type) {
		case time.Time:
			return x.UTC().UnixMicro()
		case bool:
			if x {
				return int64(1)
			}
			return int64(0)
		}
	case kindText:
		if b, ok := v.([]byte); ok {
			return string(b)
		}
	}
	return v
}

// resetSequences sets each serial or identity column's sequence past the
// largest id copied, so the next row PostgreSQL numbers does not collide.
func resetSequences(ctx context.Context, tx *sql.Tx, table string, cols []column) error {
	for _, c := range cols {
		var seq sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT pg_get_serial_sequence($1, $2)`, table, c.name).Scan(&seq); err != nil {
			return err
		}
		if !seq.Valid {
			continue
		}
		q := fmt.Sprintf(`SELECT setval($1, (SELECT COALESCE(MAX(%s), 0) FROM %s) + 1, false)`, quoteIdent(c.name), quoteIdent(table))
		if _, err := tx.ExecContext(ctx, q, seq.String); err != nil {
			return err
		}
	}
	return nil
}

// quoteIdent quotes a table or column name read from the catalog.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/keyadm/keyadm/internal/apikey"
)

// CopyTables are the tables a copy moves, parents before the tables that
// refer to them. Copy refuses a schema with a table not listed here (and
// a test compares this list with the migrated schema), so a new
// migration's table cannot be left out of copies unnoticed. Users and
// teams (principals) come before the keys that name them as owner or team;
// usage counts and rate-limit state come last.
var CopyTables = []string{"principals", "api_keys", "tenant_config", "audit_events", "key_usage", "rate_limit_state"}

// LocalTables are the tables each database keeps for itself, which a copy
// leaves alone: the authority version (see KeyByHash), which the copy's
// own inserts move in the target.
var LocalTables = []string{"authority_version"}

// maxCopyParams bounds the parameters of one INSERT, under both engines'
// limits (SQLite 32766, PostgreSQL 65535).
const maxCopyParams = 16000

// CopyOptions tune Copy.
type CopyOptions struct {
	// Force empties a target that holds rows, in the copy's transaction,
	// instead of refusing it.
	Force bool
	// Start hears how many rows the copy will move, before the first.
	Start func(total int64)
	// Progress hears each batch of rows inserted (not yet committed).
	Progress func(rows int)
}

// TableCount is how many rows a copy moved into one table.
type TableCount struct {
	Table string `json:"table" yaml:"table"`
	Rows  int64  `json:"rows" yaml:"rows"`
}

// Copy copies every row of every table from src to dst, in one
// transaction on dst: all or nothing. Both schemas must be migrated to the
// same version. Values keep their meaning across engines (times, booleans,
// JSON), and bytes such as key hashes move unchanged.
func Copy(ctx context.Context, src, dst *DB, opts CopyOptions) ([]TableCount, error) {
	for _, db := range []*DB{src, dst} {
		if err := checkCopyTables(ctx, db); err != nil {
			return nil, err
		}
	}
	// One snapshot of the source, however long the copy takes.
	readOpts := sql.TxOptions{Isolation: src.catalogOrNil().snapshot}
	if vo := src.Dialect.ViewOptions; vo != nil {
		readOpts.ReadOnly = vo.ReadOnly
	}
	read, err := src.RO.BeginTx(ctx, &readOpts)
	if err != nil {
		return nil, src.formatError(err)
	}
	defer read.Rollback()
	var total int64
	for _, t := range CopyTables {
		n, err := countRows(ctx, read, t)
		if err != nil {
			return nil, src.formatError(err)
		}
		total += n
	}
	if opts.Start != nil {
		opts.Start(total)
	}
	var counts []TableCount
	err = dst.run(ctx, "write", dst.RW, nil, func(atx apikey.Tx) error {
		tx := atx.(*Tx)
		if err := emptyTarget(ctx, tx.tx, dst, opts.Force); err != nil {
			return err
		}
		counts = counts[:0]
		for _, t := range CopyTables {
			n, err := copyTable(ctx, read, tx.tx, dst, t, opts.Progress)
			if err != nil {
				return fmt.Errorf("copy %s: %w", t, err)
			}
			counts = append(counts, TableCount{Table: t, Rows: n})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

func (db *DB) catalogOrNil() *catalog {
	if c, ok := catalogs[db.Engine]; ok {
		return c
	}
	return &catalog{}
}

// checkCopyTables refuses a schema whose tables are not CopyTables.
func checkCopyTables(ctx context.Context, db *DB) error {
	have, err := db.Tables(ctx)
	if err != nil {
		return err
	}
	want := slices.Sorted(slices.Values(CopyTables))
	have = slices.DeleteFunc(have, func(t string) bool { return slices.Contains(LocalTables, t) })
	if !slices.Equal(have, want) {
		return apikey.Errorf(apikey.EINTERNAL, "%s %s has tables %s, but db copy knows %s: this keyadm cannot copy it",
			db.Engine, apikey.QuotePath(db.Location), strings.Join(have, ", "), strings.Join(want, ", "))
	}
	return nil
}

func countRows(ctx context.Context, q querier, table string) (int64, error) {
	var n int64
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+quoteIdent(table)).Scan(&n)
	return n, err
}

// emptyTarget refuses a target holding rows, or with force deletes them,
// children first.
func emptyTarget(ctx context.Context, tx *sql.Tx, dst *DB, force bool) error {
	var held []string
	for _, t := range CopyTables {
		n, err := countRows(ctx, tx, t)
		if err != nil {
			return err
		}
		if n > 0 {
			held = append(held, fmt.Sprintf("%d in %s", n, t))
		}
	}
	if len(held) == 0 {
		return nil
	}
	if !force {
		return apikey.Errorf(apikey.EINVALID, "%s %s is not empty (rows: %s): --force deletes them and copies in their place",
			dst.Engine, apikey.QuotePath(dst.Location), strings.Join(held, ", "))
	}
	for _, t := range slices.Backward(CopyTables) {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+quoteIdent(t)); err != nil {
			return err
		}
	}
	return nil
}

// copyTable streams one table's rows from read into tx, in multi-row
// INSERTs, and returns how many it copied.
func copyTable(ctx context.Context, read, tx *sql.Tx, dst *DB, table string, progress func(int)) (int64, error) {
	cols, err := dst.columns(ctx, tx, table)
	if err != nil {
		return 0, err
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = quoteIdent(c.name)
	}
	list := strings.Join(names, ", ")
	rows, err := read.QueryContext(ctx, `SELECT `+list+` FROM `+quoteIdent(table))
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	perBatch := max(1, maxCopyParams/len(cols))
	insert := func(n int) string {
		row := "(" + placeholders(len(cols)) + ")"
		q := `INSERT INTO ` + quoteIdent(table) + ` (` + list + `) VALUES ` + repeatList(row, n)
		return dst.Dialect.Rebind(q)
	}
	full, err := tx.PrepareContext(ctx, insert(perBatch))
	if err != nil {
		return 0, err
	}
	defer full.Close()
	args := make([]any, 0, perBatch*len(cols))
	flush := func() error {
		n := len(args) / len(cols)
		if n == 0 {
			return nil
		}
		var err error
		if n == perBatch {
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, insert(n), args...)
		}
		args = args[:0]
		if err == nil && progress != nil {
			progress(n)
		}
		return err
	}
	var copied int64
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return copied, err
		}
		for i, v := range vals {
			args = append(args, convert(v, cols[i].kind))
		}
		copied++
		if len(args) == perBatch*len(cols) {
			if err := flush(); err != nil {
				return copied, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return copied, err
	}
	if err := flush(); err != nil {
		return copied, err
	}
	if after := dst.catalogOrNil().afterCopy; after != nil {
		return copied, after(ctx, tx, table, cols)
	}
	return copied, nil
}

package sqlstore

import (
	"database/sql"
	"fmt"
	"strings"
)

// selectQuery builds the SELECT of a filtered stream (EachKey, EachEvent):
// conditions joined by AND, an order and an optional limit.
type selectQuery struct {
	where []string
	args  []any
}

// add appends a condition with the arguments of its ? marks.
func (s *selectQuery) add(cond string, args ...any) {
	s.where = append(s.where, cond)
	s.args = append(s.args, args...)
}

// build is `SELECT columns FROM from [WHERE …] ORDER BY order [LIMIT n]`
// with its arguments: the conditions', then orderArgs.
func (s *selectQuery) build(columns, from, order string, orderArgs []any, limit int) (string, []any) {
	q := `SELECT ` + columns + ` FROM ` + from
	if len(s.where) > 0 {
		q += ` WHERE ` + strings.Join(s.where, ` AND `)
	}
	q += ` ORDER BY ` + order
	if limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, limit)
	}
	return q, append(s.args, orderArgs...)
}

// eachRow runs q and hands each row, scanned, to fn.
func eachRow[T any](tx *Tx, q string, args []any, scan func(*sql.Rows) (T, error), fn func(T) error) error {
	rows, err := tx.query(q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return err
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	return rows.Err()
}

// queryAll runs q and scans every row it returns.
func queryAll[T any](tx *Tx, q string, args []any, scan func(*sql.Rows) (T, error)) ([]T, error) {
	var out []T
	err := eachRow(tx, q, args, scan, func(v T) error {
		out = append(out, v)
		return nil
	})
	return out, err
}

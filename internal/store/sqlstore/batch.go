package sqlstore

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
)

// batchRows bounds the rows of one batched statement (at most five
// parameters each, well under every engine's parameter limit).
const batchRows = 500

// keyUpdate is an UPDATE of many keys' rows, each with its own value:
// set and where may use v.id and v.value, whose SQL type is valueType (no
// engine can infer a parameter's type inside VALUES); one runs the
// prepared statement for a single key.
type keyUpdate struct {
	valueType, set, where string
	one                   func(id string, value any) error
}

// updateKeys runs u for the keys of values, in id order, one statement
// per batchRows keys (a lone key takes u.one), each after locking its
// keys' rows in id order (lockKeys).
func (tx *Tx) updateKeys(values map[string]any, u keyUpdate) error {
	row := "(CAST(? AS " + tx.db.Dialect.IDType + "), CAST(? AS " + u.valueType + "))"
	for chunk := range slices.Chunk(slices.Sorted(maps.Keys(values)), batchRows) {
		if len(chunk) == 1 {
			if err := u.one(chunk[0], values[chunk[0]]); err != nil {
				return err
			}
			continue
		}
		if err := tx.lockKeys(chunk); err != nil {
			return err
		}
		args := make([]any, 0, 2*len(chunk))
		for _, id := range chunk {
			args = append(args, id, values[id])
		}
		q := `UPDATE api_keys SET ` + u.set + ` FROM (SELECT column1 AS id, column2 AS value FROM (VALUES ` +
			repeatList(row, len(chunk)) + `) AS vals) AS v
		WHERE api_keys.id = v.id` + u.where
		if _, err := tx.exec(q, args...); err != nil {
			return err
		}
	}
	return nil
}

// lockKeys locks the rows of ids, in id order, where writers lock rows: an
// UPDATE … FROM locks rows in the order of its plan (a hash join's is the
// table's), and two flushes of the same keys, one locking in each order,
// would deadlock.
func (tx *Tx) lockKeys(ids []string) error {
	if tx.db.Dialect.LockKeyRows == "" {
		return nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	q := `SELECT id FROM api_keys WHERE id IN (` + placeholders(len(ids)) +
		`) ORDER BY id` + tx.db.Dialect.LockKeyRows
	rows, err := tx.query(q, args...)
	if err != nil {
		return err
	}
	return rows.Close()
}

// TouchKeys records the last use of many keys, never moving one backwards,
// in one statement per batchRows keys, in id order; deleted keys are
// skipped. serve's flush writes thousands of keys: one statement each cost
// a round trip each on PostgreSQL.
func (tx *Tx) TouchKeys(uses map[string]time.Time) error {
	values := make(map[string]any, len(uses))
	for id, at := range uses {
		values[id] = tx.t(at)
	}
	return tx.updateKeys(values, keyUpdate{valueType: tx.db.Dialect.TimeType, set: `last_used_at = v.value`,
		where: ` AND (api_keys.last_used_at IS NULL OR api_keys.last_used_at < v.value)`,
		one: func(id string, at any) error {
			_, err := tx.hotExec(execTouchKey, at, id, at)
			return err
		}})
}

// usageRow is one key_usage row that AddUsage adds to.
type usageRow struct {
	key, tenant, outcome string
	hour                 time.Time
	count                int64
}

// usageID is what identifies a key_usage row.
type usageID struct {
	key, outcome string
	hour         time.Time
}

// mergeUsage sums counts by key, hour and outcome (one statement may not
// change a row twice), in the order AddUsage takes its locks, and sums
// each key's valid ones.
func mergeUsage(counts []apikey.UsageCount) (rows []usageRow, valid map[string]int64) {
	byRow := map[usageID]*usageRow{}
	valid = map[string]int64{}
	for _, c := range counts {
		if c.Count <= 0 {
			continue
		}
		id := usageID{key: strings.ToLower(c.KeyID), outcome: c.Outcome, hour: c.Hour.UTC().Truncate(time.Hour)}
		r := byRow[id]
		if r == nil {
			r = &usageRow{key: id.key, tenant: c.TenantID, outcome: id.outcome, hour: id.hour}
			byRow[id] = r
		}
		r.count += c.Count
		if c.Outcome == apikey.OutcomeValid {
			valid[id.key] += c.Count
		}
	}
	for _, r := range byRow {
		rows = append(rows, *r)
	}
	slices.SortFunc(rows, func(a, b usageRow) int {
		return cmp.Or(cmp.Compare(a.key, b.key), a.hour.Compare(b.hour), cmp.Compare(a.outcome, b.outcome))
	})
	return rows, valid
}

// AddUsage adds verification counts, one row per key, hour and outcome,
// and each key's valid ones to its use count, in one statement per
// batchRows rows. It takes its row locks in one order, the keys' rows by
// id before any usage row, as TouchKey and the credits take the key's row
// first: transactions that took them in different orders deadlocked on
// PostgreSQL (a verify that had touched a key waiting for a usage row
// another held while it waited for the key).
func (tx *Tx) AddUsage(counts []apikey.UsageCount) error {
	rows, valid := mergeUsage(counts)
	uses := make(map[string]any, len(valid))
	for id, n := range valid {
		uses[id] = n
	}
	err := tx.updateKeys(uses, keyUpdate{valueType: "BIGINT", set: `use_count = api_keys.use_count + v.value`,
		one: func(id string, n any) error {
			_, err := tx.hotExec(execUseCount, n, id)
			return err
		}})
	if err != nil {
		return err
	}
	for chunk := range slices.Chunk(rows, batchRows) {
		args := make([]any, 0, 5*len(chunk))
		for _, r := range chunk {
			args = append(args, r.key, r.tenant, tx.t(r.hour), r.outcome, r.count)
		}
		q := execAddUsage
		if len(chunk) > 1 {
			q = `INSERT INTO key_usage (key_id, tenant_id, hour, outcome, count) VALUES ` +
				repeatList("(?, ?, ?, ?, ?)", len(chunk)) + usageConflict
		}
		if _, err := tx.hotExec(q, args...); err != nil {
			return err
		}
	}
	return nil
}

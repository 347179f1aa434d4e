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

// keyUse is what a key's row gains from activity: its latest use (the
// engine's form of a time; nil: none) and its valid verifications.
type keyUse struct {
	at any
	n  int64
}

// recordUse is the SET clause that records a key's use, from SQL
// expressions for the use's time (NULL: none) and its valid count. A use
// never moves last use backwards; a NULL one leaves it as it is.
func recordUse(at, n string) string {
	return `last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < ` + at + ` THEN ` + at + ` ELSE last_used_at END,
	use_count = use_count + ` + n
}

// execRecordUse records one key's use (keyUse): its time twice, its count,
// its id. It is prepared once, for keyadm verify's one key (see
// hotQueries).
var execRecordUse = `UPDATE api_keys SET ` + recordUse("?", "?") + ` WHERE id = +?`

// recordUses writes keys' uses, in id order, one statement per batchRows
// keys (a lone key takes execRecordUse), each after locking its keys'
// rows in id order (lockKeys). Each row is written once for its last use
// and its use count: a flush writes every key used in its interval, and
// each row write is a page write (issue 17).
func (tx *Tx) recordUses(uses map[string]keyUse) error {
	row := "(CAST(? AS " + tx.db.Dialect.IDType + "), CAST(? AS " + tx.db.Dialect.TimeType + "), CAST(? AS BIGINT))"
	for chunk := range slices.Chunk(slices.Sorted(maps.Keys(uses)), batchRows) {
		if len(chunk) == 1 {
			u := uses[chunk[0]]
			if _, err := tx.hotExec(execRecordUse, u.at, u.at, u.n, chunk[0]); err != nil {
				return err
			}
			continue
		}
		if err := tx.lockKeys(chunk); err != nil {
			return err
		}
		args := make([]any, 0, 3*len(chunk))
		for _, id := range chunk {
			args = append(args, id, uses[id].at, uses[id].n)
		}
		q := `UPDATE api_keys SET ` + recordUse("v.at", "v.n") + `
		FROM (SELECT column1 AS id, column2 AS at, column3 AS n FROM (VALUES ` +
			repeatList(row, len(chunk)) + `) AS vals) AS v
		WHERE api_keys.id = v.id`
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

// usageRow is one key_usage row that RecordActivity adds to.
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
// change a row twice), in the order RecordActivity takes its locks, and sums
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

// RecordActivity records last uses and usage counts: each key's row is
// written once, for its last use and its valid counts (recordUses), and
// the counts go to one row per key, hour and outcome, in one statement
// per batchRows rows. It takes its row locks in one order, the keys' rows
// by id before any usage row, as the credits take the key's row first:
// transactions that took them in different orders deadlocked on
// PostgreSQL (a verify that had touched a key waiting for a usage row
// another held while it waited for the key).
func (tx *Tx) RecordActivity(a apikey.Activity) error {
	rows, valid := mergeUsage(a.Counts)
	uses := make(map[string]keyUse, max(len(a.Uses), len(valid)))
	for id, at := range a.Uses {
		uses[strings.ToLower(id)] = keyUse{at: tx.t(at)}
	}
	for id, n := range valid {
		u := uses[id]
		u.n = n
		uses[id] = u
	}
	if err := tx.recordUses(uses); err != nil {
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

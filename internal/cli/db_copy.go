package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/output"
	"github.com/keyadm/keyadm/internal/store"
)

// DBCopyOptions are the inputs of db copy: the source is --db.
type DBCopyOptions struct {
	Env
	To    string
	Force bool
}

// NewCmdDBCopy is db copy: runF, when not nil, runs in place of dbCopyRun.
func NewCmdDBCopy(f *Factory, runF func(*DBCopyOptions) error) *cobra.Command {
	opts := &DBCopyOptions{}
	cmd := &cobra.Command{
		Use:   "copy --to URL",
		Short: "Copy the whole store (--db) into another database, such as SQLite into PostgreSQL",
		Long: `Copy every row of the store named by --db (keys with their hashes, tenant
settings, the audit trail, and every other table of the schema) into the
database --to names, SQLite or PostgreSQL, in either direction. Both are
migrated first. The copy is one transaction on the target: interrupted or
failed, it leaves the target as it was. The keys verify on the target as
they did on the source. The source is read, never changed.

A target that already holds rows is refused (exit 2, nothing written);
--force deletes its rows and copies in their place, in the same
transaction.`,
		Example: `  keyadm db copy --db ~/.local/share/keyadm/keyadm.db --to postgres://keyadm@db/keyadm
  keyadm db copy --db postgres://keyadm@db/keyadm --to backup.db`,
		Args: args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(opts.To) == "" {
				return usageErrorf("--to is required: the database to copy into")
			}
			opts.Env = f.env(true, false)
			return runWith(cmd.Context(), opts, runF, dbCopyRun)
		},
	}
	cmd.Flags().StringVar(&opts.To, "to", "", "database to copy into: a SQLite path, sqlite://PATH or postgres://…")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "delete the target's rows first (in the copy's transaction) instead of refusing a non-empty target")
	return cmd
}

func dbCopyRun(ctx context.Context, opts *DBCopyOptions) error {
	src, err := opts.Store(ctx)
	if err != nil {
		return err
	}
	dst, err := store.Open(ctx, opts.To, store.Options{
		Migrate: true, Now: opts.Now, Log: opts.Log,
		Warn: func(msg string) { fmt.Fprintln(opts.IO.ErrOut, "keyadm: warning: "+msg) },
	})
	if err != nil {
		return err
	}
	defer dst.Close()
	copyOpts := store.CopyOptions{Force: opts.Force}
	bar := opts.IO.ProgressBar("copying")
	if bar != nil {
		copyOpts.Start = func(total int64) { bar.ChangeMax64(total) }
		copyOpts.Progress = func(rows int) { _ = bar.Add(rows) }
	}
	counts, err := store.Copy(ctx, src, dst, copyOpts)
	if bar != nil {
		_ = bar.Finish()
	}
	if errors.Is(err, context.Canceled) {
		return apikey.Errorf(apikey.EUNAVAILABLE, "interrupted: nothing was copied; the target is as it was")
	}
	if err != nil {
		return err
	}
	r := copyRecord{From: where(src), To: where(dst), Tables: counts}
	for _, c := range counts {
		r.Rows += c.Rows
	}
	p := opts.Printer
	if p.Format == output.Table && !p.Quiet {
		parts := make([]string, len(counts))
		for i, c := range counts {
			parts[i] = fmt.Sprintf("%s %d", c.Table, c.Rows)
		}
		fmt.Fprintf(opts.IO.Out, "Copied %d rows (%s) from %s to %s.\n", r.Rows, strings.Join(parts, ", "), r.From, r.To)
		return nil
	}
	return output.One(p, copyView, r)
}

// where names a database for the copy's report, never with a password.
func where(db store.Migrator) string { return db.Engine() + " " + db.Location() }

type copyRecord struct {
	From   string             `json:"from" yaml:"from"`
	To     string             `json:"to" yaml:"to"`
	Rows   int64              `json:"rows" yaml:"rows"`
	Tables []store.TableCount `json:"tables" yaml:"tables"`
}

var copyView = output.View[copyRecord]{
	Columns: []output.Column[copyRecord]{
		{Header: "FROM", Cell: func(r copyRecord) string { return r.From }},
		{Header: "TO", Cell: func(r copyRecord) string { return r.To }},
		{Header: "ROWS", Cell: func(r copyRecord) string { return strconv.FormatInt(r.Rows, 10) }},
	},
	CSVHeader: []string{"from", "to", "rows"},
	CSVRecord: func(r copyRecord) []string { return []string{r.From, r.To, strconv.FormatInt(r.Rows, 10)} },
}

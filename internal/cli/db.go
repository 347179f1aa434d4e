package cli

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/keyadm/keyadm/internal/output"
	"github.com/keyadm/keyadm/internal/store"
)

func newDBCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Schema version, migrations, and copying a store between databases",
		Long: `Every command applies pending schema migrations itself, under a lock, so two
processes starting at once are safe. These commands show and apply them explicitly.`,
	}
	cmd.AddCommand(NewCmdDBStatus(f, nil), NewCmdDBMigrate(f, nil), NewCmdDBCopy(f, nil))
	return cmd
}

// DBOptions are the inputs of db status and db migrate: the database,
// opened without applying migrations.
type DBOptions struct {
	Env
}

// NewCmdDBStatus is db status: runF, when not nil, runs in place of
// dbStatusRun.
func NewCmdDBStatus(f *Factory, runF func(*DBOptions) error) *cobra.Command {
	opts := &DBOptions{}
	return &cobra.Command{
		Use:   "status",
		Short: "Show the schema version and how many migrations are pending (-o json lists each)",
		Args:  args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Env = f.env(false, false)
			return runWith(cmd.Context(), opts, runF, dbStatusRun)
		},
	}
}

func dbStatusRun(ctx context.Context, opts *DBOptions) error {
	db, err := opts.Store(ctx)
	if err != nil {
		return err
	}
	st, err := db.SchemaStatus(ctx)
	if err != nil {
		return err
	}
	return output.One(opts.Printer, schemaView, newSchemaRecord(db, st))
}

// NewCmdDBMigrate is db migrate: runF, when not nil, runs in place of
// dbMigrateRun.
func NewCmdDBMigrate(f *Factory, runF func(*DBOptions) error) *cobra.Command {
	opts := &DBOptions{}
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending migrations",
		Args:  args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Env = f.env(false, true)
			return runWith(cmd.Context(), opts, runF, dbMigrateRun)
		},
	}
}

func dbMigrateRun(ctx context.Context, opts *DBOptions) error {
	db, err := opts.Store(ctx)
	if err != nil {
		return err
	}
	applied, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	st, err := db.SchemaStatus(ctx)
	if err != nil {
		return err
	}
	p := opts.Printer
	if p.Format == output.Table && !p.Quiet {
		if len(applied) == 0 {
			fmt.Fprintf(opts.IO.Out, "Schema is up to date (version %d).\n", st.Current)
		} else {
			fmt.Fprintf(opts.IO.Out, "Applied %d migration(s); schema is at version %d.\n", len(applied), st.Current)
		}
		return nil
	}
	return output.One(p, schemaView, newSchemaRecord(db, st))
}

type migrationRecord struct {
	Version   int64   `json:"version" yaml:"version"`
	Name      string  `json:"name" yaml:"name"`
	AppliedAt *string `json:"appliedAt" yaml:"appliedAt"`
}

type schemaRecord struct {
	Engine     string            `json:"engine" yaml:"engine"`
	Location   string            `json:"location" yaml:"location"`
	Version    int64             `json:"version" yaml:"version"`
	Latest     int64             `json:"latest" yaml:"latest"`
	Pending    int               `json:"pending" yaml:"pending"`
	Migrations []migrationRecord `json:"migrations" yaml:"migrations"`
}

func newSchemaRecord(db store.Migrator, st *store.SchemaStatus) schemaRecord {
	r := schemaRecord{Engine: db.Engine(), Location: db.Location(), Version: st.Current, Latest: st.Latest, Migrations: []migrationRecord{}}
	for _, m := range st.Migrations {
		mr := migrationRecord{Version: m.Version, Name: m.Name}
		if !m.AppliedAt.IsZero() {
			s := output.Timestamp(m.AppliedAt)
			mr.AppliedAt = &s
		} else {
			r.Pending++
		}
		r.Migrations = append(r.Migrations, mr)
	}
	return r
}

var schemaView = output.View[schemaRecord]{
	Columns: []output.Column[schemaRecord]{
		{Header: "ENGINE", Cell: func(r schemaRecord) string { return r.Engine }},
		{Header: "LOCATION", Cell: func(r schemaRecord) string { return r.Location }},
		{Header: "VERSION", Cell: func(r schemaRecord) string { return strconv.FormatInt(r.Version, 10) }},
		{Header: "LATEST", Cell: func(r schemaRecord) string { return strconv.FormatInt(r.Latest, 10) }},
		{Header: "PENDING", Cell: func(r schemaRecord) string { return strconv.Itoa(r.Pending) }},
	},
	CSVHeader: []string{"engine", "location", "version", "latest", "pending"},
	CSVRecord: func(r schemaRecord) []string {
		return []string{r.Engine, r.Location, strconv.FormatInt(r.Version, 10), strconv.FormatInt(r.Latest, 10), strconv.Itoa(r.Pending)}
	},
}

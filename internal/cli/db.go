package cli

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/keyadm/keyadm/internal/output"
	"github.com/keyadm/keyadm/internal/store/sqlstore"
)

func newDBCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Schema version and migrations",
		Long: `Every command applies pending schema migrations itself, under a lock, so two
processes starting at once are safe. These commands show and apply them explicitly.`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "Show the schema version and how many migrations are pending (-o json lists each)",
		Args:  args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := f.openStore(cmd.Context(), false, false)
			if err != nil {
				return err
			}
			st, err := db.SchemaStatus(cmd.Context())
			if err != nil {
				return err
			}
			return output.One(f.Printer(), schemaView, newSchemaRecord(db, st))
		},
	}, &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending migrations",
		Args:  args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := f.openStore(cmd.Context(), false, true)
			if err != nil {
				return err
			}
			applied, err := db.Migrate(cmd.Context())
			if err != nil {
				return err
			}
			st, err := db.SchemaStatus(cmd.Context())
			if err != nil {
				return err
			}
			if f.Printer().Format == output.Table && !f.Printer().Quiet {
				if len(applied) == 0 {
					fmt.Fprintf(f.IO.Out, "Schema is up to date (version %d).\n", st.Current)
				} else {
					fmt.Fprintf(f.IO.Out, "Applied %d migration(s); schema is at version %d.\n", len(applied), st.Current)
				}
				return nil
			}
			return output.One(f.Printer(), schemaView, newSchemaRecord(db, st))
		},
	})
	return cmd
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

func newSchemaRecord(db *sqlstore.DB, st *sqlstore.SchemaStatus) schemaRecord {
	r := schemaRecord{Engine: db.Engine, Location: db.Location, Version: st.Current, Latest: st.Latest, Migrations: []migrationRecord{}}
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

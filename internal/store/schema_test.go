package store

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/store/storetest"
)

// TestNewerSchema: on a database a newer keyadm has migrated, every way in
// (db status, db migrate, any command's open) says so with the real
// version, as an "unavailable" error (exit 1), not an internal one, and
// db status does not pass it off as up to date.
func TestNewerSchema(t *testing.T) {
	const want = "database schema version 99 is newer than this keyadm knows (7): upgrade keyadm"
	ctx := context.Background()
	for engine, url := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "keyadm.db") },
		"postgres": func(t *testing.T) string { return storetest.PostgresURL(t) },
	} {
		t.Run(engine, func(t *testing.T) {
			u := url(t)
			db, err := OpenSQL(ctx, u, Options{Migrate: true})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.RW.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (99, true)`); err != nil {
				t.Fatal(err)
			}
			check := func(what string, err error) {
				t.Helper()
				if apikey.ErrorCode(err) != apikey.EUNAVAILABLE || apikey.ErrorMessage(err) != want {
					t.Errorf("%s: error %v (code %q), want %q (unavailable)", what, err, apikey.ErrorCode(err), want)
				}
			}
			st, err := db.SchemaStatus(ctx)
			if err == nil {
				t.Errorf("status: version %d, latest %d, no error", st.Current, st.Latest)
			}
			check("status", err)
			_, err = db.Migrate(ctx)
			check("migrate", err)
			db.Close()
			_, err = Open(ctx, u, Options{Migrate: true})
			check("open", err)
		})
	}
}

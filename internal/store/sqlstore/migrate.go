package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/keyadm/keyadm/internal/apikey"
)

// Migrations are an engine's embedded schema versions and the engine-wide
// lock under which goose applies them, so that two processes starting at
// once never apply one twice.
type Migrations struct {
	Dialect goose.Dialect
	FS      fs.FS
	// Locker is held while goose migrates or reads the schema's status;
	// nil where nothing can write (a read-only SQLite file). Not a
	// session lock: behind a transaction pooler a session's lock and
	// unlock may reach different server connections.
	Locker lock.Locker
}

// SchemaStatus is the state of a database's schema.
type SchemaStatus struct {
	Current    int64
	Latest     int64
	Migrations []MigrationState
}

// MigrationState is one migration and when it was applied (zero: pending).
type MigrationState struct {
	Version   int64
	Name      string
	AppliedAt time.Time
}

// MigrationFS is an engine's embedded migrations folder.
func MigrationFS(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // only for an invalid dir
	}
	return sub
}

func (m *Migrations) provider(db *sql.DB) (*goose.Provider, error) {
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if m.Locker != nil {
		opts = append(opts, goose.WithLocker(m.Locker))
	}
	return goose.NewProvider(m.Dialect, db, m.FS, opts...)
}

// latest is the highest version among the migration files, read from their
// names (00001_initial.sql) without parsing them.
func (m *Migrations) latest() (int64, error) {
	names, err := fs.Glob(m.FS, "*.sql")
	if err != nil {
		return 0, err
	}
	var v int64
	for _, n := range names {
		prefix, _, _ := strings.Cut(n, "_")
		if num, err := strconv.ParseInt(prefix, 10, 64); err == nil {
			v = max(v, num)
		}
	}
	return v, nil
}

// Up applies every pending migration on rw and returns their versions.
func (m *Migrations) Up(ctx context.Context, rw, ro *sql.DB) ([]int64, error) {
	// The common case, a schema already up to date, needs one query, no
	// lock and no parsing of migrations, so processes starting together
	// neither queue on the lock nor pay for what they do not run. It is
	// asked on the read pool, which a read command's query then reuses: on
	// SQLite each new connection reads the schema and its statistics again.
	latest, err := m.latest()
	if err != nil {
		return nil, err
	}
	var applied sql.NullInt64
	err = ro.QueryRowContext(ctx, `SELECT MAX(version_id) FROM goose_db_version WHERE is_applied`).Scan(&applied)
	if err == nil && applied.Int64 == latest {
		return nil, nil
	}
	if err == nil && applied.Int64 > latest {
		return nil, newerSchema(applied.Int64, latest)
	}
	p, err := m.provider(rw)
	if err != nil {
		return nil, err
	}
	// Up holds the locker, then applies what is still pending: nothing
	// when another process migrated meanwhile.
	results, err := p.Up(ctx)
	var done []int64
	for _, r := range results {
		if r.Error == nil {
			done = append(done, r.Source.Version)
		}
	}
	if err != nil && !errors.Is(err, goose.ErrNoNextVersion) {
		return done, fmt.Errorf("apply migrations: %w", err)
	}
	if len(done) == 0 {
		// A newer keyadm may have been the one that migrated meanwhile.
		return nil, newerThan(ctx, p)
	}
	return done, nil
}

// newerThan refuses a database that a newer keyadm has migrated.
func newerThan(ctx context.Context, p *goose.Provider) error {
	current, target, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if current > target {
		return newerSchema(current, target)
	}
	return nil
}

// Status reports the schema version without changing anything.
func (m *Migrations) Status(ctx context.Context, db *sql.DB) (*SchemaStatus, error) {
	p, err := m.provider(db)
	if err != nil {
		return nil, err
	}
	states, err := p.Status(ctx) // under the locker
	if err != nil {
		return nil, fmt.Errorf("read schema status: %w", err)
	}
	// Status lists only the migrations this keyadm knows: a database
	// migrated further would pass for up to date.
	if err := newerThan(ctx, p); err != nil {
		return nil, err
	}
	s := &SchemaStatus{}
	for _, st := range states {
		ms := MigrationState{Version: st.Source.Version, Name: st.Source.Path}
		if st.State == goose.StateApplied {
			ms.AppliedAt = st.AppliedAt.UTC()
			s.Current = max(s.Current, st.Source.Version)
		}
		s.Latest = max(s.Latest, st.Source.Version)
		s.Migrations = append(s.Migrations, ms)
	}
	return s, nil
}

// newerSchema is what every command says on a database a newer keyadm has
// migrated: an expected condition with a remedy, not an internal error.
func newerSchema(current, latest int64) error {
	return apikey.Errorf(apikey.EUNAVAILABLE, "database schema version %d is newer than this keyadm knows (%d): upgrade keyadm", current, latest)
}

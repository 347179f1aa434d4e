// Package store opens the engine a database URL names, behind DB: the
// commands see the apikey.Store and its schema, not the engine.
package store

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/store/postgres"
	"github.com/keyadm/keyadm/internal/store/sqlite"
	"github.com/keyadm/keyadm/internal/store/sqlstore"
)

// Options tune Open.
type Options struct {
	// Migrate applies pending schema migrations after connecting.
	Migrate bool
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Warn receives warnings about the database.
	Warn func(string)
	// Log hears what the store does, at debug level.
	Log *slog.Logger
	// MustExist refuses to create a new SQLite file.
	MustExist bool
}

// DB is an open database: the apikey.Store, and the schema under it.
type DB interface {
	apikey.Store
	Migrator
}

// Migrator shows and applies a database's schema migrations, and names
// the database for messages.
type Migrator interface {
	// Migrate applies pending migrations and returns their versions.
	Migrate(ctx context.Context) ([]int64, error)
	SchemaStatus(ctx context.Context) (*SchemaStatus, error)
	// Engine is "sqlite" or "postgres".
	Engine() string
	// Location is the file or server, never with a password.
	Location() string
	Close() error
}

// SchemaStatus is the state of a database's schema.
type SchemaStatus = sqlstore.SchemaStatus

// sqlDB is a DB on database/sql; the store's other methods (PrepareHot)
// stay reachable through it.
type sqlDB struct{ *sqlstore.DB }

func (d sqlDB) Engine() string   { return d.DB.Engine }
func (d sqlDB) Location() string { return d.DB.Location }

// OpenTimeout bounds connecting to a server and checking it answers.
const OpenTimeout = 15 * time.Second

// Open opens a SQLite path, a sqlite:// URL or a postgres:// (postgresql://) URL.
func Open(ctx context.Context, dbURL string, opts Options) (DB, error) {
	db, err := OpenSQL(ctx, dbURL, opts)
	if err != nil {
		return nil, err
	}
	return sqlDB{db}, nil
}

// OpenSQL is Open for tests and benchmarks that reach below the interface
// (the pools, to run SQL of their own).
func OpenSQL(ctx context.Context, dbURL string, opts Options) (*sqlstore.DB, error) {
	var db *sqlstore.DB
	var err error
	switch {
	case dbURL == "":
		return nil, apikey.Errorf(apikey.EINVALID, "no database: set --db or KEYADM_DB")
	case strings.HasPrefix(dbURL, "postgres://"), strings.HasPrefix(dbURL, "postgresql://"):
		// A server that accepts the connection and then says nothing must
		// not hold a command forever.
		openCtx, cancel := context.WithTimeout(ctx, OpenTimeout)
		db, err = postgres.Open(openCtx, dbURL)
		cancel()
	case strings.HasPrefix(dbURL, "sqlite://"):
		db, err = sqlite.Open(strings.TrimPrefix(dbURL, "sqlite://"), sqlite.Options{Warn: opts.Warn, MustExist: opts.MustExist})
	case strings.Contains(dbURL, "://"):
		scheme, _, _ := strings.Cut(dbURL, "://")
		return nil, apikey.Errorf(apikey.EINVALID, "unsupported database scheme %q: use a SQLite path, sqlite://PATH or postgres://…", scheme)
	default:
		db, err = sqlite.Open(dbURL, sqlite.Options{Warn: opts.Warn, MustExist: opts.MustExist})
	}
	if err != nil {
		return nil, err
	}
	db.Now, db.Log = opts.Now, opts.Log
	if opts.Migrate {
		applied, err := db.Migrate(ctx)
		if err != nil {
			db.Close()
			return nil, err
		}
		if opts.Log != nil {
			opts.Log.Debug("schema checked", "applied", applied)
		}
	}
	return db, nil
}

// Redact hides the password in a database URL (in the user info or a
// password parameter), for messages and logs.
func Redact(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil || u.Scheme == "" {
		if strings.Contains(dbURL, "://") {
			return "(unparsable URL)"
		}
		return dbURL
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

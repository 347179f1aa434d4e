package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/keyadm/keyadm/internal/store/sqlstore"
)

// ExecModeOption is pgx's URL option naming how statements run. Through a
// transaction pooler (pgbouncer's pool_mode = transaction, which before
// 1.21 keeps no prepared statement), consecutive transactions of one
// client connection may run on different server connections, so a
// statement prepared on one is missing on the next: pgx's default,
// cache_statement, cannot work there.
const ExecModeOption = "default_query_exec_mode"

// PooledExecMode is the mode keyadm takes behind a pooler: each statement
// is parsed again in the same round trip as it runs (the unnamed
// statement), and only its description, the parameter and column types, is
// cached on the client. Unlike describe_exec it never relies on the
// unnamed statement surviving from one round trip to the next, and unlike
// exec and simple_protocol the server, not the Go type, decides the
// parameter types and results come back in binary.
const PooledExecMode = pgx.QueryExecModeCacheDescribe

// pooler settles whether the server is reached through a transaction
// pooler, from the URL or from the first connection, and runs later
// connections in a mode that works there.
type pooler struct {
	explicit bool // the URL names a mode itself
	pooled   atomic.Bool
}

func newPooler(rawURL string) *pooler {
	return &pooler{explicit: strings.Contains(rawURL, ExecModeOption)}
}

// option sets the mode of each connection the pool opens.
func (p *pooler) option() stdlib.OptionOpenDB {
	return stdlib.OptionBeforeConnect(func(_ context.Context, cfg *pgx.ConnConfig) error {
		if p.pooled.Load() && !p.explicit {
			cfg.DefaultQueryExecMode = PooledExecMode
		}
		return nil
	})
}

// settle connects (the ping of Open) and decides. A URL that names a mode
// is taken at its word: any mode but cache_statement means statements must
// not be prepared. Otherwise a server that reports a port other than the
// one dialled is behind something, a pooler or a proxy: then the
// connection that told so is dropped, since it may hold prepared
// statements, and the rest run in PooledExecMode (through a mere proxy,
// that costs a parse per statement, not correctness). A pooler reached
// over TCP but talking to PostgreSQL over a Unix socket passes unseen: its
// users add default_query_exec_mode=cache_describe to the URL.
func (p *pooler) settle(ctx context.Context, db *sql.DB, cfg *pgx.ConnConfig, dialect *sqlstore.Dialect) error {
	if p.explicit {
		p.pooled.Store(cfg.DefaultQueryExecMode != pgx.QueryExecModeCacheStatement)
		dialect.NoPrepare = p.pooled.Load()
		return db.PingContext(ctx)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	var port sql.NullInt64
	// As a simple query, so that even this one leaves nothing prepared on a
	// pooler's server connection, nor trips over what another left there.
	if err := conn.QueryRowContext(ctx, `SELECT inet_server_port()`, pgx.QueryExecModeSimpleProtocol).Scan(&port); err != nil {
		conn.Close()
		return err
	}
	if !port.Valid || port.Int64 == int64(cfg.Port) {
		return conn.Close()
	}
	p.pooled.Store(true)
	dialect.NoPrepare = true
	// driver.ErrBadConn takes the connection out of the pool and closes it.
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	return nil
}

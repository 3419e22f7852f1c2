package pguow

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dddkit/ddd/internal/sqlstore"
	"github.com/dddkit/ddd/uow/driver"
)

//go:embed migrations/postgres/*.sql
var migrationFiles embed.FS

// Options tunes a [Driver]. A nil *Options and zero fields mean the documented defaults.
type Options struct {
	// Schema is the PostgreSQL schema holding the driver's tables; Migrate creates it if it
	// does not exist. Empty means the connection's search_path (usually "public"). It must be
	// lower-case ASCII letters, digits and _, not starting with a digit, at most 40 characters.
	Schema string
	// Prefix is put before each table name ("app_" gives app_ddd_aggregate ...), with the
	// same rules as Schema. Empty means none.
	Prefix string
	// LockTimeout bounds how long a statement of a unit waits for a lock (a row another unit
	// loaded ForUpdate or wrote, a keyed lock): the wait then fails with an error wrapping
	// driver.ErrConflict, which uow.Do retries. It is set with SET LOCAL lock_timeout in the
	// round trip that begins the transaction. Zero means the server's lock_timeout (by
	// default none: waits end only by a commit, a rollback, the context or the deadlock
	// detector).
	LockTimeout time.Duration
}

// Driver is the PostgreSQL [driver.Driver]: aggregates as JSONB documents, the outbox and the inbox
// in tables of one schema, every unit in one READ COMMITTED transaction on a pgxpool
// connection. See the package documentation.
//
// A unit's transaction is a pgx.Tx: uow.TxOf[pgx.Tx](u) returns it for SQL of your own (a
// [uow.Mapper], a read model, sqlc queries), committed or rolled back with the unit; do not end
// it yourself.
//
// A Driver is safe for concurrent use by multiple goroutines. Its zero value is not usable: get
// one from [Open] or [New].
type Driver struct {
	pool     *pgxpool.Pool
	owned    bool // Close closes pool
	schema   string
	tables   sqlstore.Tables
	dialect  *sqlstore.Dialect
	beginSQL string
	timeout  string // Options.LockTimeout in milliseconds, "" for none
	attempts int    // of a begin meeting broken connections: one per pooled connection, and one
	relay    *sqlstore.Relay
	lanes    *lanes // the outbox's key lanes (lanes.go)
	// pause, if set, holds every commit after its statements and before COMMIT (the tests'
	// PauseCommits).
	pause atomic.Pointer[func(context.Context, *driver.Changes)]
}

var (
	_ driver.Driver      = (*Driver)(nil)
	_ driver.InboxPurger = (*Driver)(nil)
	_ driver.Joiner      = (*Driver)(nil)
)

// maxChannel is the longest NOTIFY channel name PostgreSQL accepts (NAMEDATALEN - 1).
const maxChannel = 63

// Open connects to the PostgreSQL server at dsn (a URL or key=value string as pgxpool.ParseConfig
// takes it, pool settings such as pool_max_conns included) with a pool of its own, which
// [Driver.Close] closes, and checks that it can connect. It does not create tables: call
// [Driver.Migrate]. opts may be nil; an invalid Options.Schema or Prefix is an error.
//
// The pool's connections answer a cancelled context by sending PostgreSQL a cancel request, so
// that a statement waiting for a lock stops at once on the server and its transaction's locks
// are released; the connection is closed only if the server does not answer within 2s.
func Open(ctx context.Context, dsn string, opts *Options) (*Driver, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pguow: %w", err)
	}
	cfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: 2 * time.Second}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pguow: %w", err)
	}
	d, err := New(pool, opts)
	if err != nil {
		pool.Close()
		return nil, err
	}
	d.owned = true
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pguow: connecting: %w", err)
	}
	return d, nil
}

// New returns a Driver over a pool the caller owns: [Driver.Close] leaves it open. opts may be
// nil; an invalid Options.Schema or Prefix is an error. Statements run in the pool's default
// query exec mode (prepared and cached statements unless configured otherwise).
func New(pool *pgxpool.Pool, opts *Options) (*Driver, error) {
	if pool == nil {
		return nil, fmt.Errorf("pguow: %w: nil pool", driver.ErrInvalid)
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.LockTimeout < 0 {
		return nil, fmt.Errorf("pguow: %w: negative lock timeout %v", driver.ErrInvalid, o.LockTimeout)
	}
	t, err := sqlstore.NewTables(o.Schema, o.Prefix, quoteIdent)
	if err != nil {
		return nil, fmt.Errorf("pguow: %w", err)
	}
	if len(t.Channel) > maxChannel {
		sum := sha256.Sum256([]byte(t.Channel))
		t.Channel = "ddd_outbox_" + hex.EncodeToString(sum[:12])
	}
	d := &Driver{
		pool:     pool,
		schema:   o.Schema,
		tables:   t,
		dialect:  newDialect(t, o.Schema+"."+o.Prefix),
		lanes:    newLanes(t.Outbox),
		beginSQL: "BEGIN ISOLATION LEVEL READ COMMITTED",
		attempts: int(pool.Config().MaxConns) + 1,
	}
	if o.LockTimeout > 0 {
		ms := max(o.LockTimeout.Milliseconds(), 1)
		d.timeout = strconv.FormatInt(ms, 10)
		d.beginSQL += "; SET LOCAL lock_timeout = " + d.timeout
	}
	d.dialect.Lanes = &sqlstore.Lanes{Filter: laneFilter, Take: d.lanes.takeIn}
	d.dialect.LockOutboxKeys = outboxKeyLocker(t.Outbox)
	d.relay = &sqlstore.Relay{D: d.dialect, T: t, InTx: d.inTx, Read: conn{tx: pool}} // Begin: see Hold
	return d, nil
}

// quoteIdent quotes a name that sqlstore.ValidIdent accepted, so it holds no quote.
func quoteIdent(s string) string { return `"` + s + `"` }

// Close closes the pool if [Open] opened it, waiting for its connections to be returned and
// closed; a pool passed to [New] stays open. It returns nil: closing a pgx pool cannot fail. It
// returns an error so that every SQL driver closes alike (an io.Closer), as mysqluow and
// sqliteuow do.
func (d *Driver) Close() error {
	if d.owned {
		d.pool.Close()
	}
	return nil
}

// Pool returns the driver's connection pool, for read models and tooling that query the
// store's database outside a unit.
func (d *Driver) Pool() *pgxpool.Pool { return d.pool }

// Schema returns the schema the driver's tables live in (Options.Schema), empty for the
// connection's search_path: the schema a Mapper or read model keeps its own tables in, beside
// the driver's.
func (d *Driver) Schema() string { return d.schema }

// Channel returns the name of the PostgreSQL notification channel that every commit writing
// outbox messages notifies (pg_notify with an empty payload, sent on the unit's connection right
// after its COMMIT succeeded, outside the transaction so that notifying units do not serialise),
// for relays to LISTEN on (quoted: LISTEN "name"). A notification is a hint: a relay also polls,
// so one lost to a crash between COMMIT and NOTIFY costs a poll interval, never a message. It
// depends on the schema and prefix: "ddd_outbox" for neither, else
// "ddd_outbox_<schema>_<prefix>", hashed to a short name when that is longer than PostgreSQL's
// 63 bytes.
func (d *Driver) Channel() string { return d.tables.Channel }

// Begin starts a READ COMMITTED transaction on a pool connection (with SET LOCAL lock_timeout in
// the same round trip when Options.LockTimeout is set). The [driver.Tx] it returns is a
// *sqlstore.Tx; its Native handle is a pgx.Tx (see [TxOf]). A pooled connection that turns out
// to be broken (the server restarted, or ended it) is dropped and the begin tried again on
// another, until a new one is made if need be. Errors are pgx's, wrapped; ctx bounds only the
// begin.
func (d *Driver) Begin(ctx context.Context) (driver.Tx, error) {
	b, err := d.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("pguow: begin: %w", ctxErr(ctx, d.dialect.Classify(err)))
	}
	tx := sqlstore.NewTx(b, d.dialect, d.tables)
	if p := d.pause.Load(); p != nil {
		tx.BeforeCommit = *p
	}
	return tx, nil
}

func (d *Driver) begin(ctx context.Context) (*backend, error) {
	for i := 1; ; i++ {
		c, err := d.pool.Acquire(ctx)
		if err != nil {
			return nil, err
		}
		tx, err := c.BeginTx(ctx, pgx.TxOptions{BeginQuery: d.beginSQL})
		if err == nil {
			return &backend{c: c, tx: tx, conn: conn{tx: tx}, channel: d.tables.Channel}, nil
		}
		broken := c.Conn().IsClosed()
		c.Release() // a closed connection leaves the pool
		if !broken || ctx.Err() != nil || i >= d.attempts {
			return nil, err
		}
	}
}

// Migrate creates the schema (Options.Schema, if set) and the driver's tables, applying the
// embedded versioned migrations it has not applied yet and recording each in the migrations
// table (ddd_schema_migrations). It is idempotent, and safe when several processes migrate at
// once: it runs in one transaction holding a transaction-scoped advisory lock on a fixed key, and
// PostgreSQL's DDL is transactional, so a failed migration leaves nothing behind. Errors are
// pgx's, wrapped.
func (d *Driver) Migrate(ctx context.Context) error {
	migrations, err := sqlstore.LoadMigrations(migrationFiles, "migrations/postgres", d.tables)
	if err != nil {
		return fmt.Errorf("pguow: migrations: %w", err)
	}
	tx, err := d.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("pguow: migrate: %w", ctxErr(ctx, err))
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	c := seqConn{tx: tx}
	lock := []sqlstore.Stmt{{SQL: "SELECT pg_advisory_xact_lock(hashtextextended('github.com/dddkit/ddd/uow/pguow.Migrate', 0))"}}
	if d.schema != "" {
		lock = append(lock, sqlstore.Stmt{SQL: "CREATE SCHEMA IF NOT EXISTS " + quoteIdent(d.schema)})
	}
	if _, err := c.Exec(ctx, lock); err != nil {
		return fmt.Errorf("pguow: migrate: %w", err)
	}
	createTable := "CREATE TABLE IF NOT EXISTS " + d.tables.Migrations +
		" (version INT PRIMARY KEY, name VARCHAR(255) NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
	if _, err := sqlstore.Migrate(ctx, c, d.dialect, d.tables, createTable, migrations); err != nil {
		return fmt.Errorf("pguow: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pguow: migrate: commit: %w", ctxErr(ctx, err))
	}
	return nil
}

// PurgeInbox implements [driver.InboxPurger]: it deletes the inbox marks processed before before
// and returns how many it deleted. Errors are pgx's, wrapped.
func (d *Driver) PurgeInbox(ctx context.Context, before time.Time) (int, error) {
	tag, err := d.pool.Exec(ctx, "DELETE FROM "+d.tables.Inbox+" WHERE processed_at < $1", before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("pguow: purge inbox: %w", ctxErr(ctx, d.dialect.Classify(err)))
	}
	return int(tag.RowsAffected()), nil
}

// ctxErr adds ctx's error to err when ctx is done and err does not already wrap it, so that a
// statement the server cancelled because ctx was (SQLSTATE 57014) stays recognisable with
// errors.Is(err, context.Canceled).
func ctxErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: %w", cerr, err)
	}
	return err
}

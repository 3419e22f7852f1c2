package sqliteuow

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/dddkit/ddd/internal/locktable"
	"github.com/dddkit/ddd/internal/sqlstore"
	"github.com/dddkit/ddd/uow/driver"
)

// DefaultLockTimeout is how long a transaction waits for a lock when Options.LockTimeout is
// zero: the Driver's in-process locks and SQLite's busy_timeout.
const DefaultLockTimeout = 5 * time.Second

//go:embed migrations/sqlite/*.sql
var migrationFiles embed.FS

// Options tune a [Driver]. A nil *Options and zero fields mean the documented defaults.
type Options struct {
	// Prefix is prepended to the table names (ddd_aggregate, ddd_outbox, ddd_inbox,
	// ddd_schema_migrations), so that several stores can share one database file: lower-case
	// letters, digits and _, not starting with a digit, at most 40 characters. "" means none.
	Prefix string
	// LockTimeout bounds each wait for a lock: for the Driver's in-process locks (the write
	// transaction, rows locked by GetForUpdate, keys of Unit.Lock) and, as SQLite's
	// busy_timeout, for the database's write lock held by another connection or process. A
	// wait that times out fails with an error wrapping driver.ErrConflict. Zero or negative means
	// DefaultLockTimeout.
	LockTimeout time.Duration
	// SyncNormal sets PRAGMA synchronous=NORMAL instead of FULL (Open only). In WAL mode
	// NORMAL does not sync the log on every commit: commits are faster, and the database stays
	// consistent, but the last commits before a power failure or an OS crash (not a crash of
	// the process) may be lost although the caller saw them succeed, and a relay may already
	// have published their outbox messages. FULL, the default, makes every acknowledged
	// commit durable.
	SyncNormal bool
}

func (o *Options) lockTimeout() time.Duration {
	if o == nil || o.LockTimeout <= 0 {
		return DefaultLockTimeout
	}
	return o.LockTimeout
}

// Driver is the SQLite [driver.Driver]: aggregate documents, outbox messages and inbox marks in
// one database file, accessed through database/sql and modernc.org/sqlite. See the package
// documentation for its transactions and locks.
//
// A unit's transaction is a *sql.Tx, the write transaction, begun when the unit first writes:
// uow.TxOf[*sql.Tx](u) returns it for SQL of your own (a [uow.Mapper], read models, sqlc
// queries), beginning it if need be. Beginning it waits for the database's write lock, held from
// then until the unit ends, so call TxOf when the unit is about to write (a Mapper's Insert,
// Update, Delete or ForUpdate Load) and read optimistically through [Driver.DB]; a write lock
// not had within the lock timeout is an error wrapping uow.ErrConflict, which uow.Do retries.
// Return the errors of the statements you run in it: SQLite rolls the whole transaction back on
// its own after some (an interrupted write, a full disk), and the statements after them would
// no longer run in it.
//
// A Driver is safe for concurrent use. The zero value is not usable: get one from [Open] or
// [New].
type Driver struct {
	db      *sql.DB
	own     bool
	tables  sqlstore.Tables
	timeout time.Duration
	locks   locktable.Table[*backend, lockKey]
	relay   *sqlstore.Relay
	// pause, if set, holds every commit after its statements and before COMMIT (the tests'
	// PauseCommits).
	pause atomic.Pointer[func(context.Context, *driver.Changes)]
}

var (
	_ driver.Driver      = (*Driver)(nil)
	_ driver.InboxPurger = (*Driver)(nil)
)

// DSN returns the modernc.org/sqlite data source name Open uses for path: WAL journal,
// busy_timeout from opts.LockTimeout, foreign keys on, synchronous FULL (NORMAL with
// opts.SyncNormal), and BEGIN IMMEDIATE for transactions (_txlock=immediate), so that a
// write transaction takes the database's write lock when it begins. Open a pool for [New] with
// it. path is a file name or a "file:" URI, which may carry query parameters of its own.
func DSN(path string, opts *Options) string {
	sync := "FULL"
	if opts != nil && opts.SyncNormal {
		sync = "NORMAL"
	}
	ms := max(opts.lockTimeout().Milliseconds(), 1)
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + "_pragma=busy_timeout(" + strconv.FormatInt(ms, 10) + ")" +
		"&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(" + sync + ")" +
		"&_txlock=immediate"
}

// Open opens (creating it if need be) the SQLite database file at path with [DSN] and returns a
// Driver over its own pool, closed by [Driver.Close]. It does not create tables: call
// [Driver.Migrate]. An in-memory database (":memory:", mode=memory) is refused: each
// connection of a pool would get a database of its own; use a file (or package memuow). An
// invalid Options.Prefix is an error.
func Open(ctx context.Context, path string, opts *Options) (*Driver, error) {
	if path == "" || path == ":memory:" || strings.Contains(path, "mode=memory") {
		return nil, fmt.Errorf("sqliteuow: open %q: need a database file (an in-memory database is per connection)", path)
	}
	tables, err := newTables(opts)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", DSN(path, opts))
	if err != nil {
		return nil, fmt.Errorf("sqliteuow: open %s: %w", path, err)
	}
	// A writer holds one connection; readers use the others, never waiting for it.
	n := max(4, 2*runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqliteuow: open %s: %w", path, classify(err))
	}
	d := newDriver(db, tables, opts)
	d.own = true
	return d, nil
}

// New returns a Driver over db, a pool of modernc.org/sqlite connections the caller owns (and
// closes after the Driver's last use; [Driver.Close] leaves it open). Open db with [DSN], or at
// least with a busy_timeout, WAL and _txlock=immediate: without them writers of other
// processes fail sooner with driver.ErrConflict. An invalid Options.Prefix is an error.
func New(db *sql.DB, opts *Options) (*Driver, error) {
	if db == nil {
		return nil, errors.New("sqliteuow: New: nil *sql.DB")
	}
	tables, err := newTables(opts)
	if err != nil {
		return nil, err
	}
	return newDriver(db, tables, opts), nil
}

func newTables(opts *Options) (sqlstore.Tables, error) {
	var prefix string
	if opts != nil {
		prefix = opts.Prefix
	}
	// Validated names need no quoting, and unquoted ones let the migration derive index
	// names, which SQLite keeps per database, from the table names.
	t, err := sqlstore.NewTables("", prefix, func(s string) string { return s })
	if err != nil {
		return t, fmt.Errorf("sqliteuow: %w", err)
	}
	return t, nil
}

func newDriver(db *sql.DB, t sqlstore.Tables, opts *Options) *Driver {
	d := &Driver{db: db, tables: t, timeout: opts.lockTimeout()}
	d.relay = &sqlstore.Relay{D: dialect, T: t, InTx: d.writeTx, Read: sqlstore.SQLConn{Q: db}}
	return d
}

// DB returns the Driver's pool, for reads outside any unit's transaction (read committed): a
// Mapper's optimistic Load, a read model's query. Writes belong in a unit (see [TxOf]).
func (d *Driver) DB() *sql.DB { return d.db }

// Close closes the pool if [Open] opened it; a pool given to [New] stays open. Units still
// running fail.
func (d *Driver) Close() error {
	if !d.own {
		return nil
	}
	return d.db.Close()
}

// Begin starts a transaction: a *[Tx], with no database transaction until it needs one. It
// fails only when ctx is done.
func (d *Driver) Begin(ctx context.Context) (driver.Tx, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: begin: %w", err)
	}
	b := &backend{d: d}
	tx := sqlstore.NewTx(b, dialect, d.tables)
	if p := d.pause.Load(); p != nil {
		tx.BeforeCommit = *p
	}
	return &Tx{tx: tx, b: b}, nil
}

// Migrate creates or updates the tables to the newest schema version, applying the embedded
// migrations the store does not list, in one BEGIN IMMEDIATE transaction: SQLite's DDL is
// transactional, so a failed migration leaves nothing, and migrations of concurrent processes
// run one after the other (the later finds nothing to do). It is idempotent.
func (d *Driver) Migrate(ctx context.Context) error {
	migrations, err := sqlstore.LoadMigrations(migrationFiles, "migrations/sqlite", d.tables)
	if err != nil {
		return fmt.Errorf("sqliteuow: migrations: %w", err)
	}
	createTable := "CREATE TABLE IF NOT EXISTS " + d.tables.Migrations + " (" +
		"version INTEGER PRIMARY KEY, " +
		"name VARCHAR(255) NOT NULL, " +
		"applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
	return d.write(ctx, func(c sqlstore.Conn) error {
		_, err := sqlstore.Migrate(ctx, c, dialect, d.tables, createTable, migrations)
		return err
	})
}

// write runs fn in a write transaction of its own, committed if fn returns nil.
func (d *Driver) write(ctx context.Context, fn func(c sqlstore.Conn) error) error {
	return classify(d.writeTx(ctx, fn))
}

// writeTx is write with the errors unclassified (the relay's sqlstore.Relay classifies).
func (d *Driver) writeTx(ctx context.Context, fn func(c sqlstore.Conn) error) error {
	b := &backend{d: d}
	c, err := b.Conn(ctx, true)
	if err != nil {
		_ = b.Finish(ctx, false)
		return err
	}
	if err := fn(c); err != nil {
		_ = b.Finish(context.WithoutCancel(ctx), false)
		return err
	}
	return b.Finish(ctx, true)
}

// PurgeInbox deletes the inbox marks processed before before and returns how many it deleted
// (driver.InboxPurger). It takes the write transaction like a commit.
func (d *Driver) PurgeInbox(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := d.write(ctx, func(c sqlstore.Conn) error {
		affected, err := c.Exec(ctx, []sqlstore.Stmt{{
			SQL:  "DELETE FROM " + d.tables.Inbox + " WHERE processed_at < ?",
			Args: []any{before.UnixMicro()},
		}})
		if err == nil {
			n = affected[0]
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: purge inbox: %w", err)
	}
	return int(n), nil
}

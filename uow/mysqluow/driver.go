package mysqluow

import (
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/dddkit/ddd/internal/sqlstore"
	"github.com/dddkit/ddd/uow/driver"
)

//go:embed migrations/mysql/*.sql
var migrationFiles embed.FS

// Options tunes a [Driver]. A nil *Options and zero fields mean the documented defaults.
type Options struct {
	// Prefix is put before the names of the driver's tables ("app_" gives app_ddd_aggregate,
	// app_ddd_outbox, app_ddd_inbox, app_ddd_schema_migrations), so that several stores share
	// a database. It may hold lower-case ASCII letters, digits and underscores, not starting
	// with a digit, at most 40 characters; anything else is an error from Open and New. The
	// database itself is the one the DSN (or the caller's pool) names.
	Prefix string

	// LockTimeout is how long a keyed lock ([uow.Unit.Lock], GET_LOCK) waits for another
	// transaction before it fails with an error wrapping driver.ErrConflict; zero or negative
	// means DefaultLockTimeout. MySQL takes whole seconds: it is rounded up.
	//
	// With Open it also sets innodb_lock_wait_timeout on the pool's connections, the wait for
	// row locks (GetForUpdate, writes). With New the caller's pool keeps its own setting (the
	// server's default is 50 s; set it in the DSN: ...?innodb_lock_wait_timeout=5).
	LockTimeout time.Duration
}

// Driver is the MySQL / MariaDB [driver.Driver] over database/sql and github.com/go-sql-driver/mysql.
// See the package documentation for the schema, the transactions and the locks.
//
// A unit's transaction is a *sql.Tx: uow.TxOf[*sql.Tx](u) returns it for SQL of your own (a
// [uow.Mapper], read-model updates, sqlc queries), committed or rolled back with the unit; do not
// call its Commit or Rollback. Named locks taken on it with GET_LOCK are the caller's to release
// (the unit releases those of [uow.Unit.Lock] only).
//
// A Driver is safe for concurrent use by multiple goroutines. The zero value is not usable: get
// one from [Open] or [New].
type Driver struct {
	db         *sql.DB
	own        bool // Open made db: Close closes it
	prefix     string
	tables     sqlstore.Tables
	dialect    *sqlstore.Dialect
	migrations []sqlstore.Migration
	relay      *sqlstore.Relay

	nsMu sync.Mutex
	ns   string // the lock name space, "" until known (see namespace)

	// pause, if set, holds every commit after its statements and before COMMIT (the tests'
	// PauseCommits).
	pause atomic.Pointer[func(context.Context, *driver.Changes)]
}

var (
	_ driver.Driver      = (*Driver)(nil)
	_ driver.InboxPurger = (*Driver)(nil)
)

// Open opens a pool of connections to the MySQL or MariaDB server that dsn names
// (go-sql-driver/mysql form: user:password@tcp(host:3306)/database?param=value) and returns a
// Driver over it, which Close closes. It checks that the server answers within ctx.
//
// Open sets the connection parameters the driver relies on: interpolateParams=true (one round
// trip per statement, unless the DSN sets interpolateParams or its collation forbids it) and,
// when opts.LockTimeout is set, innodb_lock_wait_timeout. Times are stored as integers, so
// parseTime is not needed. An invalid DSN or prefix is an error.
func Open(ctx context.Context, dsn string, opts *Options) (*Driver, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("mysqluow: %w", err)
	}
	if opts != nil && opts.LockTimeout > 0 {
		if cfg.Params == nil {
			cfg.Params = map[string]string{}
		}
		cfg.Params["innodb_lock_wait_timeout"] = strconv.FormatInt(seconds(opts.LockTimeout, 0), 10)
	}
	var connector sqldriver.Connector
	if !strings.Contains(dsn, "interpolateParams=") {
		fast := cfg.Clone()
		fast.InterpolateParams = true
		connector, _ = mysql.NewConnector(fast) // fails for collations unsafe to interpolate
	}
	if connector == nil {
		if connector, err = mysql.NewConnector(cfg); err != nil {
			return nil, fmt.Errorf("mysqluow: %w", err)
		}
	}
	db := sql.OpenDB(connector)
	d, err := New(db, opts)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	d.own = true
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("mysqluow: open: %w", classify(err))
	}
	return d, nil
}

// New returns a Driver over db, a pool of go-sql-driver/mysql connections the caller owns: Close
// does not close it. New does no I/O. An invalid prefix is an error.
func New(db *sql.DB, opts *Options) (*Driver, error) {
	if db == nil {
		return nil, fmt.Errorf("mysqluow: %w: nil *sql.DB", driver.ErrInvalid)
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	tables, err := sqlstore.NewTables("", o.Prefix, func(s string) string { return "`" + s + "`" })
	if err != nil {
		return nil, fmt.Errorf("mysqluow: %w", err)
	}
	migrations, err := sqlstore.LoadMigrations(migrationFiles, "migrations/mysql", tables)
	if err != nil {
		return nil, fmt.Errorf("mysqluow: %w", err)
	}
	d := &Driver{
		db:         db,
		prefix:     o.Prefix,
		tables:     tables,
		dialect:    newDialect(seconds(o.LockTimeout, DefaultLockTimeout)),
		migrations: migrations,
	}
	d.dialect.LockOutboxKeys = outboxKeyLocker(tables.OutboxLock)
	d.relay = &sqlstore.Relay{D: d.dialect, T: tables, InTx: d.inTx, Read: sqlstore.SQLConn{Q: db}}
	return d, nil
}

// DB returns the driver's pool, for read models and tuning (SetMaxOpenConns ...). Transactions of
// units are reached with [TxOf].
func (d *Driver) DB() *sql.DB { return d.db }

// Close closes the pool if Open opened it; a pool given to New is left open. Units still running
// fail.
func (d *Driver) Close() error {
	if !d.own {
		return nil
	}
	return d.db.Close()
}

// Begin implements driver.Driver: it takes a connection from the pool and starts a READ COMMITTED
// transaction on it at once. The [driver.Tx] implements driver.Querier, driver.KeyLocker and
// driver.InboxReader; its Native is the *sql.Tx (see [TxOf]). ctx bounds the begin only: the
// transaction lives until Commit or Rollback. Errors are the pool's
// or the server's; one wrapping ctx.Err() when ctx ends first.
func (d *Driver) Begin(ctx context.Context) (driver.Tx, error) {
	var b *backend
	var err error
	for range 3 { // a connection found broken before anything was sent is replaced
		if b, err = d.begin(ctx); !errors.Is(err, sqldriver.ErrBadConn) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("mysql: begin: %w", classify(err))
	}
	tx := sqlstore.NewTx(b, d.dialect, d.tables)
	if p := d.pause.Load(); p != nil {
		tx.BeforeCommit = *p
	}
	return tx, nil
}

// Migrate creates or updates the driver's tables: it applies, in order, the embedded migrations
// (migrations/mysql/NNNN_*.sql) that the migrations table does not list, and records them. It is
// idempotent, and safe when several processes migrate at once: they take turns under a named
// lock of the store. MySQL commits DDL at once, so each statement is idempotent by itself
// (CREATE TABLE IF NOT EXISTS) and a migration interrupted half-way is completed by the next
// run. Nothing else creates tables: a store that was not migrated fails with the server's
// "doesn't exist" error (1146).
func (d *Driver) Migrate(ctx context.Context) (err error) {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("mysqluow: migrate: %w", classify(err))
	}
	c := sqlstore.SQLConn{Q: conn}
	discard := false
	defer func() {
		if discard {
			_ = conn.Raw(func(any) error { return sqldriver.ErrBadConn })
		}
		_ = conn.Close()
	}()
	ns, err := d.namespace(ctx, c)
	if err != nil {
		return fmt.Errorf("mysqluow: migrate: %w", classify(err))
	}
	name := "ddd-migrate:" + ns
	var got sql.NullInt64
	discard = true // until the lock is released
	err = c.Query(ctx, "SELECT GET_LOCK(?, ?)", []any{name, migrateLockWait}, func(scan func(...any) error) error {
		return scan(&got)
	})
	if err == nil && got.Int64 != 1 {
		err = fmt.Errorf("GET_LOCK(%q) returned %v: another process kept migrating", name, got)
	}
	if err == nil {
		_, err = sqlstore.Migrate(ctx, c, d.dialect, d.tables, createMigrations(d.tables), d.migrations)
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "DO RELEASE_ALL_LOCKS()"); rerr == nil {
			discard = false
		}
	}
	if err != nil {
		return fmt.Errorf("mysqluow: migrate: %w", classify(err))
	}
	return nil
}

// migrateLockWait is how long Migrate waits, in seconds, for another process migrating the same
// store (MariaDB takes no infinite timeout); ctx bounds it too.
const migrateLockWait = 24 * 60 * 60

func createMigrations(t sqlstore.Tables) string {
	return "CREATE TABLE IF NOT EXISTS " + t.Migrations + ` (
	version INT NOT NULL PRIMARY KEY,
	name VARCHAR(255) NOT NULL,
	applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`
}

// namespace returns the lock name space of the store: its database and prefix, hashed (see
// lockName). It asks the server for the database once, on c.
func (d *Driver) namespace(ctx context.Context, c sqlstore.Conn) (string, error) {
	d.nsMu.Lock()
	defer d.nsMu.Unlock()
	if d.ns != "" {
		return d.ns, nil
	}
	var db sql.NullString
	if err := c.Query(ctx, "SELECT DATABASE()", nil, func(scan func(...any) error) error { return scan(&db) }); err != nil {
		return "", err
	}
	d.ns = namespace(db.String, d.prefix)
	return d.ns, nil
}

// PurgeInbox implements driver.InboxPurger: it deletes the inbox marks processed before before and
// returns how many it deleted.
func (d *Driver) PurgeInbox(ctx context.Context, before time.Time) (int, error) {
	res, err := d.db.ExecContext(ctx, "DELETE FROM "+d.tables.Inbox+" WHERE processed_at < ?", before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("mysqluow: purge inbox: %w", classify(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("mysqluow: purge inbox: %w", classify(err))
	}
	return int(n), nil
}

package mysqluow

import (
	"context"
	"crypto/sha256"
	"database/sql"
	sqldriver "database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/go-sql-driver/mysql"

	"github.com/dddkit/ddd/internal/sqlstore"
	"github.com/dddkit/ddd/uow/driver"
)

// ErrConnLost is wrapped by the errors of statements that ran on a connection that broke: the
// server was restarted, the session was killed (KILL), the network failed. It is not a conflict:
// [uow.Do] does not retry it. The transaction was rolled back by the server, except when the
// connection broke while COMMIT ran: then the transaction may or may not have committed.
var ErrConnLost = errors.New("mysqluow: connection lost")

// MySQL and MariaDB error numbers the driver translates.
const (
	erDupEntry            = 1062 // ER_DUP_ENTRY
	erDupEntryWithKeyName = 1586 // ER_DUP_ENTRY_WITH_KEY_NAME
	erLockWaitTimeout     = 1205 // ER_LOCK_WAIT_TIMEOUT
	erLockDeadlock        = 1213 // ER_LOCK_DEADLOCK; also MariaDB's GET_LOCK deadlocks
	erCheckRead           = 1020 // ER_CHECKREAD: MariaDB's "record has changed since last read"
	erUserLockDeadlock    = 3058 // ER_USER_LOCK_DEADLOCK: MySQL 8's GET_LOCK deadlocks
	erLockNowait          = 3572 // ER_LOCK_NOWAIT (MySQL 8, FOR UPDATE NOWAIT)
	erNoSuchTable         = 1146 // ER_NO_SUCH_TABLE
	erServerShutdown      = 1053 // ER_SERVER_SHUTDOWN
	erConnectionKilled    = 1927 // ER_CONNECTION_KILLED (MariaDB)
	erClientTimeout       = 4031 // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8)
)

// DefaultLockTimeout is how long a keyed lock waits when Options.LockTimeout is zero, like the
// servers' default innodb_lock_wait_timeout (50 s).
const DefaultLockTimeout = 50 * time.Second

// newDialect returns the dialect of a driver whose keyed locks wait lockWait seconds.
func newDialect(lockWait int64) *sqlstore.Dialect {
	return &sqlstore.Dialect{
		Name:      "mysql",
		Param:     func(int) string { return "?" },
		ForUpdate: " FOR UPDATE",
		// MySQL 8.0.1+ and MariaDB 10.6+.
		SkipLocked: " FOR UPDATE SKIP LOCKED",
		FieldText:  func(p string) string { return "JSON_UNQUOTE(JSON_EXTRACT(data, " + p + "))" },
		FieldPath:  fieldPath,
		Classify:   classify,
		LockKeys: func(ctx context.Context, c sqlstore.Conn, keys []string) error {
			return lockKeys(ctx, c, keys, lockWait)
		},
		MaxParams: 65535, // the prepared-statement limit; interpolated statements have none
	}
}

// fieldPath returns the JSON path of the top-level field name: $."name", the name quoted the way
// encoding/json writes it in documents (with \" \\ \u003c ... escapes). MySQL 8 decodes the
// escapes of both the path and the document's keys; MariaDB compares keys as written, which is
// why the path uses encoding/json's own spelling. No name can break out of the quotes.
func fieldPath(name string) string {
	b, err := json.Marshal(name) // a string never fails
	if err != nil {
		panic(err)
	}
	return "$." + string(b)
}

// Classify returns err wrapped with the sentinel error that a unit of work acts on, by the
// MySQL or MariaDB error number: deadlocks (1213 ER_LOCK_DEADLOCK, 3058 ER_USER_LOCK_DEADLOCK),
// lock wait timeouts (1205 ER_LOCK_WAIT_TIMEOUT, 3572 ER_LOCK_NOWAIT) and MariaDB's
// serialization failure (1020 ER_CHECKREAD) wrap uow.ErrConflict, which uow.Do retries;
// duplicate keys (1062 ER_DUP_ENTRY, 1586 ER_DUP_ENTRY_WITH_KEY_NAME) wrap uow.ErrDuplicate; a
// connection that broke (the server shut down, the session was killed or timed out, the driver
// found the connection bad) wraps [ErrConnLost]. Any other error is returned unchanged, and so
// are nil and an error that already wraps one of these. The *mysql.MySQLError stays in the
// chain: errors.As still finds it.
//
// It is the classifier the driver uses on its own statements, exported for the SQL you run in a
// unit through uow.TxOf[*sql.Tx] (a uow.Mapper, sqlc queries):
//
//	_, err := tx.ExecContext(ctx, "INSERT INTO account (id, version, ...) VALUES (?, 1, ...)", ...)
//	return mysqluow.Classify(err)
//
// A Mapper's Insert should report ErrDuplicate only for its aggregate's ID (the unit takes it for
// a lost race, reports ErrConflict and uow.Do retries); a violation of another unique key of
// your table is an error of its own, or every retry would meet it again. InnoDB rolls back the
// whole transaction of a deadlock's victim, but only the statement that timed out waiting for a
// lock.
func Classify(err error) error {
	if err == nil || errors.Is(err, driver.ErrConflict) || errors.Is(err, driver.ErrDuplicate) || errors.Is(err, ErrConnLost) {
		return err
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case erLockDeadlock, erUserLockDeadlock:
			return fmt.Errorf("%w: deadlock: %w", driver.ErrConflict, err)
		case erLockWaitTimeout, erLockNowait:
			return fmt.Errorf("%w: lock wait timeout: %w", driver.ErrConflict, err)
		case erCheckRead:
			return fmt.Errorf("%w: serialization failure: %w", driver.ErrConflict, err)
		case erDupEntry, erDupEntryWithKeyName:
			return fmt.Errorf("%w: %w", driver.ErrDuplicate, err)
		case erServerShutdown, erConnectionKilled, erClientTimeout:
			return fmt.Errorf("%w: %w", ErrConnLost, err)
		}
		return err
	}
	if lostConn(err) {
		return fmt.Errorf("%w: %w", ErrConnLost, err)
	}
	return err
}

// classify is the dialect's Classify: Classify, with a hint when the driver's tables are
// missing.
func classify(err error) error {
	err = Classify(err)
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == erNoSuchTable {
		return fmt.Errorf("%w (has Driver.Migrate run on this database?)", err)
	}
	return err
}

// lostConn reports whether err says the connection broke.
func lostConn(err error) bool {
	return errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, sqldriver.ErrBadConn) || errors.Is(err, sql.ErrConnDone)
}

// lockConn is what LockKeys needs of the transaction's connection beyond sqlstore.Conn: the
// keys the session holds, and the lock name space of the store.
type lockConn interface {
	sqlstore.Conn
	// lockName returns the named lock of key, or an error if the name space is unknown.
	lockName(ctx context.Context, key string) (string, error)
	// holds reports whether the session holds key's lock.
	holds(key string) bool
	// taking records that GET_LOCK runs on the session for key (before it runs, so that the
	// session's locks are released even if the answer is lost); got records that it succeeded.
	taking()
	got(key string)
}

// lockKeys takes named locks (GET_LOCK) on the keys, in the order given (sorted), waiting up to
// lockWait seconds each. Keys the session holds are skipped, so re-locking never waits (MySQL's
// locks are re-entrant anyway).
func lockKeys(ctx context.Context, c sqlstore.Conn, keys []string, lockWait int64) error {
	lc, ok := c.(lockConn)
	if !ok {
		return fmt.Errorf("%w: keyed locks in a unit joined to your transaction (named locks belong to the session, not to the transaction)", driver.ErrUnsupported)
	}
	for _, key := range keys {
		if lc.holds(key) {
			continue
		}
		name, err := lc.lockName(ctx, key)
		if err != nil {
			return err
		}
		lc.taking()
		var got sql.NullInt64
		err = c.Query(ctx, "SELECT GET_LOCK(?, ?)", []any{name, lockWait}, func(scan func(...any) error) error {
			return scan(&got)
		})
		switch {
		case err != nil:
			return fmt.Errorf("key %q: %w", key, err)
		case !got.Valid:
			return fmt.Errorf("key %q: GET_LOCK(%q) returned NULL (the session was killed or the server ran out of memory)", key, name)
		case got.Int64 != 1:
			return fmt.Errorf("%w: lock wait timeout: key %q stayed locked by another transaction for %ds", driver.ErrConflict, key, lockWait)
		}
		lc.got(key)
	}
	return nil
}

// lockName returns the server-wide named lock of key in name space ns: "ddd:<ns>:<key>", or,
// when that is longer than MySQL's 64 characters or the key is not UTF-8,
// "ddd:<ns>:#<50 hex digits of the key's SHA-256>". Two keys sharing a lock (a hash collision,
// or MySQL comparing lock names without regard to case) only serialise more than needed.
func lockName(ns, key string) string {
	n := "ddd:" + ns + ":" + key
	if len(n) <= 64 && utf8.ValidString(key) {
		return n
	}
	sum := sha256.Sum256([]byte(key))
	return "ddd:" + ns + ":#" + hex.EncodeToString(sum[:])[:50]
}

// namespace returns the lock name space of the tables with prefix in database db: 8 hex digits
// of a hash, since named locks are server-wide and two stores on one server must not share them.
func namespace(db, prefix string) string {
	sum := sha256.Sum256([]byte(db + "\x00" + prefix))
	return hex.EncodeToString(sum[:4])
}

// seconds returns d in whole seconds, rounded up (GET_LOCK and innodb_lock_wait_timeout take
// whole seconds on MySQL), or def when d is zero or negative.
func seconds(d, def time.Duration) int64 {
	if d <= 0 {
		d = def
	}
	return int64(math.Ceil(d.Seconds()))
}

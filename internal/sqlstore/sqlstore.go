// Package sqlstore is the storage logic the SQL drivers of package uow share: the statements that
// load, find and write aggregate documents, outbox messages and inbox marks, the commit that
// checks every version, and the migration runner. It is written once, over two small
// abstractions, and parameterised by a [Dialect]:
//
//   - [Conn] runs statements in a transaction; database/sql ([SQLConn]) and pgx (in pguow)
//     implement it, so PostgreSQL talks pgx natively and can send a whole commit in one batch;
//   - [Backend] owns the transaction: when it begins, which connection runs a statement, how it
//     ends (sqliteuow begins its write transaction lazily; pguow and mysqluow at once), or,
//     for a transaction joined to one its caller began ([Savepoint]), how it runs inside it.
package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/dddkit/ddd/uow/driver"
)

// Conn runs statements in one transaction. Implementations are used by one goroutine.
type Conn interface {
	// Query runs q and calls row once per result row; row scans the columns with scan.
	Query(ctx context.Context, q string, args []any, row func(scan func(dest ...any) error) error) error
	// Exec runs the statements in order, in one round trip where the backend can, and returns
	// the rows each affected. On error it returns an *ExecError naming the failed statement;
	// the statements after it may or may not have run, so the caller rolls back.
	Exec(ctx context.Context, stmts []Stmt) ([]int64, error)
}

// Stmt is one statement and its arguments.
type Stmt struct {
	SQL  string
	Args []any
}

// ExecError is the error of the statement at Index of an Exec.
type ExecError struct {
	Index int
	Err   error
}

// Error names the statement and its error.
func (e *ExecError) Error() string { return fmt.Sprintf("statement %d: %v", e.Index, e.Err) }

// Unwrap returns the statement's error.
func (e *ExecError) Unwrap() error { return e.Err }

// Backend owns a driver's transaction for the generic [Tx].
type Backend interface {
	// Conn returns the connection to run a statement on. write is true for what must run in
	// the write transaction: locking reads, keyed locks, the commit, custom SQL.
	Conn(ctx context.Context, write bool) (Conn, error)
	// Finish commits (commit true) or rolls back the transaction and releases its connection
	// and locks. It is called exactly once.
	Finish(ctx context.Context, commit bool) error
	// Native returns the handle custom SQL runs on (see driver.Tx.Native), beginning the write
	// transaction if need be.
	Native(ctx context.Context) (any, error)
}

// CommitNotifier is implemented by a Backend that announces committed outbox messages, such as
// pguow's NOTIFY that wakes relays. Tx calls NotifyAfterCommit before Finish(ctx, true) of a
// commit that wrote messages; the backend sends the notification once COMMIT succeeded, outside
// the transaction, so it never holds the transaction's locks (PostgreSQL serialises the commits of
// notifying transactions). A notification is a hint: relays poll as well, so a lost one costs a
// poll interval, never a message. A joined transaction (Savepoint) notifies inside its caller's
// transaction instead, which the server delivers when that commits.
type CommitNotifier interface {
	NotifyAfterCommit()
}

// Dialect is what differs between the SQL backends.
type Dialect struct {
	// Name is the backend's name for error messages: "postgres", "mysql", "sqlite".
	Name string
	// Param returns the n-th (1-based) bind parameter: "$1" or "?".
	Param func(n int) string
	// ForUpdate is appended to a locking read (" FOR UPDATE"); empty where the backend locks
	// otherwise (SQLite's write transaction).
	ForUpdate string
	// SkipLocked is appended to the relay's claim (see Relay.Claim): " FOR UPDATE SKIP LOCKED",
	// so that concurrent claims lock the rows they lease and skip each other's; empty where
	// claims are serialised otherwise (SQLite's write transaction).
	SkipLocked string
	// FieldText returns the SQL expression of the text of a top-level field of the JSON
	// document in column data, the field's path being bind parameter param (see FieldPath).
	FieldText func(param string) string
	// FieldPath returns the bind value naming a top-level JSON field for FieldText.
	FieldPath func(name string) string
	// Classify translates a backend error: serialization failures, deadlocks and lock timeouts
	// to errors wrapping driver.ErrConflict, unique violations to ones wrapping
	// driver.ErrDuplicate (the commit turns the latter into the contract's error of the
	// statement: a duplicate record, a conflicting inbox mark); others are returned as they are,
	// or with a hint. It is the classifier each driver exports for Mappers, plus hints about
	// the driver's own tables.
	Classify func(err error) error
	// LockKeys takes transaction-scoped locks on the sorted keys (see driver.KeyLocker).
	LockKeys func(ctx context.Context, c Conn, keys []string) error
	// LockOutboxKeys, when set, returns the statement a commit runs before inserting its
	// messages: it locks the messages' keys (sorted, without duplicates) until the transaction
	// ends, so that two commits storing messages of one key store them in the order they commit
	// (see driver.Tx.Commit). Nil where writers commit one at a time anyway (SQLite). The locks
	// come after every record write of the commit and before nothing but the message and inbox
	// inserts, so they cannot close a cycle with the row locks of another commit.
	LockOutboxKeys func(keys []string) Stmt
	// MaxParams bounds the bind parameters of one statement.
	MaxParams int
	// SeqIn, when set, binds a list of sequence numbers as one array parameter: it returns the
	// condition that column seq is one of the []int64 bound as param (PostgreSQL's
	// "seq = ANY($1)"). Relay.Hold needs it.
	SeqIn func(param string) string
	// Lanes, when set, partitions the relay's claims by message key (PostgreSQL's advisory
	// locks): Relay.Hold needs it, and Relay.Claim takes lanes too, so that held and leased
	// claims exclude each other.
	Lanes *Lanes
}

// Lanes partition a relay's claims by message key: a claim's transaction first takes lanes,
// which no concurrent claim shares, then selects only the messages of its lanes. The driver
// decides how many lanes a claim takes.
type Lanes struct {
	// Filter is the select's condition that message o is in one of the lanes its transaction
	// took.
	Filter string
	// Take takes a leased claim's lanes in its transaction c, before its select; it returns
	// ErrNoLanes when none came free (the transaction is then aborted: the claim is empty).
	// A held claim's transaction (Relay.Begin) takes its lanes itself, before its first query.
	Take func(ctx context.Context, c Conn) error
}

// ErrNoLanes is the error of a claim that found no lane free: it claims nothing.
var ErrNoLanes = errors.New("no free lane")

// Tables are the quoted, validated names of a driver's tables.
type Tables struct {
	Aggregate, Outbox, Inbox, Migrations string
	// OutboxLock is the table of the rows that serialise the commits of a message key, on the
	// backends that lock rows for it (MySQL; see Dialect.LockOutboxKeys).
	OutboxLock string
	// Channel is the unquoted notification channel name (PostgreSQL).
	Channel string
}

var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,39}$`)

// ValidIdent reports whether s may name a schema or prefix a table: lower-case ASCII letters,
// digits and underscores, not starting with a digit, at most 40 characters. Names are checked,
// never escaped, so none can inject SQL.
func ValidIdent(s string) bool { return identRE.MatchString(s) }

// NewTables returns the table names for a schema ("" for the connection's default) and a table
// prefix ("" for none, "app_" ...), quoted by quote. An invalid schema or prefix is an error
// wrapping driver.ErrInvalid.
func NewTables(schema, prefix string, quote func(string) string) (Tables, error) {
	if schema != "" && !ValidIdent(schema) {
		return Tables{}, fmt.Errorf("%w: invalid schema name %q: use lower-case letters, digits and _", driver.ErrInvalid, schema)
	}
	if prefix != "" && !ValidIdent(prefix) {
		return Tables{}, fmt.Errorf("%w: invalid table prefix %q: use lower-case letters, digits and _", driver.ErrInvalid, prefix)
	}
	name := func(base string) string {
		n := quote(prefix + base)
		if schema != "" {
			n = quote(schema) + "." + n
		}
		return n
	}
	channel := "ddd_outbox"
	if schema != "" || prefix != "" {
		channel = strings.TrimSuffix("ddd_outbox_"+schema+"_"+prefix, "_")
	}
	return Tables{
		Aggregate:  name("ddd_aggregate"),
		Outbox:     name("ddd_outbox"),
		Inbox:      name("ddd_inbox"),
		Migrations: name("ddd_schema_migrations"),
		OutboxLock: name("ddd_outbox_lock"),
		Channel:    channel,
	}, nil
}

package driver

import (
	"context"
	"time"
)

// Driver is a complete storage backend: transactions for units of work, and the outbox they
// write, as relays read it. Implementations are safe for concurrent use, by units and relays of
// one process or many.
type Driver interface {
	// Begin starts a transaction. The returned Tx is used by one goroutine and ends with exactly
	// one call to Commit or Rollback. An error is returned as it is; ctx bounds only the begin.
	Begin(ctx context.Context) (Tx, error)

	Outbox
}

// Joiner is implemented by a Driver whose transactions can run inside a transaction the caller
// opened and ends, as database/sql's BeginTx runs one inside a connection: the unit's records,
// messages and inbox marks are written in the caller's transaction and become visible,
// atomically with the caller's own statements, when the caller commits it, and never if the
// caller rolls it back.
type Joiner interface {
	// Join returns a Tx running inside native, a transaction of the driver's own type (each
	// driver documents it: pgx.Tx, *sql.Tx) that the caller began and will end; any other value
	// is an error wrapping ErrInvalid. ctx bounds only the join. The Tx reads in native, at
	// native's isolation level, and sees what native wrote. Tx.Native returns native.
	//
	// Tx.Commit writes the changes in native as Commit does (same errors, same order of writes,
	// same serialisation of a key's messages) but does not commit native: the locks it takes
	// for that order, and the row and key locks the Tx took, are then native's and held until
	// native ends, so other transactions that write the same records or messages of the same
	// keys wait for native's end. Tx.Rollback, and a Commit that fails, undo everything the Tx
	// wrote (and what the caller ran on native meanwhile) and leave native usable, so the
	// caller can still commit its own work or roll back; the one exception is a backend that
	// ended native itself (InnoDB rolls back a deadlock victim's whole transaction), and then
	// their error says so and the caller must roll native back. Neither ever commits nor rolls
	// back native. What the Tx sets for its own statements (a lock timeout) is native's again
	// once it ends.
	//
	// Joins nest: a Tx joined to native while another Tx joined to native is open runs inside
	// that one, and is undone with it. A joined Tx may refuse an optional capability whose
	// locks could not last until native ends (keyed locks that belong to a session or a
	// process), with an error wrapping ErrUnsupported.
	Join(ctx context.Context, native any) (Tx, error)
}

// Tx is one transaction of a driver. Reads see committed data (read committed); writes happen in
// Commit, so nothing of the transaction is visible to others before Commit returns nil.
type Tx interface {
	// Load returns the stored records of kind with the given IDs, in any order; IDs with no
	// record are left out (not an error). With [ForUpdate] each returned record's row stays
	// locked against other ForUpdate loads and writes until the transaction ends; a load that
	// waits for another transaction's lock honours ctx, and a wait the driver gives up on
	// (a deadlock, a lock timeout) returns an error wrapping [ErrConflict].
	Load(ctx context.Context, kind string, ids []string, lock Lock) ([]Record, error)

	// Commit writes c atomically and ends the transaction; on any error nothing of c is
	// stored. It returns an error wrapping [ErrConflict] when an update or delete finds a
	// version other than Record.Version (or no record), when an inbox mark already exists, and
	// for the backend's serialization failures and deadlocks; an error wrapping [ErrDuplicate]
	// when an insert finds a record with the same kind and ID.
	//
	// It writes the records in the order given (the unit sorts them by kind, then ID, so that
	// concurrent commits take their row locks in one order), then the messages, then the inbox
	// marks. Messages are stored in the order given, and the messages of one key in the order
	// their transactions commit: when two transactions store messages with a common key, the
	// messages of the one that commits first come first in the outbox (the order relays publish
	// in), whatever order the two inserted them in. A backend whose writers commit one at a time
	// (SQLite) gets that for free; others serialise the commits that store messages of a key,
	// from before the messages are inserted until the commit ends.
	Commit(ctx context.Context, c *Changes) error

	// Rollback ends the transaction, discarding it and releasing its locks. Calling it after
	// Commit (successful or not) or twice returns nil and does nothing.
	Rollback(ctx context.Context) error

	// Native returns the driver's own transaction handle (a *sql.Tx, a pgx.Tx, ...) for SQL of
	// the user's own in the same transaction; uow.TxOf hands it to Mappers and read models.
	// Drivers document the type. It returns nil after the transaction ended, and an error
	// (wrapped as Commit's are) when the handle cannot be had, such as a lazily begun
	// transaction that failed to begin.
	Native() any
}

// Querier is implemented by a Tx that can select records by the top-level fields of their JSON
// documents. Find returns the committed records of kind for which every filter field equals its
// value (compared as JSON values: strings, numbers, booleans, null), in ID order.
type Querier interface {
	Find(ctx context.Context, kind string, where []Field) ([]Record, error)
}

// KeyLocker is implemented by a Tx that can take locks on arbitrary keys. LockKeys takes the
// locks on keys (sorted, without duplicates, as the unit passes them), each held until the
// transaction ends; a key another transaction holds makes it wait (honouring ctx), and a wait the
// driver gives up on returns an error wrapping [ErrConflict]. Taking a key the transaction
// already holds succeeds at once.
type KeyLocker interface {
	LockKeys(ctx context.Context, keys []string) error
}

// InboxReader is implemented by a Tx that keeps an inbox. Processed reports whether the mark
// (consumer, messageID) is committed.
type InboxReader interface {
	Processed(ctx context.Context, consumer, messageID string) (bool, error)
}

// InboxPurger is implemented by a Driver that can delete inbox marks committed before a time.
// PurgeInbox returns how many it deleted.
type InboxPurger interface {
	PurgeInbox(ctx context.Context, before time.Time) (int, error)
}

// Lock is the locking mode of a load.
type Lock int

const (
	// Optimistic loads take no lock: a concurrent change is caught at commit by the version
	// compare-and-set, and the unit fails with ErrConflict.
	Optimistic Lock = iota
	// ForUpdate loads lock the row until the unit ends (SELECT ... FOR UPDATE): other writers
	// and ForUpdate loads of that row wait.
	ForUpdate
)

// Record is a stored aggregate: its kind (the aggregate's AggregateType), ID, version and JSON
// document.
type Record struct {
	Kind    string
	ID      string
	Version int64
	Data    []byte
}

// Field is one equality condition of a query on a top-level field of the JSON document.
type Field struct {
	Name  string
	Value any // a string, bool, integer, float or nil
}

// Op is what a write does to a record.
type Op int

const (
	// Insert stores a new record at version 1.
	Insert Op = iota + 1
	// Update replaces the document if the stored version equals Record.Version, and stores
	// version Record.Version+1.
	Update
	// Delete removes the record if the stored version equals Record.Version.
	Delete
)

// Write is one record write of a commit. For Update and Delete, Record.Version is the version
// the unit loaded (the expected one); for Insert it is 0. Data is empty for Delete.
type Write struct {
	Op     Op
	Record Record
}

// InboxMark records that consumer processed the message with the given ID.
type InboxMark struct {
	Consumer  string
	MessageID string
	At        time.Time
}

// Changes is everything a unit commits in one transaction: record writes sorted by kind, then
// ID (one global order, so that commits never deadlock on each other's rows), outbox messages in
// the order they were recorded or emitted, and inbox marks sorted by consumer, then message ID.
type Changes struct {
	Writes   []Write
	Messages []Message
	Inbox    []InboxMark
}

// Empty reports whether c writes nothing.
func (c *Changes) Empty() bool {
	return len(c.Writes) == 0 && len(c.Messages) == 0 && len(c.Inbox) == 0
}

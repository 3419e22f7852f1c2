// Package driver is the storage contract of the unit of work and the outbox relay: the
// interfaces a storage backend implements and the values it exchanges with packages uow, outbox
// and saga, which consume it. It plays the part package database/sql/driver plays for
// database/sql: application code uses package uow and never this one; a driver author implements
// it and imports nothing above it.
//
// A backend stores three things that share one transaction: aggregate records (one JSON
// document per aggregate, keyed by kind and ID, with a version), outbox messages and inbox marks.
// A relational mapping of the user's own (uow.Mapper) adds tables, written through the native
// transaction of the same transaction ([Tx.Native]).
//
// # What a driver implements
//
// [Driver] names a complete backend: [Driver.Begin] opens transactions for units of work, and
// the [Outbox] methods let relays claim, acknowledge and release the messages those transactions
// committed. One driver value is handed both to uow.NewStore and to outbox.NewRelay.
//
// Optional interfaces add capabilities; the consumer checks for them with a type assertion and
// reports an error wrapping [ErrUnsupported] when one is missing:
//
//   - on a [Tx]: [Querier] (select records by document fields), [KeyLocker] (locks on arbitrary
//     keys), [InboxReader] (the inbox);
//   - on a [Driver]: [InboxPurger] (delete old inbox marks), [Joiner] (run a unit inside a
//     transaction the caller opened), [Holder] (claims held as row locks instead of leases),
//     [Operator] (parked messages and the backlog);
//   - on a [Held]: [Contention].
//
// # Clauses
//
// Every method's doc comment states what the driver must do, clause by clause. Package
// github.com/dddkit/ddd/uow/uowtest checks a driver against every clause of this package (and the
// clauses that span several methods: commit order per key, concurrent claims, mixed locking
// strategies without deadlocks); a driver passes it before it is used.
//
// # Errors
//
// A driver translates its backend's errors into the sentinels of this package, wrapped, so that
// callers test with errors.Is whatever the backend: [ErrConflict] for version mismatches,
// serialization failures, deadlocks and lock timeouts (uow.Do retries them), [ErrDuplicate] for
// an insert of an existing record, [ErrInvalid] for bad arguments, [ErrTxDone] for a transaction
// used after it ended. Package uow re-exports them under the same values.
package driver

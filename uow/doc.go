// Package uow is the unit of work: it runs a command's loads and changes of aggregates in one
// transaction and commits, at once, every changed aggregate (with a version compare-and-set), every
// event they recorded (to the transactional outbox) and the inbox marks of the messages handled.
//
// # Running commands
//
// A [Store] runs units on a driver: memuow in memory, or the SQL drivers (sqliteuow, pguow,
// mysqluow). [Do] runs a function in a fresh [Unit], commits, and retries the whole function
// when it meets a conflict:
//
//	err := uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
//		acc, err := uow.Repo[Account, AccountID](u).Get(ctx, id)
//		if err != nil {
//			return err
//		}
//		return acc.Withdraw(amount) // records AccountDebited
//	}, nil)
//
// Task-based commands are first-class too: a [Command] carries its data and a Handle method, and an
// [Executor] runs it with retries, slog logging and a metrics hook. Handlers reach services (a
// payment provider, a mailer) through the unit with [Service], so they need no constructor
// injection and tests swap them through [Options]. A command declares the services it needs
// ([Requirer], [Needs]); [NewExecutor] checks them, so a missing one stops the application when
// it starts, not when the command first runs. The store's clock, which stamps messages and inbox
// marks, is an option of its own ([Options].Clock), never picked out of the services.
//
// # Your own transactions
//
// A unit can also run inside a transaction your code already opened (a pgx.Tx, a *sql.Tx), as
// database/sql's BeginTx runs one inside a connection: [DoIn] (or [Store.Join]) writes the
// unit's aggregates, messages and inbox marks in that transaction, inside a savepoint, so they
// commit atomically with your own statements when you commit it. DoIn does not retry
// conflicts: roll your transaction back and run it again. [TxOf] returns your transaction, for
// queries of your own (sqlc's generated code takes it as its DBTX). The SQL drivers document
// what they need of the transaction and export their error classifier for your SQL.
//
// # Repositories
//
// [Repo] stores any aggregate type as one JSON document per aggregate, on every driver, with no
// SQL written by the user: Get, GetForUpdate, GetMany, Find (by top-level fields), FindFunc (by
// predicate), Add, GetOrAdd (the get-or-create of read models) and Remove. [MappedRepo] keeps an
// aggregate in the user's own tables through a [Mapper] with the same guarantees. Repositories
// take the aggregate's own ID type, so an ID of another aggregate does not compile:
//
//	accounts := uow.Repo[Account, AccountID](u) // Get(ctx, AccountID), GetMany(ctx, ...AccountID)
//
// Loading an ID twice in a unit gives the same value; an aggregate that did not change is not
// written, so unrelated commands never collide. Each aggregate type is stored under its
// AggregateType, a stable name that survives renaming the Go type.
//
// # Concurrency
//
// Loads are optimistic by default: a concurrent change makes the commit fail with [ErrConflict],
// and Do retries. [Repository.GetForUpdate] locks the row until the unit ends (pessimistic), and
// [Unit.Lock] takes locks on arbitrary keys, in sorted order so two units cannot deadlock on
// them. A commit writes its rows in one global order (by kind, then ID), so units of every
// strategy wait for each other without deadlocking as long as the locks they take themselves
// follow that order too. Drivers report serialization failures, deadlocks and lock timeouts as
// ErrConflict; a unit that adds an aggregate another unit inserted after Add found the ID free
// gets ErrConflict as well (a lost race), so [Repository.GetOrAdd] converges under Do.
//
// # Messages
//
// Commit writes each aggregate's recorded events as outbox [Message]s (topic: its AggregateType;
// key: its ID; headers: correlation, causation, aggregate type, ID and version), then the
// messages the code emitted with [Unit.Emit] (commands, delayed timeouts). A relay publishes them
// after commit. [Unit.MarkProcessed] is the inbox: the mark commits with the handler's effects,
// so a redelivered message has no second effect; [Store.PurgeInbox] bounds its size.
//
// # Drivers
//
// A driver implements the storage contract of package github.com/dddkit/ddd/uow/driver, which
// states what it must do clause by clause; package uowtest checks a driver against all of them.
// One driver value serves both a [Store] and the outbox relays. Application code needs that
// package only to name the driver it passes around (driver.Driver).
package uow

// Package sqliteuow is the SQLite driver of the unit of work of package
// [github.com/dddkit/ddd/uow], on modernc.org/sqlite (pure Go, no cgo) through database/sql: the
// embedded default. Aggregates are JSON documents in one table, with the outbox and the inbox
// in the same database file, so a unit's records, messages and inbox marks commit in one
// transaction.
//
// # Usage
//
//	ctx := context.Background()
//	d, err := sqliteuow.Open(ctx, "bank.db", nil) // nil: the default Options
//	if err != nil {
//		return err
//	}
//	defer d.Close()
//	if err := d.Migrate(ctx); err != nil { // explicit and idempotent: run it at start-up
//		return err
//	}
//	store := uow.NewStore(d, nil)
//	err = uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
//		acc, err := uow.Repo[Account, AccountID](u).Get(ctx, "alice")
//		if err != nil {
//			return err
//		}
//		return acc.Deposit(100) // recorded events reach the outbox with the commit
//	}, nil)
//
// A Mapper keeps an aggregate in tables of your own instead (see [uow.Mapper]); it runs its
// SQL in the unit's transaction through [TxOf]:
//
//	type accountMapper struct{ d *sqliteuow.Driver }
//
//	func (m accountMapper) Update(ctx context.Context, u *uow.Unit, a *Account, expected int64) error {
//		tx, err := uow.TxOf[*sql.Tx](u) // *sql.Tx, committed or rolled back with the unit
//		if err != nil {
//			return err // driver.ErrConflict when the write lock is not had: Do retries
//		}
//		res, err := tx.ExecContext(ctx,
//			"UPDATE account SET balance = ?, version = version + 1 WHERE id = ? AND version = ?",
//			a.Balance, a.ID(), expected)
//		if err != nil {
//			return err
//		}
//		if n, _ := res.RowsAffected(); n != 1 {
//			return fmt.Errorf("%w: account %s moved on", driver.ErrConflict, a.ID())
//		}
//		return nil
//	}
//
//	// Load reads the pool for optimistic loads and the unit's transaction for ForUpdate ones;
//	// Insert (return Classify(err): an existing ID is driver.ErrDuplicate) and Delete are like
//	// Update.
//
//	accounts := uow.MappedRepo[Account, AccountID](u, accountMapper{d})
//
// [Classify] translates the errors of your SQL as the driver translates its own (SQLITE_BUSY and
// SQLITE_LOCKED to driver.ErrConflict, primary key and unique violations to
// driver.ErrDuplicate).
//
// # Joining your transaction
//
// A unit can also run inside a *sql.Tx your code began on [Driver.DB], so that its aggregates,
// outbox messages and inbox marks commit atomically with your own statements: [uow.DoIn] (or
// [uow.Store.Join]) runs it in a savepoint of your transaction ([Driver.Join]), and you commit
// or roll back as usual:
//
//	tx, err := d.DB().BeginTx(ctx, nil) // BEGIN IMMEDIATE: the database's write lock
//	if err != nil {
//		return err
//	}
//	defer tx.Rollback() // does nothing after Commit
//	if _, err := tx.ExecContext(ctx, "INSERT INTO audit (what) VALUES (?)", "deposit"); err != nil {
//		return err
//	}
//	err = uow.DoIn(ctx, store, tx, func(ctx context.Context, u *uow.Unit) error {
//		acc, err := uow.Repo[Account, AccountID](u).Get(ctx, "alice")
//		if err != nil {
//			return err
//		}
//		return acc.Deposit(100)
//	})
//	if err != nil {
//		return err // errors.Is(err, uow.ErrConflict): run the whole transaction again
//	}
//	return tx.Commit()
//
// A unit that fails or rolls back undoes only what it wrote (ROLLBACK TO SAVEPOINT), and your
// transaction stays usable. DoIn does not retry conflicts: roll your transaction back and run
// it again. The unit reads in your transaction, so it sees what you wrote. Your transaction
// holds SQLite's write lock (from BEGIN with the Driver's pool, which Open configures with
// _txlock=immediate), which excludes every other writer until it ends: the Driver's own units
// wait for it up to the lock timeout, then fail with driver.ErrConflict, which Do retries, so
// keep it short, and never run a unit of your own (uow.Do) from the goroutine that holds it
// open. A joined unit takes none of the Driver's in-process locks (the write lock already
// excludes everyone else) and they do not see it, as they do not see other processes: a unit
// that loaded ForUpdate a record the joined unit then changes fails its commit with
// driver.ErrConflict (Do retries it) instead of making the joined unit wait; [uow.Unit.Lock] is
// not supported in a joined unit. uow.TxOf[*sql.Tx](u) returns your transaction, so queries that sqlc generates for
// database/sql (db.New(tx)) run in it too.
//
// # Transactions
//
// SQLite has one writer at a time per database; in WAL mode (which Open sets) readers never
// wait for it. A unit therefore starts with no transaction: optimistic loads ([uow.Repository.Get]),
// queries and inbox checks read committed data on the pool, each statement on its own (read
// committed, like memuow). The unit's write transaction begins when it is needed, at Commit or
// at [TxOf], with BEGIN IMMEDIATE, and every later statement of the unit runs in it until the
// unit ends. So a unit holds SQLite's write lock only while it commits, unless it takes it
// earlier for custom SQL.
//
// Writers of one Driver queue in the process for the write transaction (without SQLite's
// busy polling); writers of other processes, or other Drivers on the same file, wait for
// SQLite's write lock up to the lock timeout (busy_timeout). A wait that runs out returns an
// error wrapping [driver.ErrConflict], which [uow.Do] retries: never a bare "database is locked".
// A wait honours the context of the call, ending with its error.
//
// # Locks
//
// GetForUpdate and [uow.Unit.Lock] take locks in the Driver's in-process lock table: a row
// (kind and ID) or a key, held until the unit ends. A ForUpdate load locks its rows, then reads
// them, so it sees the latest commit; a commit locks the rows it writes before it writes,
// waiting for units that loaded them ForUpdate. Waits end with the context's error, or with
// [driver.ErrConflict] after the lock timeout or at once when they would close a deadlock (the
// lock table sees the write transaction too).
//
// These locks exclude the units of one Driver, which is what an embedded database usually
// has: one process. They are not shared with other processes (or other Drivers) on the same
// file: there, two units may both "lock" a row, the second commit finds the version moved on
// and fails with [driver.ErrConflict], and Do retries it. No update is ever lost, but waiting
// turns into retrying. Custom SQL through [TxOf] (a Mapper's ForUpdate load, say) runs in the
// write transaction, which excludes every other writer of every process: on SQLite that lock
// is as coarse as the database's write lock.
//
// Keeping the pessimistic locks per row rather than taking the write transaction for them is
// what lets two units hold locks on different rows at once, as the uow contract (and package
// uowtest) expects, and lets deadlocks between them be broken.
//
// # Durability
//
// Open sets synchronous=FULL: in WAL mode every commit syncs the log, so a commit the caller
// saw succeed survives a power failure, and the outbox never holds messages a relay published
// for commits that are then lost. [Options].SyncNormal trades that for faster commits
// (synchronous=NORMAL: the last commits before a power failure or OS crash may be lost; a
// crash of the process loses nothing, and the file stays consistent either way).
//
// # Schema
//
// [Driver.Migrate] creates the tables ddd_aggregate (kind, id, version, data as JSON text),
// ddd_outbox (seq, id, topic, msg_key, name, payload, headers, created_at and deliver_after in
// unix microseconds) and ddd_inbox (consumer, message_id, processed_at), and records applied
// versions in ddd_schema_migrations; [Options].Prefix prefixes every name. Nothing is created
// on first use: a store that was not migrated fails with SQLite's "no such table" and a hint to
// call Migrate.
//
// # Outbox relay
//
// The Driver is also the relay's side of the outbox: it implements [driver.Outbox] (Claim, Ack,
// Release) and [driver.Operator] (Pending, Parked, Unpark, PurgeParked, OldestDue) over the columns
// that migration 0002 adds to ddd_outbox: attempts, retry_at, lease_owner, lease_until, parked_at
// and last_error (times in unix microseconds). A claim takes, in seq order and at most its limit,
// the due messages that head their key (or follow only messages leased to the same relay), leases
// them and returns them; an ack deletes them. Claims, acks and releases run in the Driver's write
// transaction, like commits, which serialises the claims of every relay on the file. Parked times
// are the process's clock (time.Now). A commit inserts its messages in its write transaction, which
// no other writer shares until it commits, so seq order is the order in which commits storing
// messages of a key commit: relays publish each key's messages in commit order.
//
// # Errors
//
// Besides the uow errors (ErrConflict for version mismatches, lock timeouts and deadlocks,
// ErrDuplicate for an existing ID), the original modernc.org/sqlite *sqlite.Error stays in the
// chain for errors.As; context errors stay recognisable with errors.Is. [Classify] is the
// translation, exported for your own SQL.
package sqliteuow

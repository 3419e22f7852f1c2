// Package mysqluow is the MySQL / MariaDB driver of package uow, on database/sql and
// github.com/go-sql-driver/mysql. It supports MySQL 8 and MariaDB 10.6 and later, and passes
// the uowtest conformance suite.
//
// # Usage
//
// Open a pool (or wrap one you own with [New]), create the tables once with [Driver.Migrate],
// and run units through a [uow.Store]:
//
//	d, err := mysqluow.Open(ctx, "app:secret@tcp(db:3306)/bank", nil)
//	if err != nil {
//		return err
//	}
//	defer d.Close()
//	if err := d.Migrate(ctx); err != nil { // explicit, idempotent; run it at deploy or start-up
//		return err
//	}
//	store := uow.NewStore(d, nil)
//	err = uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
//		acc, err := uow.Repo[Account, AccountID](u).Get(ctx, "acc-1") // a JSON document, no SQL to write
//		if err != nil {
//			return err
//		}
//		return acc.Withdraw(10) // committed with its events in the outbox, in one transaction
//	}, nil)
//
// Aggregates kept in tables of your own go through a [uow.Mapper] whose methods run SQL in the
// unit's transaction, reached with [TxOf]; the unit still keeps the identity map, and the
// version compare-and-set, the outbox and the inbox commit or roll back with your rows:
//
//	type accountTable struct{}
//
//	func (accountTable) Update(ctx context.Context, u *uow.Unit, a *Account, expected int64) error {
//		tx, err := uow.TxOf[*sql.Tx](u)
//		if err != nil {
//			return err
//		}
//		res, err := tx.ExecContext(ctx,
//			"UPDATE account SET balance = ?, version = version + 1 WHERE id = ? AND version = ?",
//			a.Balance, a.ID(), expected)
//		if err != nil {
//			return err
//		}
//		if n, err := res.RowsAffected(); err != nil || n != 1 {
//			return fmt.Errorf("%w: account %s changed meanwhile", driver.ErrConflict, a.ID())
//		}
//		return nil
//	}
//	// ... Load (SELECT ... [FOR UPDATE], aggregate.RestoreRoot), Insert (return Classify(err):
//	// a duplicate key is driver.ErrDuplicate), Delete alike.
//
//	acc, err := uow.MappedRepo[Account, AccountID](u, accountTable{}).Get(ctx, "acc-1")
//
// [Classify] translates the errors of your SQL as the driver translates its own (deadlocks and
// lock wait timeouts to driver.ErrConflict, duplicate keys to driver.ErrDuplicate, broken
// connections to [ErrConnLost]).
//
// # Joining your transaction
//
// A unit can also run inside a *sql.Tx your code began (on [Driver.DB], or any pool on the
// database), so that its aggregates, outbox messages and inbox marks commit atomically with
// your own statements: [uow.DoIn] (or [uow.Store.Join]) runs it in a savepoint of your
// transaction ([Driver.Join]), and you commit or roll back as usual:
//
//	tx, err := d.DB().BeginTx(ctx, nil)
//	if err != nil {
//		return err
//	}
//	defer tx.Rollback() // does nothing after Commit
//	if _, err := tx.ExecContext(ctx, "INSERT INTO audit (what) VALUES (?)", "withdrawal"); err != nil {
//		return err
//	}
//	err = uow.DoIn(ctx, store, tx, func(ctx context.Context, u *uow.Unit) error {
//		acc, err := uow.Repo[Account, AccountID](u).Get(ctx, "acc-1")
//		if err != nil {
//			return err
//		}
//		return acc.Withdraw(10)
//	})
//	if err != nil {
//		return err // errors.Is(err, uow.ErrConflict): run the whole transaction again
//	}
//	return tx.Commit()
//
// A unit that fails or rolls back undoes only what it wrote (ROLLBACK TO SAVEPOINT), and your
// transaction stays usable, except after a deadlock: InnoDB rolls back the victim's whole
// transaction, and the error says so. DoIn does not retry conflicts: what your transaction read
// before cannot be read again inside it, so roll it back and run it again. The unit runs at
// your transaction's isolation level (REPEATABLE READ unless you chose another: its plain loads
// then read your transaction's snapshot, and the version check at commit catches what changed
// since). Its row locks and the locks of its message keys are your transaction's until it ends
// (InnoDB keeps them even when the unit rolls back), so other units writing the same rows or
// messages of the same keys wait for your commit. [uow.Unit.Lock] is not supported in a joined
// unit: named locks belong to the session, not to your transaction. uow.TxOf[*sql.Tx](u)
// returns your transaction, so queries that sqlc generates for database/sql (db.New(tx)) run in
// it too.
//
// # Schema
//
// Migrate creates, in the DSN's database, ddd_aggregate (kind, id, version, data JSON: one
// document per aggregate), ddd_outbox (seq AUTO_INCREMENT, the message columns, times as unix
// microseconds), ddd_inbox (consumer, message_id, processed_at) and ddd_schema_migrations, each
// name after Options.Prefix. Tables use utf8mb4 with the utf8mb4_bin collation, so IDs and keys
// compare and sort byte for byte (though, as with any PAD SPACE collation, IDs that differ
// only in trailing spaces collide). Using a store that was not migrated fails with the server's
// error 1146, wrapped with a hint to run Migrate.
//
// MySQL 8 keeps JSON documents in a binary form: they come back reformatted, and numbers beyond
// 64-bit integers or float64 precision lose digits. MariaDB keeps the text as written. Outbox
// payloads and headers are LONGTEXT on both, so messages come back byte for byte.
//
// # Outbox relay
//
// The Driver is also the relay's side of the outbox: it implements [driver.Outbox] (Claim, Ack,
// Release) and [driver.Operator] (Pending, Parked, Unpark, PurgeParked, OldestDue) over the columns
// that migration 0002 adds to ddd_outbox: attempts, retry_at, lease_owner, lease_until, parked_at
// and last_error (times in unix microseconds). A claim takes, in seq order and at most its limit,
// the due messages that head their key (or follow only messages leased to the same relay), leases
// them and returns them; an ack deletes them. Claims run FOR UPDATE SKIP LOCKED (MySQL 8.0.1+,
// MariaDB 10.6+) in a READ COMMITTED transaction of their own, so relays in several processes share
// the backlog without waiting for each other or breaking per-key order. Parked times are the
// process's clock (time.Now). Migration 0002 adds its columns with one ALTER TABLE, skipped when
// they exist, so a crash before its version is recorded is harmless.
//
// A message's seq is given when it is inserted, and relays publish a key's messages in seq
// order, so the driver makes seq order the commit order of each key: a commit that stores
// messages first locks (SELECT ... FOR UPDATE, in ascending order) the rows of
// ddd_outbox_lock, migration 0003's 65,536 slots, that its message keys hash to, right before
// inserting them. A commit of another unit with one of those keys waits there until the first
// has committed (InnoDB releases row locks at COMMIT), and so stores its messages after the
// first's. Two keys of one slot only wait for each other. It costs a commit that stores
// messages one round trip.
//
// # Transactions and locks
//
// Begin takes a connection from the pool and starts a READ COMMITTED transaction on it at once.
// Optimistic loads are plain reads; the commit writes each changed document with a version
// compare-and-set (UPDATE ... WHERE version = ?), in the order the unit gives (mapped
// aggregates, then documents, each by kind and then ID), then locks its message keys, inserts
// the outbox rows and inbox marks, and COMMITs: concurrent commits, whatever strategy their
// units use, take row locks in one order and wait for each other without deadlocking; lock rows
// of your own ahead of the commit (GetForUpdate, a Mapper's SELECT ... FOR UPDATE) in the same
// order. [uow.Repository.GetForUpdate] is SELECT ... FOR UPDATE. Deadlocks (1213), lock wait
// timeouts (1205) and MySQL 8's NOWAIT and GET_LOCK deadlocks (3572, 3058) are errors wrapping
// driver.ErrConflict, so [uow.Do] retries them; duplicate keys (1062) become driver.ErrDuplicate for
// inserted aggregates. A broken connection (the session was killed, the server restarted) gives
// an error wrapping [ErrConnLost], which is not retried.
//
// [uow.Unit.Lock] takes named locks (GET_LOCK), which work across processes. They are
// session-scoped, not transactional: the driver releases them (RELEASE_ALL_LOCKS) on the same
// connection right after the COMMIT or ROLLBACK, so nobody takes a key before the data it
// guards is committed, and closes instead of pooling a connection on which that fails. Lock
// names are "ddd:<store>:<key>", where <store> is a hash of the database and prefix (named locks
// are server-wide), and keys too long for MySQL's 64-character names are hashed. A wait lasts
// up to Options.LockTimeout (default 50 s, whole seconds), and the server breaks deadlocks
// between named locks with an error the driver reports as a conflict.
//
// # Contexts and failures
//
// A context that ends while a statement runs makes go-sql-driver/mysql close the connection: the
// call returns the context's error, the server rolls the transaction back and releases its locks
// when it notices (at once for named-lock waits; a wait for a row lock lasts until the lock is
// granted or innodb_lock_wait_timeout passes), and the pool opens a fresh connection next
// time. Connections found broken when taken from the pool (after a server restart) are replaced.
// When a connection breaks while COMMIT itself runs, the outcome is unknown, as with any
// database; idempotent handlers (the inbox) make a retry safe.
package mysqluow

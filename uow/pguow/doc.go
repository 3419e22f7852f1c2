// Package pguow is the PostgreSQL driver of package uow, on pgx v5 and its pgxpool, without
// database/sql. It is the production path: a unit of work is one READ COMMITTED transaction, and
// its commit sends every statement (record writes with their version compare-and-set, the outbox
// rows, the inbox marks and a notification for relays) in one pgx batch.
//
// # Usage
//
// Open a driver (or wrap a pool of your own with [New]), create its tables once with
// [Driver.Migrate] (nothing is created implicitly), and run units through a [uow.Store]:
//
//	d, err := pguow.Open(ctx, "postgres://app@db:5432/bank", &pguow.Options{Schema: "bank"})
//	if err != nil {
//		return err
//	}
//	defer d.Close()
//	if err := d.Migrate(ctx); err != nil { // idempotent; safe from several processes at once
//		return err
//	}
//	store := uow.NewStore(d, nil)
//
//	err = uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
//		src, err := uow.Repo[Account, AccountID](u).Get(ctx, "alice") // a JSONB document
//		if err != nil {
//			return err
//		}
//		return src.Debit(30) // its events go to the outbox at commit, in the same transaction
//	}, nil)
//
// # Tables of your own
//
// A [uow.Mapper] keeps an aggregate in your own table while the unit keeps the identity map, the
// version compare-and-set and the outbox atomicity. It runs SQL in the unit's transaction
// through [TxOf]:
//
//	type accounts struct{}
//
//	func (accounts) Load(ctx context.Context, u *uow.Unit, ids []string, lock driver.Lock) ([]*Account, error) {
//		tx, err := uow.TxOf[pgx.Tx](u)
//		if err != nil {
//			return nil, err
//		}
//		q := "SELECT id, owner, balance, version FROM account WHERE id = ANY($1)"
//		if lock == driver.ForUpdate {
//			q += " FOR UPDATE"
//		}
//		rows, err := tx.Query(ctx, q, ids)
//		if err != nil {
//			return nil, err
//		}
//		return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Account, error) {
//			var id, owner string
//			var balance, version int64
//			if err := r.Scan(&id, &owner, &balance, &version); err != nil {
//				return nil, err
//			}
//			root, err := aggregate.RestoreRoot(AccountID(id), version)
//			return &Account{Root: root, Owner: owner, Balance: balance}, err
//		})
//	}
//
//	func (accounts) Update(ctx context.Context, u *uow.Unit, a *Account, expected int64) error {
//		tx, err := uow.TxOf[pgx.Tx](u)
//		if err != nil {
//			return err
//		}
//		tag, err := tx.Exec(ctx, "UPDATE account SET owner = $1, balance = $2, version = version + 1 "+
//			"WHERE id = $3 AND version = $4", a.Owner, a.Balance, a.ID(), expected)
//		if err != nil {
//			return err
//		}
//		if tag.RowsAffected() != 1 {
//			return fmt.Errorf("%w: account %s moved on from version %d", driver.ErrConflict, a.ID(), expected)
//		}
//		return nil
//	}
//
//	// Insert (an existing ID is driver.ErrDuplicate: return Classify(err)) and Delete
//	// (version-checked) alike.
//
//	acc, err := uow.MappedRepo[Account, AccountID](u, accounts{}).Get(ctx, "alice")
//
// Read models use TxOf the same way to update their tables in the unit's transaction. [Classify]
// translates the errors of your SQL as the driver translates its own (deadlocks, serialization
// failures and lock timeouts to driver.ErrConflict, unique violations to driver.ErrDuplicate).
//
// # Joining your transaction
//
// A unit can also run inside a pgx.Tx your code began (on [Driver.Pool], or any connection to
// the database), so that its aggregates, outbox messages and inbox marks commit atomically with
// your own statements: [uow.DoIn] (or [uow.Store.Join]) runs it in a savepoint of your
// transaction ([Driver.Join]), and you commit or roll back as usual:
//
//	tx, err := d.Pool().Begin(ctx)
//	if err != nil {
//		return err
//	}
//	defer tx.Rollback(ctx) // does nothing after Commit
//	if _, err := tx.Exec(ctx, "INSERT INTO audit (what) VALUES ($1)", "withdrawal"); err != nil {
//		return err
//	}
//	err = uow.DoIn(ctx, store, tx, func(ctx context.Context, u *uow.Unit) error {
//		acc, err := uow.Repo[Account, AccountID](u).Get(ctx, "alice")
//		if err != nil {
//			return err
//		}
//		return acc.Withdraw(10)
//	})
//	if err != nil {
//		return err // errors.Is(err, uow.ErrConflict): run the whole transaction again
//	}
//	return tx.Commit(ctx)
//
// A unit that fails or rolls back undoes only what it wrote (ROLLBACK TO SAVEPOINT, which also
// ends the aborted state a failed statement leaves a PostgreSQL transaction in), and your
// transaction stays usable. DoIn does not retry conflicts: what your transaction read before
// cannot be read again inside it, so roll it back and run it again. The unit runs at your
// transaction's isolation level; Options.LockTimeout bounds the unit's lock waits only (your
// transaction's lock_timeout is back once the unit ends); its row locks, keyed locks and the
// locks of its message keys are your transaction's until it ends, so other units writing the
// same rows or messages of the same keys wait for your commit. A unit that stored messages
// queues pg_notify in your transaction, which PostgreSQL delivers to relays when it commits.
// uow.TxOf[pgx.Tx](u) returns your transaction, so queries that sqlc generates for pgx/v5
// (db.New(tx)) run in it too.
//
// # Tables and names
//
// [Driver.Migrate] creates, in Options.Schema (created if need be) and with Options.Prefix before
// each name: ddd_aggregate (kind, id, version, data JSONB), ddd_outbox (seq identity, id, topic,
// msg_key, name, payload JSON, headers JSON, created_at and deliver_after in unix microseconds),
// ddd_inbox (consumer, message_id, processed_at) and ddd_schema_migrations (the versions
// applied). Schema and prefix are validated (lower-case letters, digits and _), never escaped,
// so no name can inject SQL. Using a store that was not migrated fails with PostgreSQL's
// undefined-table error, wrapped with a hint to call Migrate.
//
// # Outbox relay
//
// The Driver is also the relay's side of the outbox: it implements [driver.Outbox] (Claim, Ack,
// Release) and [driver.Operator] (Pending, Parked, Unpark, PurgeParked, OldestDue) over the columns
// that migration 0002 adds to ddd_outbox: attempts, retry_at, lease_owner, lease_until, parked_at
// and last_error (times in unix microseconds). A claim takes, in seq order and at most its limit,
// the due messages that head their key (or follow only messages leased to the same relay), leases
// them and returns them; an ack deletes them. Claims run FOR UPDATE SKIP LOCKED in a transaction of
// their own, so relays in several processes share the backlog without breaking per-key order; a
// partial index on the unparked messages keeps a claim cheap with a large backlog. Parked times are
// the process's clock (time.Now).
//
// The Driver is also an [driver.Holder], which an [outbox.Relay] prefers: Hold writes no lease;
// it keeps its messages locked in a transaction left open while the relay publishes, and Finish
// deletes the published ones and commits. The transaction sets idle_in_transaction_session_timeout
// to the relay's lease, so the server ends the claim of a relay that stopped talking to it, and a
// relay that dies loses its claim with its connection.
//
// Claims, held and leased, are partitioned by key in 32 lanes (hashtext(msg_key) & 31), taken as
// transaction-scoped advisory locks before the claim's select: no two claims share a lane, so a
// held claim needs no probe of each message's earlier ones, only of migration 0005's small
// partial index of blocked messages (parked, retrying, delayed, leased), and takes runs of a
// key's messages in commit order. A relay alone takes every lane; once its claims meet another
// relay's lanes, the claims of its process take half of them for two seconds, so two busy relays
// split the keys. A claim that finds every lane taken waits up to 25ms for one (the other relay
// is then publishing a batch); if none came free it is empty and reports it ([driver.Contention]),
// and its relay claims again at once. A relay that hangs while publishing holds its lanes' keys
// until its lease ends.
//
// A message's seq is given when it is inserted, and relays publish a key's messages in seq
// order, so the driver makes seq order the commit order of each key: a commit that stores
// messages first takes a transaction-scoped advisory lock per message key (the two-int4 kind,
// apart from Unit.Lock's), in the batch of its writes, right before inserting them. A commit of
// another unit with one of those keys waits there until the first has committed, and so stores
// its messages after the first's. Two keys whose 32-bit hashes collide only wait for each other.
//
// # Concurrency and errors
//
// A commit writes its rows in one order (the unit sorts them: mapped aggregates, then documents,
// each by kind and then ID), then locks its message keys in ascending order, so concurrent
// commits, whatever strategy their units use, wait for each other without deadlocking; lock rows
// of your own ahead of the commit (GetForUpdate, a Mapper's SELECT ... FOR UPDATE) in the same
// order. Updates and deletes compare the version loaded (driver.ErrConflict when it moved on); GetForUpdate
// loads with SELECT ... FOR UPDATE; [uow.Unit.Lock] takes transaction-scoped advisory locks
// (pg_advisory_xact_lock on a 64-bit hash of the key, the schema and the prefix), which work
// across processes sharing the store. Serialization failures (SQLSTATE 40001), deadlocks (40P01)
// and lock timeouts (55P03, see Options.LockTimeout) wrap driver.ErrConflict, so [uow.Do] retries
// them; an insert of an existing aggregate wraps driver.ErrDuplicate ([Classify] is that
// translation, exported for your own SQL). A cancelled context stays
// recognisable with errors.Is(err, context.Canceled), and the transaction rolls back.
//
// # Round trips
//
// Begin is one round trip (BEGIN, with SET LOCAL lock_timeout when set); each load, query, keyed
// lock call and inbox check one; Commit two: one batch with every record write, the lock of
// the message keys, the outbox inserts (one multi-row INSERT) and the inbox marks, then COMMIT; plus, when the unit wrote
// messages, pg_notify on the same connection once COMMIT succeeded (outside the transaction, so
// notifying units do not queue behind each other's commits). The first time a
// pool connection meets a statement shape (a load of three IDs, a commit of four messages), pgx
// prepares it in one more round trip and caches it. A joined unit's Join is one round trip
// (SAVEPOINT, with the lock_timeout settings in the same batch), and its Commit two: the batch
// of writes, then RELEASE SAVEPOINT with the restored lock_timeout and the notification.
package pguow

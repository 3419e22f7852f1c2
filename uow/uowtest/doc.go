// Package uowtest is the conformance suite of the unit of work's storage drivers: every driver
// of package uow (memuow, the SQL drivers, one of your own) runs it from its tests, in the manner
// of testing/fstest and Go CDK's drivertest.
//
// # Running the suite
//
// A driver package calls [Run] from a test, with a function that returns a fresh, empty driver
// for each clause of the contract (a new in-memory store, a new database or schema ...):
//
//	func TestConformance(t *testing.T) {
//		uowtest.Run(t, func(t *testing.T) driver.Driver {
//			d, err := mydriver.Open(t.Context(), newSchema(t))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { d.Close() })
//			return d
//		})
//	}
//
// Run runs each clause as a parallel subtest named after it (IdentityMap, CommitAtomicity,
// Pessimistic ...), so `go test -run 'TestConformance/Pessimistic'` runs one, and a failure names
// the clause and what it expected. The clauses drive the driver through the public API of package
// uow (a [uow.Store], units, [uow.Repo], [uow.Do]) and, for the obligations of [driver.Tx] that the
// unit does not exercise on its own, through the driver's transactions directly.
//
// # Clauses
//
//   - TxRecords, TxEnd: the obligations of [driver.Tx] itself: versions start at 1 and move by one,
//     updates and deletes compare the version (ErrConflict), inserts refuse an existing ID
//     (ErrDuplicate), kinds are apart, a failed commit stores nothing, messages keep their order
//     and fields, an existing inbox mark is a conflict, Rollback after the end returns nil.
//   - RoundTrip, ReadCommitted, IdentityMap, NotFound, Duplicate, Remove: what a unit stores and
//     reads back, when others see it, and the identity map (one pointer per ID in a unit).
//   - GetOrAdd: [uow.Repository.GetOrAdd] returns a stored aggregate and adds a missing one; two
//     units that add one missing ID converge through Do's retry of the lost race on one
//     aggregate with both units' changes and events, in version order, and so do goroutines
//     racing on one ID.
//   - Conflict, UnchangedNotWritten, CommitAtomicity, Rollback, UnitDone: two units changing one
//     aggregate conflict; an aggregate only loaded is not written, so it cannot conflict; a
//     failed commit or a rollback stores nothing (aggregates, messages, inbox marks); an ended
//     unit refuses every call with ErrUnitDone.
//   - DoRetriesConflicts, DoDoesNotRetry, DoPanic, DoContext: [uow.Do] retries conflicts, and
//     only conflicts, rolls back on errors and panics, and honours its context.
//   - Pessimistic, KeyedLocks: GetForUpdate and Unit.Lock make others wait until the unit ends,
//     never overwrite, honour the context, and break deadlocks with ErrConflict.
//   - Inbox, InboxPurge: MarkProcessed deduplicates, commits with the unit, conflicts when two
//     units mark one message, and Store.PurgeInbox deletes the marks made before a time.
//   - Events, OutboxVisibility: recorded events and emitted messages reach the outbox in order,
//     with their headers, and only when their unit commits.
//   - Find: queries by top-level fields compare JSON values and return ID order.
//   - Join, JoinRollback, JoinFailure, JoinLocks: units joined to a transaction the caller began
//     ([driver.Joiner], through [uow.Store.Join] and [uow.DoIn]): nothing they commit is
//     visible before the caller commits; then their records, messages (claimable by a relay)
//     and inbox marks are, with the caller's own statement; the caller's rollback discards them;
//     a joined unit that rolls back, fails or panics undoes its writes (and what ran in the
//     transaction meanwhile, units joined inside it included) and leaves the caller's earlier
//     statements and its transaction usable and committable, also after a failed statement
//     (a duplicate insert) and on a stale version (ErrConflict); TxOf returns the caller's
//     transaction; what a joined unit wrote stays locked until the caller's commit, so that
//     other units wait, lose no update and store a key's messages in commit order; a value of
//     another type is ErrInvalid.
//   - Stress: concurrent increments through Do, optimistic and pessimistic, lose no update and
//     leave the outbox in version order.
//   - MixedStrategies: units of every locking strategy at once on shared aggregates (loaded in
//     any order, GetForUpdate in ID order, keyed locks, GetMany, racing adds) all go through,
//     lose no update and keep each aggregate's events in version order. [MixedStrategies] runs
//     the same workload on a driver of the caller's, for a test that watches its database's
//     deadlock counter meanwhile.
//   - OutboxClaim, OutboxAck, OutboxRelease, OutboxPark, OutboxDelayed, OutboxPerKeyOrder,
//     OutboxCommitOrder, OutboxConcurrentRelays, OutboxLeaseExpiry, OutboxOldestDue, OutboxPending:
//     the relay side of the outbox ([driver.Outbox], [driver.Operator]) on messages committed by
//     units: claims in commit order, key heads only, with the committed fields; ack deletes only
//     the owner's; release counts attempts and honours the retry time; a parked message blocks its
//     key alone, is listed, unparked and purged; DeliverAfter is honoured; a key's messages come
//     one after another, in the order their units committed even when they inserted them in the
//     other order (a unit held between its writes and its commit while another commits a message of
//     its key; with the relay stopped meanwhile, and with one running); concurrent relays never
//     share a message and keep per-key order; a crashed relay's messages are taken over when its
//     lease ends, not before; the lag is the oldest due message; Pending lists every message not
//     acknowledged, whatever its state, in commit order with its attempts, up to its limit. The
//     times passed to Claim are the store's fake clock's; the parked time, which the driver takes
//     itself, must be the system time give or take an hour.
//   - OutboxHold, OutboxHoldConcurrentRelays, OutboxHoldExpiry: held claims ([driver.Holder]):
//     commit order, no delayed, parked or leased message, nothing behind a key's failed one, a
//     run of a key's messages when none holds it back; while a claim is held, other claims
//     return none of its messages nor the later ones of their keys; Finish deletes the
//     published, records failures and releases the rest; concurrent held relays never share a
//     message and keep per-key order; a claim nobody finishes ends after its lease, in real
//     time, and its late Finish records nothing.
//
// # What a driver must provide
//
// Besides [driver.Driver] and [driver.Tx], every driver implements the relay side of its
// outbox, [driver.Outbox] and [driver.Operator], on the driver value newDriver returns. The suite
// sees the messages a commit stored through [driver.Operator].Pending (the clause OutboxPending
// checks it), so the clauses that look at the outbox fail, rather than skip, when the driver
// lacks it. Tests of your own read the outbox of any driver with [Messages].
//
// The optional capabilities are checked when the driver has them and skipped, with a message
// naming the interface, when it does not: queries ([driver.Querier]: clause Find), keyed locks
// ([driver.KeyLocker]: KeyedLocks), the inbox ([driver.InboxReader]: Inbox, and the inbox parts of
// other clauses), its purge ([driver.InboxPurger]: InboxPurge) and held claims ([driver.Holder]:
// the OutboxHold clauses, which need a driver running at least three transactions at once). A
// driver that documents one of them must pass its clause. [CommitPauser] is a test hook, not a
// capability: implement it (in a test file if need be) so that OutboxCommitOrder runs.
// Joining a caller's transaction ([driver.Joiner]) is checked by the Join clauses when the
// driver also implements [NativeTxs] (in a test file if need be), through which the clauses
// begin the native transactions they join and write rows of the caller's own in them; a Joiner
// without it skips them.
//
// Mapped repositories ([uow.MappedRepo]) are not covered: the suite cannot know a driver's
// tables or native transaction type, so each SQL driver tests its own mappers.
//
// # Timing
//
// Clauses about locks check that a unit waits by seeing that it has not returned within about
// 50ms while the lock holder is open, and that it returns once the holder ends, allowing it 10s.
// A driver's lock wait timeout must therefore be well above 50ms (memuow's default is 2s). The
// Stress clause runs a few hundred conflicting commits through [uow.Do]; on memuow the whole
// suite takes about a second, under the race detector too.
package uowtest

// Package memuow is an in-memory driver for the unit of work of package
// [github.com/dddkit/ddd/uow]: records, outbox messages and inbox marks in maps and slices, with
// the transaction semantics of a real database. Use it in tests, examples and single-process
// demos. Data lives only in memory: it is lost when the process ends, and a [Driver] shares
// nothing with another Driver or another process. Pass [New]'s Driver wherever a [driver.Driver]
// is wanted.
//
// # Isolation
//
// Reads ([Tx.Load], [Tx.Find], [Tx.Processed]) see committed data only (read committed): a
// transaction does not see its own writes before commit, because they are all made in
// [Tx.Commit]. A commit is all or nothing, and commits are serialised: under one critical
// section, Commit runs its writes in order against the committed state, checks every insert
// (driver.ErrDuplicate if the record exists), every update and delete (driver.ErrConflict unless the
// stored version is the one the write expects, the version compare-and-set of optimistic
// concurrency) and every inbox mark (driver.ErrConflict if it exists), and then applies them all,
// or returns the first error and stores nothing. An insert stores version 1 and an update the
// expected version plus one; messages are appended in the order given.
//
// # Locks
//
// One lock table holds exclusive row locks (a record's kind and ID) and keyed locks
// ([Tx.LockKeys]), in separate namespaces. A ForUpdate [Tx.Load] locks the rows of the records
// it finds, in ID order, and then reads them; [Tx.Commit] locks the rows of every record it
// writes, in kind then ID order, before it checks anything, so it waits for another
// transaction's ForUpdate lock as UPDATE does in a database. Locks are held until Commit or
// Rollback; a lock the transaction already holds is taken again at once. A lock wait ends with
// an error wrapping ctx.Err() when the context is done, and with one wrapping driver.ErrConflict
// after [Options].LockTimeout (the lock wait timeout) or at once when the wait would close a
// deadlock: the transaction whose wait closes the cycle is the one that fails.
//
// # Outbox
//
// The Driver is also the relay's side of the outbox: it implements [driver.Outbox] (Claim, Ack,
// Release) and [driver.Operator] (Pending, Parked, Unpark, PurgeParked, OldestDue), atomically
// with respect to commits and to each other. Each committed message gets a sequence number in
// commit order and keeps its relay state (failed attempts, retry time, lease, parked time, last
// error) beside it; an acknowledged message is deleted, so [Driver.Pending] and
// [Driver.Messages] no longer list it. The
// times that decide what is due and leased are the ones the relay passes; memuow has no clock of
// its own, so the time a message is parked is the system time.
//
// # Faults
//
// [Driver.InjectFault] makes a future commit fail, before it stores anything or after it has
// stored everything (the commit that succeeded but whose caller never heard), so tests can
// check the retry and idempotence paths of the code above the driver. [Driver.PauseCommits]
// holds commits between their checks and their apply, so a test can see what a concurrent unit
// or relay does while a commit is under way. [Driver.Messages], [Driver.Get], [Driver.Count] and
// [Driver.InboxLen] inspect the committed state, and [Clock] is a fake clock for the unit of
// work (uow.Options.Clock) and the relay (outbox.RelayOptions.Clock).
package memuow

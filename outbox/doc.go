// Package outbox publishes what units of work commit: the transactional outbox's relay, the
// publishers it sends to, and the consumer side that makes handling idempotent.
//
// A unit of work writes its messages (the events of its aggregates, and what it emits) to the
// outbox table in the same transaction as its changes, so nothing is announced that did not
// commit, and nothing committed is lost. A [Relay] then claims due messages in batches from the
// driver's [driver.Outbox], publishes them through a [Publisher], and acknowledges them by deleting them.
// A failed publication is retried with exponential backoff and parked (dead-lettered) after
// MaxAttempts; an operator lists, unparks and purges parked messages through [driver.Operator].
//
// # Guarantees
//
//   - At least once: a message is deleted only after its publication succeeded; a relay that
//     dies mid-batch loses its claim (when its lease expires, or at once with a store that is a
//     [driver.Holder], whose claims are row locks of an open transaction), and another relay publishes
//     the messages again. Consumers deduplicate on Message.ID ([Idempotent] does it with the inbox
//     of package uow, in the handler's own transaction).
//   - In order per key: the store hands out a key's messages in commit order, the order in
//     which the units that wrote them committed (for every message: an aggregate's events, and
//     what concurrent units emit on a shared key, whose commits the drivers serialise), and the
//     relay hands a key's next message to the publisher only once the earlier one was
//     confirmed, so a later message waits while an earlier one is pending, retrying or parked,
//     and every other key keeps flowing. One poison message never blocks the queue.
//   - Bounded: a relay holds at most one batch in memory, whatever the backlog.
//   - Several relays, in one process or many, share a store without publishing a message twice
//     while its claim runs.
//
// # Consumers
//
// A [Bus] delivers in process, to named subscriptions per topic. It knows its topics: a message
// on a topic that has no subscription fails with [ErrNoSubscriber] (the relay retries it, then
// parks it) unless the topic was declared with [Bus.Discard], so a renamed topic or a mistyped
// subscription loses nothing. [Idempotent] runs a handler in a unit of work with the inbox mark
// of the message. A [Router] dispatches messages by name to typed handlers made by [On], each
// getting the payload decoded into its event type; what it does with other names is a choice
// made when it is built ([RejectUnknown] or [SkipUnknown]), never a default.
//
// # Claims: leases and held locks
//
// A [driver.Outbox] claims with leases: Claim writes the relay's ID and an expiry into each claimed row,
// and commits, so no transaction stays open while the batch publishes. A store that is also a
// [driver.Holder] (pguow) claims by locking the rows (FOR UPDATE SKIP LOCKED) in a transaction held open
// while the batch publishes, and deletes the published ones in it: no write per claim, and a
// dead relay's claim ends with its connection. A held claim may hold a run of a key's messages;
// the relay publishes a batch in rounds, the first message of each key, then the second, and so
// on. A [Relay] uses held claims whenever its store
// offers them; the price is one open transaction per relay while a batch publishes, bounded by
// the lease.
//
// # Defaults
//
// BatchSize 100, Lease 30s, PollInterval 1s (an idle relay's wait; a Wake signal such as
// PostgreSQL's NOTIFY cuts it short), MaxAttempts 10, backoff from 1s doubling to 5m.
package outbox

// Package outbox publishes what units of work commit: the transactional outbox's relay, the
// publishers it sends to, and the consumer side that makes handling idempotent.
//
// A unit of work writes its messages (the events of its aggregates, and what it emits) to the
// outbox table in the same transaction as its changes, so nothing is announced that did not
// commit, and nothing committed is lost. A [Relay] then claims due messages in batches from the
// driver's [Store], publishes them through a [Publisher], and acknowledges them by deleting them.
// A failed publication is retried with exponential backoff and parked (dead-lettered) after
// MaxAttempts; an operator lists, unparks and purges parked messages through [Operator].
//
// # Guarantees
//
//   - At least once: a message is deleted only after its publication succeeded; a relay that
//     dies mid-batch loses its claim when the lease expires, and another relay publishes the
//     messages again. Consumers deduplicate on Message.ID ([Idempotent] does it with the inbox
//     of package uow, in the handler's own transaction).
//   - In order per key: the store hands out a key's messages one after another, so a later
//     message waits while an earlier one is pending, retrying or parked, and every other key
//     keeps flowing. One poison message never blocks the queue.
//   - Bounded: a relay holds at most one batch in memory, whatever the backlog.
//   - Several relays, in one process or many, share a store without publishing a message twice
//     while its lease runs.
//
// # Defaults
//
// BatchSize 100, Lease 30s, PollInterval 1s (an idle relay's wait; a Wake signal such as
// PostgreSQL's NOTIFY cuts it short), MaxAttempts 10, backoff from 1s doubling to 5m.
package outbox

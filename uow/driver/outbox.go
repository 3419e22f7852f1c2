package driver

import (
	"context"
	"time"
)

// This file is the relay side of the contract: what a driver's outbox does for a relay
// (outbox.Relay). A unit's Tx.Commit writes messages; a relay claims, acknowledges and releases
// them.
//
// Order per key: a message is claimable only when every earlier message of its key (lower
// sequence) is gone (acknowledged) or leased to the same relay, so a later message waits while
// an earlier one is retrying, parked, delayed or leased to another relay, and every other key
// keeps flowing.

// Outbox is a driver's outbox as a relay sees it, part of every [Driver]. Implementations are
// safe for concurrent use by several relays, in one process or many.
type Outbox interface {
	// Claim leases to owner, until now+lease, up to limit messages that are due: not parked,
	// DeliverAfter and any retry time not after now, not leased to another owner (or with an
	// expired lease), and with no earlier message of their key other than ones leased to
	// owner. It returns them in commit order. Two concurrent claims never return one message
	// to two owners while its lease runs; a claim after the lease expired may (the message is
	// then published again: delivery is at least once).
	Claim(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]Claimed, error)

	// Ack deletes the published messages with the given IDs that are still leased to owner;
	// the others (lease lost) are left alone.
	Ack(ctx context.Context, owner string, ids []string) error

	// Release records failed publications of messages leased to owner: each gets one more
	// attempt, loses its lease, and is retried from RetryAt, or parked when Park is set. Parked
	// messages stay, blocking the later messages of their key, until unparked.
	Release(ctx context.Context, owner string, failures []Failure) error
}

// Holder is an optional capability of a [Driver]: claims held as row locks of a transaction that
// stays open while the relay publishes, instead of leases written to every claimed row. A claim
// then costs no write, and a relay that dies loses its claim the moment its connection closes.
// A relay uses it when its driver has it (pguow does).
type Holder interface {
	// Hold claims up to limit messages that are due at now, as Claim does (not parked, not
	// leased to anyone with a lease running, in commit order), each with no earlier message of
	// its key left outside the claim: a claim may hold a run of a key's messages, in commit
	// order, and a message that failed, is delayed or leased holds back the later ones of its
	// key. It locks them in a transaction that stays open until the returned Held is finished;
	// concurrent claims, held or leased, return none of them nor the later messages of their
	// keys (a store may partition keys between claims, so a concurrent claim may find nothing
	// until the held one is finished). The transaction lasts at most lease: the store (or its
	// server) rolls it back when it stays idle longer, and the messages are claimable again.
	// Hold returns a finished, empty Held when nothing is due.
	Hold(ctx context.Context, now time.Time, lease time.Duration, limit int) (Held, error)
}

// Held is a claim of [Holder.Hold]. Finish must be called exactly once, also when nothing was
// published.
type Held interface {
	// Messages returns the held messages in commit order.
	Messages() []Claimed
	// Finish deletes the messages of the claim whose IDs are in published, records failures
	// as Outbox.Release does (one more attempt, RetryAt or parked), and commits, releasing the
	// locks: messages in neither list are claimable again, unchanged. IDs that are not in the
	// claim are ignored. On an error nothing is recorded and the claim is released (its
	// transaction is rolled back, or was already ended by the server): published messages are
	// then published again, so delivery stays at least once.
	Finish(ctx context.Context, published []string, failures []Failure) error
}

// Contention is an optional interface of a [Held]: Contended reports that the claim is empty
// because other relays' claims held everything it could take (pguow: every key lane), not
// because nothing is due. A relay then claims again at once instead of waiting PollInterval,
// so that it joins a busy relay as soon as that one's claim ends.
type Contention interface {
	Contended() bool
}

// Claimed is a message of the outbox with its place and its failed publications: one a claim
// returned ([Outbox.Claim], [Held].Messages), or one still pending ([Operator.Pending]).
type Claimed struct {
	Message
	// Seq is the message's position in the outbox (its commit order).
	Seq int64
	// Attempts counts the failed publications so far.
	Attempts int
}

// Failure is a failed publication for Outbox.Release and Held.Finish.
type Failure struct {
	ID string
	// RetryAt is when the message becomes claimable again (ignored when Park is set).
	RetryAt time.Time
	// Park parks the message (dead letter) instead.
	Park bool
	// Reason is the publish error, kept for operators.
	Reason string
}

// Operator is the optional operator side of a [Driver]: the backlog, parked (dead-lettered)
// messages and the relay's lag. Package uowtest's clauses read the outbox through it, so every
// driver that runs the conformance suite implements it.
type Operator interface {
	// Pending returns up to limit of the messages still in the outbox, in commit order:
	// committed and not acknowledged, whatever their state (due, delayed, retrying, leased or
	// parked), each with its seq and failed attempts. Messages of transactions that did not
	// commit are never in it; acknowledged and purged ones are gone. It is what an operator
	// reads when the backlog grows, and what tests read to see what units committed. A limit
	// below 1 is an error wrapping [ErrInvalid].
	Pending(ctx context.Context, limit int) ([]Claimed, error)
	// Parked returns up to limit parked messages in commit order. A limit below 1 is an error
	// wrapping [ErrInvalid].
	Parked(ctx context.Context, limit int) ([]Parked, error)
	// Unpark makes the parked messages with the given IDs claimable again with no failed
	// attempts, and returns how many it unparked.
	Unpark(ctx context.Context, ids []string) (int, error)
	// PurgeParked deletes the messages parked before the given time, and returns how many.
	PurgeParked(ctx context.Context, before time.Time) (int, error)
	// OldestDue returns the creation time of the oldest message that is due at now and not
	// parked (ok false when there is none): the relay's lag.
	OldestDue(ctx context.Context, now time.Time) (created time.Time, ok bool, err error)
}

// Parked is a dead-lettered message.
type Parked struct {
	Message
	Seq      int64
	Attempts int
	ParkedAt time.Time
	// Reason is the last publish error.
	Reason string
}

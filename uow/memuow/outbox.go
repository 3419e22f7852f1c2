package memuow

import (
	"context"
	"fmt"
	"time"

	"github.com/dddkit/ddd/uow/driver"
)

// entry is a committed outbox message and its relay state.
type entry struct {
	msg driver.Message
	seq int64 // commit order, from 1

	attempts   int       // failed publications
	retryAt    time.Time // not claimable before; zero means at once
	leaseOwner string    // "" when not leased
	leaseUntil time.Time
	parkedAt   time.Time // zero when not parked (time.Now is never zero)
	lastError  string
}

func (e *entry) parked() bool { return !e.parkedAt.IsZero() }

// due reports whether e may be published at now, leases aside: not parked, and neither its
// DeliverAfter nor its retry time after now.
func (e *entry) due(now time.Time) bool {
	return !e.parked() && !e.msg.DeliverAfter.After(now) && !e.retryAt.After(now)
}

// leasedTo reports whether owner holds e's lease, running at now.
func (e *entry) leasedTo(owner string, now time.Time) bool {
	return e.leaseOwner == owner && e.leaseUntil.After(now)
}

// leasedToOther reports whether an owner other than owner holds e's lease, running at now.
func (e *entry) leasedToOther(owner string, now time.Time) bool {
	return e.leaseOwner != "" && e.leaseOwner != owner && e.leaseUntil.After(now)
}

// Claim implements [driver.Outbox]: it leases to owner, until now+lease, up to limit messages
// in commit order that are due at now and not leased to another owner (or whose lease expired
// by now), and that have no earlier message of their key other than ones whose lease to owner
// runs at now. The leases compared are the ones before the call, so a claim takes at most one
// new message per key, the key's head: the next one comes with a later claim, once the head is
// acknowledged or while owner holds it. A message whose lease to owner runs is claimed again,
// its lease extended: a relay claims, publishes, and acks or releases before it claims again.
// Claims are atomic with respect to commits, acks, releases and other claims.
//
// Claim returns an error wrapping [driver.ErrInvalid] for an empty owner, a non-positive lease
// or a limit below 1, and one wrapping ctx.Err() when ctx is done.
func (d *Driver) Claim(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]driver.Claimed, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memuow: claim: %w", err)
	}
	switch {
	case owner == "":
		return nil, fmt.Errorf("%w: claim: empty owner", driver.ErrInvalid)
	case lease <= 0:
		return nil, fmt.Errorf("%w: claim: lease %v is not positive", driver.ErrInvalid, lease)
	case limit < 1:
		return nil, fmt.Errorf("%w: claim: limit %d is below 1", driver.ErrInvalid, limit)
	}
	until := now.Add(lease)

	d.mu.Lock()
	defer d.mu.Unlock()
	var out []driver.Claimed
	blocked := make(map[string]bool) // keys whose later messages wait
	for i := range d.messages {
		if len(out) == limit {
			break
		}
		e := &d.messages[i]
		key := e.msg.Key
		if blocked[key] {
			continue
		}
		if !e.leasedTo(owner, now) {
			// Not yet owner's: whether claimed now or not, the later messages of its key wait.
			blocked[key] = true
		}
		if e.due(now) && !e.leasedToOther(owner, now) {
			e.leaseOwner, e.leaseUntil = owner, until
			out = append(out, driver.Claimed{Message: cloneMessage(e.msg), Seq: e.seq, Attempts: e.attempts})
		}
	}
	return out, nil
}

// Ack implements [driver.Outbox]: it deletes the messages with the given IDs that are leased to
// owner, whether or not the lease has expired (as long as no other owner claimed them since).
// Unknown IDs and messages not leased to owner are left alone.
//
// Ack returns an error wrapping [driver.ErrInvalid] for an empty owner, and one wrapping
// ctx.Err() when ctx is done.
func (d *Driver) Ack(ctx context.Context, owner string, ids []string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memuow: ack: %w", err)
	}
	if owner == "" {
		return fmt.Errorf("%w: ack: empty owner", driver.ErrInvalid)
	}
	if len(ids) == 0 {
		return nil
	}
	acked := make(map[string]bool, len(ids))
	for _, id := range ids {
		acked[id] = true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	kept := d.messages[:0]
	for _, e := range d.messages {
		if !acked[e.msg.ID] || e.leaseOwner != owner {
			kept = append(kept, e)
		}
	}
	clear(d.messages[len(kept):]) // let the deleted messages' payloads go
	d.messages = kept
	return nil
}

// Release implements [driver.Outbox]: each failure whose message is leased to owner (whether
// or not the lease has expired, as long as no other owner claimed it since) counts one more
// attempt, keeps its Reason as the last error and loses its lease; the message is then
// claimable from RetryAt, or parked when Park is set. memuow has no clock of its own: a
// message's parked time ([driver.Parked].ParkedAt, the time [Driver.PurgeParked] compares) is
// the system time, time.Now(), when Release parks it. Failures of other messages are ignored.
//
// Release returns an error wrapping [driver.ErrInvalid] for an empty owner, and one wrapping
// ctx.Err() when ctx is done.
func (d *Driver) Release(ctx context.Context, owner string, failures []driver.Failure) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memuow: release: %w", err)
	}
	if owner == "" {
		return fmt.Errorf("%w: release: empty owner", driver.ErrInvalid)
	}
	if len(failures) == 0 {
		return nil
	}
	byID := make(map[string]driver.Failure, len(failures))
	for _, f := range failures {
		if _, ok := byID[f.ID]; !ok { // the first failure of an ID releases it
			byID[f.ID] = f
		}
	}
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range d.messages {
		e := &d.messages[i]
		f, ok := byID[e.msg.ID]
		if !ok || e.leaseOwner != owner {
			continue
		}
		e.attempts++
		e.leaseOwner, e.leaseUntil = "", time.Time{}
		e.lastError = f.Reason
		if f.Park {
			e.parkedAt, e.retryAt = now, time.Time{}
		} else {
			e.retryAt = f.RetryAt
		}
	}
	return nil
}

// Pending implements [driver.Operator]: it returns up to limit of the messages in the outbox
// (committed and not acknowledged, parked ones included), in commit order, with their failed
// attempts. [Driver.Messages] is the same list without a limit, context or error.
//
// Pending returns an error wrapping [driver.ErrInvalid] for a limit below 1, and one wrapping
// ctx.Err() when ctx is done.
func (d *Driver) Pending(ctx context.Context, limit int) ([]driver.Claimed, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memuow: pending: %w", err)
	}
	if limit < 1 {
		return nil, fmt.Errorf("%w: pending: limit %d is below 1", driver.ErrInvalid, limit)
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]driver.Claimed, 0, min(limit, len(d.messages)))
	for _, e := range d.messages[:min(limit, len(d.messages))] {
		out = append(out, driver.Claimed{Message: cloneMessage(e.msg), Seq: e.seq, Attempts: e.attempts})
	}
	return out, nil
}

// Parked implements [driver.Operator]: it returns up to limit parked messages, in commit
// order, with their failed attempts, parked time (the system time when they were parked) and
// last error.
//
// Parked returns an error wrapping [driver.ErrInvalid] for a limit below 1, and one wrapping
// ctx.Err() when ctx is done.
func (d *Driver) Parked(ctx context.Context, limit int) ([]driver.Parked, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memuow: parked: %w", err)
	}
	if limit < 1 {
		return nil, fmt.Errorf("%w: parked: limit %d is below 1", driver.ErrInvalid, limit)
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	var out []driver.Parked
	for i := range d.messages {
		if len(out) == limit {
			break
		}
		e := &d.messages[i]
		if !e.parked() {
			continue
		}
		out = append(out, driver.Parked{
			Message:  cloneMessage(e.msg),
			Seq:      e.seq,
			Attempts: e.attempts,
			ParkedAt: e.parkedAt,
			Reason:   e.lastError,
		})
	}
	return out, nil
}

// Unpark implements [driver.Operator]: the parked messages with the given IDs become claimable
// at once (DeliverAfter permitting), with no failed attempts and no last error. It returns how
// many it unparked; IDs of messages that are not parked, or not in the outbox, are ignored.
//
// Unpark returns an error wrapping ctx.Err() when ctx is done.
func (d *Driver) Unpark(ctx context.Context, ids []string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("memuow: unpark: %w", err)
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for i := range d.messages {
		e := &d.messages[i]
		if !want[e.msg.ID] || !e.parked() {
			continue
		}
		e.parkedAt, e.retryAt, e.attempts, e.lastError = time.Time{}, time.Time{}, 0, ""
		n++
	}
	return n, nil
}

// PurgeParked implements [driver.Operator]: it deletes the messages parked before before (by
// the system time when they were parked) and returns how many it deleted.
//
// PurgeParked returns an error wrapping ctx.Err() when ctx is done.
func (d *Driver) PurgeParked(ctx context.Context, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("memuow: purge parked: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	kept := d.messages[:0]
	for _, e := range d.messages {
		if !e.parked() || !e.parkedAt.Before(before) {
			kept = append(kept, e)
		}
	}
	n := len(d.messages) - len(kept)
	clear(d.messages[len(kept):])
	d.messages = kept
	return n, nil
}

// OldestDue implements [driver.Operator]: it returns the earliest CreatedAt of the messages
// that are due at now (DeliverAfter and retry time not after now) and not parked, leased ones
// included (they are not published yet); ok is false when there is none.
//
// OldestDue returns an error wrapping ctx.Err() when ctx is done.
func (d *Driver) OldestDue(ctx context.Context, now time.Time) (created time.Time, ok bool, err error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, false, fmt.Errorf("memuow: oldest due: %w", err)
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	for i := range d.messages {
		e := &d.messages[i]
		if e.due(now) && (!ok || e.msg.CreatedAt.Before(created)) {
			created, ok = e.msg.CreatedAt, true
		}
	}
	return created, ok, nil
}

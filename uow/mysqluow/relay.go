package mysqluow

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/dddkit/ddd/internal/sqlstore"
	"github.com/dddkit/ddd/uow/driver"
)

// The relay side of the driver: the outbox's relay state lives in the columns migration 0002 adds
// to the outbox table (attempts, retry_at, lease_owner, lease_until, parked_at, last_error). Each
// call runs in a READ COMMITTED transaction of its own on a pool connection. Claims need FOR UPDATE
// SKIP LOCKED: MySQL 8.0.1+ or MariaDB 10.6+.

var (
	_ driver.Outbox   = (*Driver)(nil)
	_ driver.Operator = (*Driver)(nil)
)

// Claim implements [driver.Outbox]: it leases to owner, until now+lease, up to limit due
// messages in commit order, at most the head of each key (plus later messages whose earlier
// ones are all leased to owner). One transaction selects them with FOR UPDATE SKIP LOCKED, so concurrent relays (in
// this process or others) skip each other's rows, and leases them. An empty owner, limit < 1 or lease <= 0 is an error
// wrapping driver.ErrInvalid; other errors are the database's, wrapped.
func (d *Driver) Claim(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]driver.Claimed, error) {
	c, err := d.relay.Claim(ctx, owner, now, lease, limit)
	return c, d.relayErr(ctx, err)
}

// Ack implements [driver.Outbox]: it deletes the messages with the given IDs that are still
// leased to owner, in one transaction. An empty owner is an error wrapping driver.ErrInvalid.
func (d *Driver) Ack(ctx context.Context, owner string, ids []string) error {
	return d.relayErr(ctx, d.relay.Ack(ctx, owner, ids))
}

// Release implements [driver.Outbox]: in one transaction, each failed message still leased to
// owner gets one more attempt, loses its lease and keeps Reason (at most 4 KiB) as its last
// error; it is claimable again from RetryAt (at once for a zero RetryAt) or, with Park set,
// parked. The park time recorded (see [Driver.PurgeParked]) is the current time of the
// process, time.Now, not a time of the caller's. An empty owner is an error wrapping
// driver.ErrInvalid.
func (d *Driver) Release(ctx context.Context, owner string, failures []driver.Failure) error {
	return d.relayErr(ctx, d.relay.Release(ctx, owner, failures))
}

// Pending implements [driver.Operator]: up to limit messages of the outbox in commit order,
// whatever their relay state (parked ones included), with their failed attempts. limit < 1 is
// an error wrapping driver.ErrInvalid.
func (d *Driver) Pending(ctx context.Context, limit int) ([]driver.Claimed, error) {
	c, err := d.relay.Pending(ctx, limit)
	return c, d.relayErr(ctx, err)
}

// Parked implements [driver.Operator]: up to limit parked messages in commit order, with their
// failed attempts, park time and last error. limit < 1 is an error wrapping driver.ErrInvalid.
func (d *Driver) Parked(ctx context.Context, limit int) ([]driver.Parked, error) {
	p, err := d.relay.Parked(ctx, limit)
	return p, d.relayErr(ctx, err)
}

// Unpark implements [driver.Operator]: the parked messages with the given IDs get no failed
// attempts, retry time, last error or lease, and are claimable at once. It returns how many of
// them were parked.
func (d *Driver) Unpark(ctx context.Context, ids []string) (int, error) {
	n, err := d.relay.Unpark(ctx, ids)
	return n, d.relayErr(ctx, err)
}

// PurgeParked implements [driver.Operator]: it deletes the messages parked (by Release, at the
// process's time.Now) before before, and returns how many.
func (d *Driver) PurgeParked(ctx context.Context, before time.Time) (int, error) {
	n, err := d.relay.PurgeParked(ctx, before)
	return n, d.relayErr(ctx, err)
}

// OldestDue implements [driver.Operator]: the creation time of the oldest unparked message due
// at now (leased ones included), ok false when there is none. It reads the created_at of every
// due message: call it at a metrics interval, not per batch.
func (d *Driver) OldestDue(ctx context.Context, now time.Time) (time.Time, bool, error) {
	t, ok, err := d.relay.OldestDue(ctx, now)
	return t, ok, d.relayErr(ctx, err)
}

// relayErr prefixes the package's name to an error of the relay side.
func (d *Driver) relayErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("mysqluow: %w", classify(err))
}

// inTx runs fn in a READ COMMITTED transaction of its own, committed when fn returns nil.
func (d *Driver) inTx(ctx context.Context, fn func(c sqlstore.Conn) error) error {
	tx, err := d.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return err
	}
	if err := fn(sqlstore.SQLConn{Q: tx}); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

package pguow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dddkit/ddd/internal/sqlstore"
	"github.com/dddkit/ddd/uow/driver"
)

// The relay side of the driver: the outbox's relay state lives in the columns migration 0002 adds
// to the outbox table (attempts, retry_at, lease_owner, lease_until, parked_at, last_error). Each
// call runs in a READ COMMITTED transaction of its own on a pool connection.

var (
	_ driver.Outbox   = (*Driver)(nil)
	_ driver.Holder   = (*Driver)(nil)
	_ driver.Operator = (*Driver)(nil)
)

// Hold implements [driver.Holder], which an [outbox.Relay] prefers to Claim: in a READ COMMITTED
// transaction of its own it takes key lanes (see the package documentation), selects up to
// limit due messages of its lanes in commit order, none behind a blocked message of its key
// (parked, retrying, delayed or leased), with FOR UPDATE SKIP LOCKED, and keeps them locked
// until the Held is finished. Nothing is written to claim them. The transaction sets
// idle_in_transaction_session_timeout to lease, so the server ends a claim whose relay stops
// talking to it (hung or partitioned) after lease; a relay that dies loses its claim when its
// connection closes. limit < 1 or lease <= 0 is an
// error wrapping driver.ErrInvalid; other errors are the database's, wrapped. Finish errors of a
// claim the server ended are the database's too.
func (d *Driver) Hold(ctx context.Context, now time.Time, lease time.Duration, limit int) (driver.Held, error) {
	want := d.lanes.want()
	h, err := d.hold(ctx, now, lease, limit, want)
	if err == nil && want < laneCount && len(h.Messages()) == 0 {
		// Half the lanes may hold nothing due while the others, free, do (lanes.go).
		h, err = d.hold(ctx, now, lease, limit, laneCount)
	}
	if err != nil {
		return nil, d.relayErr(ctx, err)
	}
	return heldClaim{h, d}, nil
}

// hold runs one held claim asking for want lanes.
func (d *Driver) hold(ctx context.Context, now time.Time, lease time.Duration, limit, want int) (driver.Held, error) {
	r := *d.relay
	r.Begin = func(ctx context.Context, lease time.Duration) (sqlstore.TxConn, error) {
		return d.beginHeld(ctx, lease, want)
	}
	return r.Hold(ctx, now, lease, limit)
}

// heldClaim prefixes the package's name to the errors of Finish.
type heldClaim struct {
	driver.Held
	d *Driver
}

// Contended implements [driver.Contention]: the claim is empty because other claims held every
// key lane.
func (h heldClaim) Contended() bool {
	c, ok := h.Held.(driver.Contention)
	return ok && c.Contended()
}

// Finish implements driver.Held.
func (h heldClaim) Finish(ctx context.Context, published []string, failures []driver.Failure) error {
	return h.d.relayErr(ctx, h.Held.Finish(ctx, published, failures))
}

// maxIdleTimeout bounds idle_in_transaction_session_timeout (milliseconds, a 32-bit integer).
const maxIdleTimeout = 1<<31 - 1

// beginHeld returns the transaction of a held claim on a connection of its own: READ COMMITTED,
// ended by the server once it idles longer than lease. It costs two round trips: BEGIN, the
// claim's settings and the taking of its lanes go with the claim's select, the deletes of
// Finish with the COMMIT.
func (d *Driver) beginHeld(ctx context.Context, lease time.Duration, want int) (sqlstore.TxConn, error) {
	c, err := d.pool.Acquire(ctx)
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	ms := min(max(lease.Milliseconds(), 1), maxIdleTimeout)
	return &heldTx{c: c, lanes: d.lanes, want: want, begin: fmt.Sprintf(heldSettings, ms, laneWait.Milliseconds())}, nil
}

// heldSettings are the settings of a held claim's transaction: the lease as the idle timeout,
// the wait for a free lane, and one plan for every claim of a connection, planned once (a
// custom plan per claim costs more than a small claim's select): it walks the outbox in seq
// order (the planner, unable to estimate the lane condition, would otherwise sort the whole
// table) and probes the index of blocked messages per message (a materialized or hashed copy of
// it costs a claim in proportion to the blocked messages, which a broker outage multiplies),
// with no JIT compilation (a generic plan's estimates can pass its threshold on a large
// backlog, and compiling, redone at every execution, costs more than the select). The
// transaction runs nothing else but its deletes and updates by key.
const heldSettings = "SELECT set_config('idle_in_transaction_session_timeout', '%d', true), set_config('lock_timeout', '%d', true)" +
	", set_config('plan_cache_mode', 'force_generic_plan', true), set_config('enable_seqscan', 'off', true)" +
	", set_config('enable_bitmapscan', 'off', true), set_config('enable_material', 'off', true)" +
	", set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true), set_config('jit', 'off', true)"

// heldTx is the sqlstore.TxConn of a held claim: a pool connection, released when the transaction
// ends. A connection left in a transaction (after an error) is closed by the pool on release.
type heldTx struct {
	c     *pgxpool.Conn
	lanes *lanes
	want  int    // the lanes the claim asks for
	begin string // the settings sent after BEGIN with the first query; "" once sent
}

// Query implements sqlstore.TxConn: the first query is pipelined after BEGIN, the transaction's
// settings and the taking of its lanes, in one round trip. It returns sqlstore.ErrNoLanes when
// no lane came free.
func (h *heldTx) Query(ctx context.Context, q string, args []any, row func(scan func(dest ...any) error) error) error {
	if h.c == nil {
		return errHeldDone
	}
	b := &pgx.Batch{}
	first := h.begin != ""
	if first {
		b.Queue("BEGIN ISOLATION LEVEL READ COMMITTED")
		b.Queue(h.begin)
		b.Queue(laneTakeSQL, h.lanes.take(h.want)...)
		h.begin = ""
	}
	b.Queue(q, args...)
	br := h.c.SendBatch(ctx, b)
	if first {
		var mask int64
		_, err := br.Exec()
		if err == nil {
			_, err = br.Exec()
		}
		if err == nil {
			err = br.QueryRow().Scan(&mask)
		}
		if err != nil {
			_ = br.Close()
			return ctxErr(ctx, noLanes(err))
		}
		h.lanes.taken(mask, h.want)
	}
	rows, err := br.Query()
	if err == nil {
		for rows.Next() {
			if err = row(rows.Scan); err != nil {
				break
			}
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return ctxErr(ctx, err)
}

// Commit implements sqlstore.TxConn: stmts and COMMIT in one round trip.
func (h *heldTx) Commit(ctx context.Context, stmts []sqlstore.Stmt) error {
	if h.c == nil {
		return errHeldDone
	}
	b := &pgx.Batch{}
	for _, s := range stmts {
		b.Queue(s.SQL, s.Args...)
	}
	b.Queue("COMMIT")
	br := h.c.SendBatch(ctx, b)
	var err error
	for range stmts {
		if _, err = br.Exec(); err != nil {
			break
		}
	}
	if err == nil {
		var tag pgconn.CommandTag
		if tag, err = br.Exec(); err == nil && tag.String() == "ROLLBACK" {
			// A COMMIT of a failed transaction rolls it back, without an error.
			err = errors.New("commit: the transaction was rolled back")
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = h.end(context.WithoutCancel(ctx))
		return ctxErr(ctx, err)
	}
	h.c.Release()
	h.c = nil
	return nil
}

// Rollback implements sqlstore.TxConn.
func (h *heldTx) Rollback(ctx context.Context) error {
	if h.c == nil {
		return errHeldDone
	}
	return ctxErr(ctx, h.end(ctx))
}

// end rolls the transaction back, if one is open, and releases the connection.
func (h *heldTx) end(ctx context.Context) error {
	var err error
	if h.c.Conn().PgConn().TxStatus() != 'I' && !h.c.Conn().IsClosed() {
		_, err = h.c.Exec(ctx, "ROLLBACK")
	}
	h.c.Release()
	h.c = nil
	return err
}

// errHeldDone is the error of using a held claim's transaction once it ended.
var errHeldDone = errors.New("the claim's transaction has ended")

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
	return fmt.Errorf("pguow: %w", ctxErr(ctx, err))
}

// inTx runs fn in a READ COMMITTED transaction of its own, committed when fn returns nil.
func (d *Driver) inTx(ctx context.Context, fn func(c sqlstore.Conn) error) error {
	tx, err := d.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return ctxErr(ctx, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := fn(conn{tx: tx}); err != nil {
		return err
	}
	return ctxErr(ctx, tx.Commit(ctx))
}

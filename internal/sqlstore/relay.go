package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dddkit/ddd/uow/driver"
)

// Relay is the relay side of a SQL driver's outbox: [driver.Outbox] and [driver.Operator] over
// the outbox table of migration 0002 (attempts, retry_at, lease_owner, lease_until, parked_at,
// last_error; times in unix microseconds), written once for every dialect. The drivers keep one
// and call it from thin methods of their own.
//
// A Relay is safe for concurrent use when InTx and Read are. Its fields are set once, before
// use.
type Relay struct {
	D *Dialect
	T Tables
	// InTx runs fn in one transaction of its own, committing it when fn returns nil and rolling
	// it back otherwise. PostgreSQL and MySQL run it READ COMMITTED; SQLite runs it in the
	// driver's write transaction, which serialises it with every other writer.
	InTx func(ctx context.Context, fn func(c Conn) error) error
	// Read runs single reads outside any transaction.
	Read Conn
	// Now returns the time recorded as a message's parked_at; nil means time.Now.
	Now func() time.Time
	// Begin, when set with the dialect's SeqIn, makes Hold available: it returns a READ COMMITTED transaction that the
	// backend ends (rolling it back) when it stays idle longer than lease.
	Begin func(ctx context.Context, lease time.Duration) (TxConn, error)
}

// TxConn is a transaction that its holder ends. Its first Query may begin it, in the same round
// trip where the backend can.
type TxConn interface {
	// Query runs q in the transaction, as Conn.Query does.
	Query(ctx context.Context, q string, args []any, row func(scan func(dest ...any) error) error) error
	// Commit runs stmts and commits, in one round trip where the backend can. On an error the
	// transaction is rolled back (or was ended by the backend), and the TxConn is done.
	Commit(ctx context.Context, stmts []Stmt) error
	// Rollback ends the transaction, rolling it back.
	Rollback(ctx context.Context) error
}

var (
	_ driver.Outbox   = (*Relay)(nil)
	_ driver.Operator = (*Relay)(nil)
)

// maxReason bounds the bytes of a failure's Reason kept in last_error.
const maxReason = 4096

// msgCols are the columns of a message, in the order scanMessage reads them.
const msgCols = "o.id, o.topic, o.msg_key, o.name, o.payload, o.headers, o.created_at, o.deliver_after"

// args collects bind arguments and returns each one's placeholder.
type args struct {
	d    *Dialect
	vals []any
}

func (a *args) add(v any) string {
	a.vals = append(a.vals, v)
	return a.d.Param(len(a.vals))
}

// in returns "(p1, p2 ...)" binding each of ids.
func (a *args) in(ids []string) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.add(id))
	}
	b.WriteByte(')')
	return b.String()
}

// chunks splits ids into slices of at most MaxParams-reserve elements.
func (r *Relay) chunks(ids []string, reserve int) [][]string {
	n := max(r.D.MaxParams-reserve, 1)
	var out [][]string
	for len(ids) > 0 {
		k := min(len(ids), n)
		out = append(out, ids[:k])
		ids = ids[k:]
	}
	return out
}

func (r *Relay) fail(op string, err error) error {
	return fmt.Errorf("%s: %s: %w", r.D.Name, op, r.D.Classify(err))
}

func validOwner(owner string) error {
	if owner == "" {
		return fmt.Errorf("%w: empty owner", driver.ErrInvalid)
	}
	return nil
}

// Claim implements driver.Outbox. In one transaction it selects, in seq order and at most limit
// of them (the backlog is never loaded), the messages that are due, not parked, not leased to
// another owner with a lease running, and that have no earlier message of their key other than
// ones leased to owner with a lease running; it locks them (the dialect's SkipLocked: FOR
// UPDATE SKIP LOCKED on PostgreSQL and MySQL; SQLite serialises claims in its write
// transaction), leases them to owner until now+lease, and commits. With Dialect.Lanes it first
// takes the claim's lanes and selects only their messages, so that it excludes held claims (see
// Hold); it is empty when no lane came free.
//
// Why per-key order holds when two relays A and B claim at once: A's select locks the head h of
// a key; B's select, running concurrently, skips h (SKIP LOCKED) and, for the next message m of
// the key, finds h in its NOT EXISTS subquery (a plain read, not a locking one: it sees h
// committed and not leased to B — unleased before A commits, leased to A after), so m is
// excluded too. B gets m only once h is acknowledged (deleted), or leased to B after A's lease
// expired. Excluding is always safe; what cannot happen is B seeing h gone or leased to B while
// A holds it, because A's lease is committed before A returns h, and h is deleted only by an
// Ack of its lease holder.
func (r *Relay) Claim(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]driver.Claimed, error) {
	switch {
	case owner == "":
		return nil, validOwner(owner)
	case limit < 1:
		return nil, fmt.Errorf("%w: claim limit %d", driver.ErrInvalid, limit)
	case lease <= 0:
		return nil, fmt.Errorf("%w: lease %v", driver.ErrInvalid, lease)
	}
	at, until := now.UnixMicro(), now.Add(lease).UnixMicro()
	a := &args{d: r.D}
	q := r.claimSQL(a, at, owner, limit)
	var out []driver.Claimed
	err := r.InTx(ctx, func(c Conn) error {
		out = out[:0]
		if r.D.Lanes != nil {
			if err := r.D.Lanes.Take(ctx, c); err != nil {
				return err
			}
		}
		var seq int64
		var attempts int
		sc := newMessageScanner(&seq, &attempts)
		err := c.Query(ctx, q, a.vals, func(scan func(...any) error) error {
			m, err := sc.scan(scan)
			if err != nil {
				return err
			}
			out = append(out, driver.Claimed{Message: m, Seq: seq, Attempts: attempts})
			return nil
		})
		if err != nil || len(out) == 0 {
			return err
		}
		var stmts []Stmt
		for rest := out; len(rest) > 0; {
			n := min(len(rest), max(r.D.MaxParams-2, 1))
			u := &args{d: r.D}
			var b strings.Builder
			b.WriteString("UPDATE " + r.T.Outbox + " SET lease_owner = " + u.add(owner) + ", lease_until = " + u.add(until) + " WHERE seq IN (")
			for i, m := range rest[:n] {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(u.add(m.Seq))
			}
			b.WriteByte(')')
			stmts = append(stmts, Stmt{SQL: b.String(), Args: u.vals})
			rest = rest[n:]
		}
		_, err = c.Exec(ctx, stmts)
		return err
	})
	if errors.Is(err, ErrNoLanes) {
		return nil, nil
	}
	if err != nil {
		return nil, r.fail("claim", err)
	}
	return out, nil
}

// claimSQL returns the select of Claim, binding its arguments in a: the messages due at at,
// unparked, unleased or leased to owner, in the claim's lanes (with Dialect.Lanes), with no
// earlier message of their key other than ones leased to owner, in seq order, at most limit,
// locked with the dialect's SkipLocked.
func (r *Relay) claimSQL(a *args, at int64, owner string, limit int) string {
	// Arguments are bound in the order of the text: MySQL and SQLite placeholders are positional.
	q := "SELECT o.seq, o.attempts, " + msgCols + " FROM " + r.T.Outbox + " o" +
		" WHERE o.parked_at IS NULL" +
		" AND COALESCE(o.deliver_after, 0) <= " + a.add(at) +
		" AND COALESCE(o.retry_at, 0) <= " + a.add(at) +
		" AND (o.lease_until IS NULL OR o.lease_until <= " + a.add(at) + " OR o.lease_owner = " + a.add(owner) + ")"
	if r.D.Lanes != nil {
		q += " AND " + r.D.Lanes.Filter
	}
	return q + " AND NOT EXISTS (SELECT 1 FROM " + r.T.Outbox + " e WHERE e.msg_key = o.msg_key AND e.seq < o.seq" +
		" AND NOT (COALESCE(e.lease_owner, '') = " + a.add(owner) + " AND COALESCE(e.lease_until, 0) > " + a.add(at) + "))" +
		" ORDER BY o.seq LIMIT " + a.add(limit) + r.D.SkipLocked
}

// Ack implements driver.Outbox: it deletes the messages with the given IDs leased to owner (in
// one transaction, in statements of at most MaxParams parameters).
func (r *Relay) Ack(ctx context.Context, owner string, ids []string) error {
	if err := validOwner(owner); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	var stmts []Stmt
	for _, chunk := range r.chunks(ids, 1) {
		a := &args{d: r.D}
		q := "DELETE FROM " + r.T.Outbox + " WHERE lease_owner = " + a.add(owner) + " AND id IN " + a.in(chunk)
		stmts = append(stmts, Stmt{SQL: q, Args: a.vals})
	}
	if err := r.InTx(ctx, func(c Conn) error { _, err := c.Exec(ctx, stmts); return err }); err != nil {
		return r.fail("ack", err)
	}
	return nil
}

// Release implements driver.Outbox: in one transaction, each failed message leased to owner gets
// one more attempt, its Reason as last_error (at most 4 KiB, made valid UTF-8), no lease, and
// either retry_at = RetryAt or, when Park is set, parked_at = the current time (Relay.Now).
// Failures of messages not leased to owner are ignored.
func (r *Relay) Release(ctx context.Context, owner string, failures []driver.Failure) error {
	if err := validOwner(owner); err != nil {
		return err
	}
	if len(failures) == 0 {
		return nil
	}
	now := r.now()
	stmts := make([]Stmt, 0, len(failures))
	for _, f := range failures {
		a := &args{d: r.D}
		stmts = append(stmts, Stmt{SQL: r.releaseSQL(a, f, now) + " AND lease_owner = " + a.add(owner), Args: a.vals})
	}
	if err := r.InTx(ctx, func(c Conn) error { _, err := c.Exec(ctx, stmts); return err }); err != nil {
		return r.fail("release", err)
	}
	return nil
}

// now returns the time recorded as a message's parked_at.
func (r *Relay) now() int64 {
	if r.Now != nil {
		return r.Now().UnixMicro()
	}
	return time.Now().UnixMicro()
}

// releaseSQL returns the UPDATE recording the failed publication f (its WHERE clause selects the
// message by ID; callers add their conditions), binding its arguments in a.
func (r *Relay) releaseSQL(a *args, f driver.Failure, parkedAt int64) string {
	var retry, parked any
	if f.Park {
		parked = parkedAt
	} else if !f.RetryAt.IsZero() {
		retry = f.RetryAt.UnixMicro()
	}
	return "UPDATE " + r.T.Outbox + " SET attempts = attempts + 1" +
		", retry_at = " + a.add(retry) +
		", parked_at = " + a.add(parked) +
		", last_error = " + a.add(reason(f.Reason)) +
		", lease_owner = NULL, lease_until = NULL" +
		" WHERE id = " + a.add(f.ID)
}

// reason returns s as last_error keeps it: valid UTF-8 without NUL (which PostgreSQL's text
// refuses), at most maxReason bytes.
func reason(s string) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if len(s) <= maxReason {
		return s
	}
	s = s[:maxReason]
	return strings.ToValidUTF8(s, "") // drop a rune cut in two
}

// Pending implements driver.Operator: up to limit messages of the outbox in seq order, whatever
// their relay state, with their attempts.
func (r *Relay) Pending(ctx context.Context, limit int) ([]driver.Claimed, error) {
	if limit < 1 {
		return nil, fmt.Errorf("%w: limit %d", driver.ErrInvalid, limit)
	}
	a := &args{d: r.D}
	q := "SELECT o.seq, o.attempts, " + msgCols + " FROM " + r.T.Outbox + " o ORDER BY o.seq LIMIT " + a.add(limit)
	out := []driver.Claimed{}
	var c driver.Claimed
	sc := newMessageScanner(&c.Seq, &c.Attempts)
	err := r.Read.Query(ctx, q, a.vals, func(scan func(...any) error) error {
		m, err := sc.scan(scan)
		if err != nil {
			return err
		}
		out = append(out, driver.Claimed{Message: m, Seq: c.Seq, Attempts: c.Attempts})
		return nil
	})
	if err != nil {
		return nil, r.fail("pending messages", err)
	}
	return out, nil
}

// Parked implements driver.Operator: up to limit parked messages in seq order.
func (r *Relay) Parked(ctx context.Context, limit int) ([]driver.Parked, error) {
	if limit < 1 {
		return nil, fmt.Errorf("%w: limit %d", driver.ErrInvalid, limit)
	}
	a := &args{d: r.D}
	q := "SELECT o.seq, o.attempts, o.parked_at, o.last_error, " + msgCols + " FROM " + r.T.Outbox + " o" +
		" WHERE o.parked_at IS NOT NULL ORDER BY o.seq LIMIT " + a.add(limit)
	out := []driver.Parked{}
	var (
		seq      int64
		attempts int
		parked   int64
		reason   *string
	)
	sc := newMessageScanner(&seq, &attempts, &parked, &reason)
	err := r.Read.Query(ctx, q, a.vals, func(scan func(...any) error) error {
		m, err := sc.scan(scan)
		if err != nil {
			return err
		}
		p := driver.Parked{Message: m, Seq: seq, Attempts: attempts, ParkedAt: time.UnixMicro(parked).UTC()}
		if reason != nil {
			p.Reason = *reason
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		return nil, r.fail("parked messages", err)
	}
	return out, nil
}

// Unpark implements driver.Operator: the parked messages with the given IDs get no attempts,
// retry time, error or lease, and are claimable again.
func (r *Relay) Unpark(ctx context.Context, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	var stmts []Stmt
	for _, chunk := range r.chunks(ids, 0) {
		a := &args{d: r.D}
		q := "UPDATE " + r.T.Outbox + " SET parked_at = NULL, attempts = 0, retry_at = NULL, last_error = NULL" +
			", lease_owner = NULL, lease_until = NULL WHERE parked_at IS NOT NULL AND id IN " + a.in(chunk)
		stmts = append(stmts, Stmt{SQL: q, Args: a.vals})
	}
	var n int64
	err := r.InTx(ctx, func(c Conn) error {
		affected, err := c.Exec(ctx, stmts)
		for _, k := range affected {
			n += k
		}
		return err
	})
	if err != nil {
		return 0, r.fail("unpark", err)
	}
	return int(n), nil
}

// PurgeParked implements driver.Operator.
func (r *Relay) PurgeParked(ctx context.Context, before time.Time) (int, error) {
	a := &args{d: r.D}
	q := "DELETE FROM " + r.T.Outbox + " WHERE parked_at IS NOT NULL AND parked_at < " + a.add(before.UnixMicro())
	var n int64
	err := r.InTx(ctx, func(c Conn) error {
		affected, err := c.Exec(ctx, []Stmt{{SQL: q, Args: a.vals}})
		if err == nil {
			n = affected[0]
		}
		return err
	})
	if err != nil {
		return 0, r.fail("purge parked", err)
	}
	return int(n), nil
}

// OldestDue implements driver.Operator: MIN(created_at) over the unparked messages due at now
// (leased ones included: they are not published yet). It reads every due row's created_at: call
// it at a metrics interval, not per claim.
func (r *Relay) OldestDue(ctx context.Context, now time.Time) (time.Time, bool, error) {
	a := &args{d: r.D}
	at := now.UnixMicro()
	q := "SELECT MIN(created_at) FROM " + r.T.Outbox + " WHERE parked_at IS NULL" +
		" AND COALESCE(deliver_after, 0) <= " + a.add(at) + " AND COALESCE(retry_at, 0) <= " + a.add(at)
	var oldest *int64
	err := r.Read.Query(ctx, q, a.vals, func(scan func(...any) error) error { return scan(&oldest) })
	if err != nil {
		return time.Time{}, false, r.fail("oldest due message", err)
	}
	if oldest == nil {
		return time.Time{}, false, nil
	}
	return time.UnixMicro(*oldest).UTC(), true, nil
}

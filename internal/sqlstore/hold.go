package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dddkit/ddd/uow/driver"
)

// Hold implements driver.Holder when r.Begin, the dialect's SeqIn and its Lanes are set: in a
// transaction begun by Begin (which takes the claim's lanes, and which the backend ends when it
// idles longer than lease), it selects and locks, in seq order and at most limit, the messages
// of its lanes that are due at now, unparked and unleased (or with an expired lease), and that
// have no earlier message of their key among the blocked ones: parked, retrying, delayed or
// leased (migration 0005's partial index; a message that was ever one of those blocks the later
// ones of its key until it is gone, which is only ever too cautious). Several messages of one key
// may be held, in seq order. Nothing is written. The transaction stays open until Finish; an
// empty claim ends it at once, as does one that found no lane free.
//
// Per-key order across relays: no concurrent claim, held or leased, shares a lane, so none holds
// a message of a key this claim takes. A lane's previous holder committed before the lane was
// taken, and the select, a statement of its own, sees that commit: the messages it published are
// gone, and the ones whose failure it recorded are blocked. Messages are locked (SKIP LOCKED) so
// that nothing else can change them while the claim is held.
func (r *Relay) Hold(ctx context.Context, now time.Time, lease time.Duration, limit int) (driver.Held, error) {
	switch {
	case r.Begin == nil || r.D.SeqIn == nil || r.D.Lanes == nil:
		return nil, fmt.Errorf("%w: %s holds no claims", driver.ErrUnsupported, r.D.Name)
	case limit < 1:
		return nil, fmt.Errorf("%w: claim limit %d", driver.ErrInvalid, limit)
	case lease <= 0:
		return nil, fmt.Errorf("%w: lease %v", driver.ErrInvalid, lease)
	}
	a := &args{d: r.D}
	q := r.holdSQL(a, now.UnixMicro(), limit)
	tx, err := r.Begin(ctx, lease)
	if err != nil {
		return nil, r.fail("hold", err)
	}
	h := &held{r: r, tx: tx, msgs: make([]driver.Claimed, 0, min(limit, maxPrealloc))}
	var seq int64
	var attempts int
	sc := newMessageScanner(&seq, &attempts)
	err = tx.Query(ctx, q, a.vals, func(scan func(...any) error) error {
		m, err := sc.scan(scan)
		if err != nil {
			return err
		}
		h.msgs = append(h.msgs, driver.Claimed{Message: m, Seq: seq, Attempts: attempts})
		return nil
	})
	if errors.Is(err, ErrNoLanes) {
		h.msgs, h.contended, err = nil, true, nil
	}
	if err != nil || len(h.msgs) == 0 {
		rbErr := tx.Rollback(context.WithoutCancel(ctx))
		if err != nil {
			return nil, r.fail("hold", err)
		}
		if rbErr != nil {
			return nil, r.fail("hold", rbErr)
		}
		h.tx = nil
	}
	return h, nil
}

// maxPrealloc bounds the messages a claim makes room for before it reads them.
const maxPrealloc = 1024

// blocked is the condition of the messages (alias b) that a held claim does not overtake: the
// predicate of migration 0005's partial index, written as it is there so that the planner uses
// the index.
const blocked = "b.parked_at IS NOT NULL OR b.retry_at IS NOT NULL OR b.deliver_after IS NOT NULL OR b.lease_until IS NOT NULL"

// holdSQL returns the select of Hold, binding its arguments in a. The due conditions are
// written with IS NULL, which the planner estimates from the columns' statistics.
func (r *Relay) holdSQL(a *args, at int64, limit int) string {
	return "SELECT o.seq, o.attempts, " + msgCols + " FROM " + r.T.Outbox + " o" +
		" WHERE o.parked_at IS NULL" +
		" AND (o.deliver_after IS NULL OR o.deliver_after <= " + a.add(at) + ")" +
		" AND (o.retry_at IS NULL OR o.retry_at <= " + a.add(at) + ")" +
		" AND (o.lease_until IS NULL OR o.lease_until <= " + a.add(at) + ")" +
		" AND " + r.D.Lanes.Filter +
		" AND NOT EXISTS (SELECT 1 FROM " + r.T.Outbox + " b WHERE (" + blocked + ") AND b.msg_key = o.msg_key AND b.seq < o.seq)" +
		" ORDER BY o.seq LIMIT " + a.add(limit) + r.D.SkipLocked
}

// held is an driver.Held: the claim's messages and its open transaction (nil once finished).
type held struct {
	r         *Relay
	tx        TxConn
	msgs      []driver.Claimed
	contended bool // empty because no lane came free
}

// errFinished is the error of a second Finish.
var errFinished = errors.New("claim already finished")

// Messages implements driver.Held.
func (h *held) Messages() []driver.Claimed { return h.msgs }

// Contended implements driver.Contention: the claim found no lane free.
func (h *held) Contended() bool { return h.contended }

// Finish implements driver.Held: in the claim's transaction, with its commit (TxConn.Commit), it
// deletes the published messages (by seq, bound as one array parameter: Dialect.SeqIn) and
// records the failures as Release does. Any
// error rolls the transaction back. An empty claim's Finish does nothing; a second Finish is an
// error wrapping driver.ErrInvalid.
func (h *held) Finish(ctx context.Context, published []string, failures []driver.Failure) error {
	if h.tx == nil {
		if len(h.msgs) == 0 {
			return nil
		}
		return fmt.Errorf("%w: %w", driver.ErrInvalid, errFinished)
	}
	tx := h.tx
	h.tx = nil
	seqs := make(map[string]int64, len(h.msgs))
	for _, m := range h.msgs {
		seqs[m.ID] = m.Seq
	}
	var stmts []Stmt
	var del []int64
	for _, id := range published {
		if seq, ok := seqs[id]; ok {
			del = append(del, seq)
			delete(seqs, id) // an ID listed twice is deleted once
		}
	}
	if len(del) > 0 {
		a := &args{d: h.r.D}
		stmts = append(stmts, Stmt{SQL: "DELETE FROM " + h.r.T.Outbox + " WHERE " + h.r.D.SeqIn(a.add(del)), Args: a.vals})
	}
	now := h.r.now()
	for _, f := range failures {
		if _, ok := seqs[f.ID]; !ok {
			continue // not in the claim, or published
		}
		a := &args{d: h.r.D}
		stmts = append(stmts, Stmt{SQL: h.r.releaseSQL(a, f, now), Args: a.vals})
	}
	if err := tx.Commit(ctx, stmts); err != nil {
		return h.r.fail("finish", err)
	}
	return nil
}

package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dddkit/ddd/outbox"
)

// Hold implements outbox.Holder when r.Begin and the dialect's SeqIn are set: in a transaction begun by Begin (which the
// backend ends when it idles longer than lease), it selects and locks the messages Claim would
// select for no owner: due at now, unparked, unleased or with an expired lease, with no earlier
// message of their key at all, in seq order, at most limit, skipping locked rows. Nothing is
// written. The transaction stays open until Finish; an empty claim ends it at once.
//
// Per-key order across relays: a held message h stays in the table, locked, until the Finish
// that deletes it commits, so another claim (held or leased) skips h and, finding h in its NOT
// EXISTS subquery, every later message of h's key. Those become claimable only once h is
// deleted (published) or its failure is recorded (then h itself is not due, or parked, and
// still blocks them).
func (r *Relay) Hold(ctx context.Context, now time.Time, lease time.Duration, limit int) (outbox.Held, error) {
	switch {
	case r.Begin == nil || r.D.SeqIn == nil:
		return nil, fmt.Errorf("%w: %s holds no claims", outbox.ErrUnsupported, r.D.Name)
	case limit < 1:
		return nil, fmt.Errorf("%w: claim limit %d", outbox.ErrInvalid, limit)
	case lease <= 0:
		return nil, fmt.Errorf("%w: lease %v", outbox.ErrInvalid, lease)
	}
	a := &args{d: r.D}
	q := r.claimSQL(a, now.UnixMicro(), "", limit)
	tx, err := r.Begin(ctx, lease)
	if err != nil {
		return nil, r.fail("hold", err)
	}
	h := &held{r: r, tx: tx}
	err = tx.Query(ctx, q, a.vals, func(scan func(...any) error) error {
		var m outbox.Claimed
		var err error
		if m.Message, err = scanMessage(scan, &m.Seq, &m.Attempts); err != nil {
			return err
		}
		h.msgs = append(h.msgs, m)
		return nil
	})
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

// held is an outbox.Held: the claim's messages and its open transaction (nil once finished).
type held struct {
	r    *Relay
	tx   TxConn
	msgs []outbox.Claimed
}

// errFinished is the error of a second Finish.
var errFinished = errors.New("claim already finished")

// Messages implements outbox.Held.
func (h *held) Messages() []outbox.Claimed { return h.msgs }

// Finish implements outbox.Held: in the claim's transaction, with its commit (TxConn.Commit), it
// deletes the published messages (by seq, bound as one array parameter: Dialect.SeqIn) and
// records the failures as Release does. Any
// error rolls the transaction back. An empty claim's Finish does nothing; a second Finish is an
// error wrapping outbox.ErrInvalid.
func (h *held) Finish(ctx context.Context, published []string, failures []outbox.Failure) error {
	if h.tx == nil {
		if len(h.msgs) == 0 {
			return nil
		}
		return fmt.Errorf("%w: %w", outbox.ErrInvalid, errFinished)
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

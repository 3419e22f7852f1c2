package memuow

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/dddkit/ddd/internal/jsonmatch"
	"github.com/dddkit/ddd/uow/driver"
)

// Tx is a transaction of a [Driver], returned by [Driver.Begin]. Besides [driver.Tx] it implements
// [driver.Querier], [driver.KeyLocker] and [driver.InboxReader]. Reads see committed data; writes happen
// in Commit; row and keyed locks are held until Commit or Rollback.
//
// A Tx is used by one goroutine, as [driver.Driver] requires; it is not safe for concurrent use.
// The zero value is not usable: get a Tx from Driver.Begin. After Commit or Rollback every
// method but Rollback and Native returns an error wrapping driver.ErrTxDone.
type Tx struct {
	d    *Driver
	done bool
}

func (tx *Tx) check(ctx context.Context, op string) error {
	if tx.done {
		return fmt.Errorf("%w: %s on an ended transaction", driver.ErrTxDone, op)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memuow: %s: %w", op, err)
	}
	return nil
}

// Load returns the committed records of kind with the given IDs, once each, in ID order; IDs
// with no record are left out.
//
// With driver.ForUpdate, Load first locks the row of every requested ID that has a record, in ID
// order, waiting while another transaction holds one (for a ForUpdate load or a commit writing
// it), then reads the latest committed data of the rows it locked. A row deleted while Load
// waited is left out; an ID with no record is not locked. The wait ends with an error wrapping
// ctx.Err() when ctx is done, and with one wrapping driver.ErrConflict on a lock timeout or a
// deadlock; locks taken before the failure stay held until the transaction ends.
//
// Load returns an error wrapping driver.ErrInvalid for an unknown lock mode.
func (tx *Tx) Load(ctx context.Context, kind string, ids []string, lock driver.Lock) ([]driver.Record, error) {
	if err := tx.check(ctx, "load"); err != nil {
		return nil, err
	}
	ids = sortedUnique(ids)
	switch lock {
	case driver.Optimistic:
		return tx.d.load(kind, ids), nil
	case driver.ForUpdate:
		locked := ids[:0]
		for _, id := range ids {
			if !tx.d.exists(kind, id) {
				continue
			}
			if err := tx.lock(ctx, rowKey(kind, id)); err != nil {
				return nil, err
			}
			locked = append(locked, id)
		}
		return tx.d.load(kind, locked), nil
	}
	return nil, fmt.Errorf("%w: load %s: unknown lock mode %d", driver.ErrInvalid, kind, lock)
}

// Find returns the committed records of kind whose JSON documents are objects with every
// filter field at top level, equal to its value, in ID order. Values compare as JSON values:
// strings, booleans and null by value, numbers exactly (1 equals 1.0 and 1e0), and a missing
// field matches nothing, not even nil. A filter value may be nil, a json.Number, or of a string,
// bool, integer or float kind (named types included, but not types with their own JSON or text
// encoding); a float compares as the shortest decimal that reads back as it, the form
// encoding/json writes. Any other value, NaN or an infinity is an error wrapping driver.ErrInvalid.
func (tx *Tx) Find(ctx context.Context, kind string, where []driver.Field) ([]driver.Record, error) {
	if err := tx.check(ctx, "find"); err != nil {
		return nil, err
	}
	filter, err := jsonmatch.Parse(where)
	if err != nil {
		return nil, err
	}
	return tx.d.find(kind, filter), nil
}

// LockKeys takes the keyed locks on keys, in sorted order, each held until the transaction
// ends. Keyed locks live apart from row locks: a key never collides with a record's row. A key
// the transaction already holds is taken at once; one another transaction holds makes it wait,
// with the errors of a ForUpdate [Tx.Load].
func (tx *Tx) LockKeys(ctx context.Context, keys []string) error {
	if err := tx.check(ctx, "lock keys"); err != nil {
		return err
	}
	for _, k := range sortedUnique(keys) {
		if err := tx.lock(ctx, keyKey(k)); err != nil {
			return err
		}
	}
	return nil
}

// Processed reports whether the inbox mark (consumer, messageID) is committed.
func (tx *Tx) Processed(ctx context.Context, consumer, messageID string) (bool, error) {
	if err := tx.check(ctx, "processed"); err != nil {
		return false, err
	}
	return tx.d.processed(consumer, messageID), nil
}

// Commit writes c atomically and ends the transaction, releasing its locks; a nil c commits
// nothing.
//
// Commit first takes the row lock of every record c writes, in kind then ID order, waiting
// like a ForUpdate [Tx.Load] while another transaction holds one. Then, in one critical section
// that no other commit interleaves with, it runs c's writes in order against the committed
// state, checks the inbox marks, and applies everything, or nothing on any error. Errors:
//
//   - driver.ErrDuplicate: an insert finds a record with its kind and ID.
//   - driver.ErrConflict: an update or delete finds another version or no record, an inbox mark
//     exists, or a lock wait timed out or would deadlock.
//   - driver.ErrInvalid: a write has an unknown op.
//   - driver.ErrTxDone: the transaction had ended.
//   - ctx.Err(), wrapped: ctx was done before the commit or while it waited for a lock.
//   - An injected [Fault]'s error (see [Driver.InjectFault]).
func (tx *Tx) Commit(ctx context.Context, c *driver.Changes) error {
	if tx.done {
		return fmt.Errorf("%w: commit on an ended transaction", driver.ErrTxDone)
	}
	tx.done = true
	defer tx.d.locks.ReleaseAll(tx)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memuow: commit: %w", err)
	}
	if c == nil {
		c = &driver.Changes{}
	}
	for _, k := range writeLocks(c.Writes) {
		if err := tx.lock(ctx, k); err != nil {
			return err
		}
	}
	var paused func()
	if p := tx.d.pause.Load(); p != nil {
		paused = func() { (*p)(ctx, c) }
	}
	return tx.d.commit(c, paused)
}

// Rollback ends the transaction, releasing its locks. After the end it does nothing and
// returns nil.
func (tx *Tx) Rollback(context.Context) error {
	if tx.done {
		return nil
	}
	tx.done = true
	tx.d.locks.ReleaseAll(tx)
	return nil
}

// Native returns tx itself, a *Tx.
func (tx *Tx) Native() any { return tx }

// sortedUnique returns a sorted copy of s without duplicates.
func sortedUnique(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// writeLocks returns the row locks of the records ws write, sorted by kind then ID.
func writeLocks(ws []driver.Write) []lockKey {
	ks := make([]lockKey, len(ws))
	for i, w := range ws {
		ks[i] = rowKey(w.Record.Kind, w.Record.ID)
	}
	slices.SortFunc(ks, func(a, b lockKey) int {
		return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.id, b.id))
	})
	return slices.Compact(ks)
}

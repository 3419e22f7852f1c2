// Package locktable is an in-process table of exclusive locks, the lock manager behind the
// pessimistic locks of the memuow and sqliteuow drivers.
//
// A [Table] maps keys (of any comparable type K, typically a namespace, a kind and an ID) to
// the owner holding them (of any comparable type O, typically a pointer to a transaction). A
// lock is held by one owner at a time; taking it again for that owner succeeds at once. Other
// owners wait for it, each waiting for at most one lock at a time, until it is released, their
// context is done or a timeout runs out. Because an owner waits for one lock at most, the
// wait-for graph is a set of chains, and a wait that would close a cycle (a deadlock) is found
// by following one chain; that wait fails at once with [ErrDeadlock].
//
// Each held lock has a channel closed when it is released, which wakes every waiter; the
// waiters then race for the lock and the losers wait again, for the rest of their timeout.
package locktable

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrDeadlock is returned by [Table.Acquire] when waiting for the lock would close a cycle in
// the wait-for graph: the owner holding it waits, directly or through other owners, for a lock
// the acquiring owner holds.
var ErrDeadlock = errors.New("locktable: deadlock detected")

// ErrTimeout is returned by [Table.Acquire] when the lock is not had within the timeout.
var ErrTimeout = errors.New("locktable: lock wait timeout exceeded")

// Table is a table of exclusive locks on keys of type K held by owners of type O. The zero
// value is an empty table ready to use. A Table is safe for concurrent use; it must not be
// copied after first use.
//
// An owner must be used by one goroutine at a time: it waits for at most one lock, and
// Release and ReleaseAll must not run while it waits in Acquire.
type Table[O, K comparable] struct {
	mu      sync.Mutex
	held    map[K]*entry[O]
	owned   map[O][]K // the keys each owner holds, in the order it took them
	waiting map[O]K   // the key each waiting owner waits for
}

// entry is a held lock. released is closed when the owner releases it, waking every waiter.
type entry[O comparable] struct {
	owner    O
	released chan struct{}
}

// Acquire takes the lock on k for owner, waiting while another owner holds it. It returns nil
// at once when k is free or owner already holds it. Otherwise it fails, without waiting, with
// [ErrDeadlock] when the wait would close a deadlock, or with ctx.Err() when ctx is done; and
// it waits until the lock is released and taken, until ctx is done (ctx.Err()), or until the
// lock is not had within timeout since the wait began ([ErrTimeout]). A timeout of zero or less
// fails with ErrTimeout at once instead of waiting.
//
// The errors are returned as they are, not wrapped: ErrDeadlock, ErrTimeout or ctx.Err(), so
// that a caller can describe k in its own terms. A failed Acquire leaves the locks owner holds
// held.
func (t *Table[O, K]) Acquire(ctx context.Context, owner O, k K, timeout time.Duration) error {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		t.mu.Lock()
		delete(t.waiting, owner)
		e := t.held[k]
		if e == nil {
			if t.held == nil {
				t.held = make(map[K]*entry[O])
				t.owned = make(map[O][]K)
				t.waiting = make(map[O]K)
			}
			t.held[k] = &entry[O]{owner: owner, released: make(chan struct{})}
			t.owned[owner] = append(t.owned[owner], k)
			t.mu.Unlock()
			return nil
		}
		if e.owner == owner {
			t.mu.Unlock()
			return nil
		}
		if t.closesCycle(owner, e.owner) {
			t.mu.Unlock()
			return ErrDeadlock
		}
		if err := ctx.Err(); err != nil {
			t.mu.Unlock()
			return err
		}
		if timeout <= 0 {
			t.mu.Unlock()
			return ErrTimeout
		}
		t.waiting[owner] = k
		released := e.released
		t.mu.Unlock()

		if timer == nil {
			timer = time.NewTimer(timeout)
		}
		select {
		case <-released:
			// Loop: another waiter may take the lock first.
		case <-ctx.Done():
			t.stopWaiting(owner)
			return ctx.Err()
		case <-timer.C:
			t.stopWaiting(owner)
			return ErrTimeout
		}
	}
}

// closesCycle reports whether owner waiting for a lock held by holder would close a cycle in
// the wait-for graph: whether holder waits, directly or through others, for a lock owner holds.
// The caller holds t.mu.
func (t *Table[O, K]) closesCycle(owner, holder O) bool {
	for range len(t.waiting) + 1 {
		if holder == owner {
			return true
		}
		k, ok := t.waiting[holder]
		if !ok {
			return false
		}
		e := t.held[k]
		if e == nil {
			return false // released: holder is about to run again
		}
		holder = e.owner
	}
	return false
}

func (t *Table[O, K]) stopWaiting(owner O) {
	t.mu.Lock()
	delete(t.waiting, owner)
	t.mu.Unlock()
}

// Release releases the lock on k if owner holds it, waking its waiters, and does nothing
// otherwise.
func (t *Table[O, K]) Release(owner O, k K) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.held[k]
	if e == nil || e.owner != owner {
		return
	}
	close(e.released)
	delete(t.held, k)
	keys := t.owned[owner]
	for i, o := range keys {
		if o == k {
			keys = append(keys[:i], keys[i+1:]...)
			break
		}
	}
	if len(keys) == 0 {
		delete(t.owned, owner)
	} else {
		t.owned[owner] = keys
	}
}

// ReleaseAll releases every lock owner holds, waking their waiters.
func (t *Table[O, K]) ReleaseAll(owner O) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range t.owned[owner] {
		close(t.held[k].released)
		delete(t.held, k)
	}
	delete(t.owned, owner)
	delete(t.waiting, owner)
}

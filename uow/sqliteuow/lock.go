package sqliteuow

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/dddkit/ddd/uow"
)

// lockSpace keeps the kinds of in-process locks apart: a key never collides with a row.
type lockSpace uint8

const (
	writeLock lockSpace = iota + 1 // the Driver's one write transaction
	rowLock                        // a record (kind, id) locked by a ForUpdate load or a commit
	keyLock                        // a key of uow.Unit.Lock
)

// lockKey names one lock.
type lockKey struct {
	space lockSpace
	kind  string
	id    string
}

var writeKey = lockKey{space: writeLock}

func rowKey(kind, id string) lockKey { return lockKey{space: rowLock, kind: kind, id: id} }

func keyKey(key string) lockKey { return lockKey{space: keyLock, id: key} }

func (k lockKey) String() string {
	switch k.space {
	case writeLock:
		return "the write transaction"
	case keyLock:
		return fmt.Sprintf("key %q", k.id)
	}
	return fmt.Sprintf("%s %q", k.kind, k.id)
}

// lockEntry is a held lock. released is closed when the owner releases it, waking its waiters.
type lockEntry struct {
	owner    *backend
	released chan struct{}
}

// lockTable holds the exclusive in-process locks of a Driver: the write transaction (the
// semaphore that serialises this process's writers before SQLite's own lock), row locks and
// keyed locks. A lock is held by one transaction; taking it again in that transaction is a no-op.
// One table for all three finds deadlocks across them (a unit holding the write transaction and
// waiting for a row another unit locked, that waits for the write transaction). A transaction
// waits for at most one lock at a time, so the wait-for graph is a set of chains and a deadlock
// is found by following one chain. The zero value is ready to use.
type lockTable struct {
	mu      sync.Mutex
	held    map[lockKey]*lockEntry
	owned   map[*backend][]lockKey
	waiting map[*backend]lockKey
}

// acquire takes k for owner, waiting while another transaction holds it. The wait ends with an
// error wrapping ctx.Err() when ctx is done, and with one wrapping uow.ErrConflict when it would
// close a deadlock or lasts longer than timeout.
func (lt *lockTable) acquire(ctx context.Context, owner *backend, k lockKey, timeout time.Duration) error {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		lt.mu.Lock()
		delete(lt.waiting, owner)
		e := lt.held[k]
		if e == nil {
			if lt.held == nil {
				lt.held = make(map[lockKey]*lockEntry)
				lt.owned = make(map[*backend][]lockKey)
				lt.waiting = make(map[*backend]lockKey)
			}
			lt.held[k] = &lockEntry{owner: owner, released: make(chan struct{})}
			lt.owned[owner] = append(lt.owned[owner], k)
			lt.mu.Unlock()
			return nil
		}
		if e.owner == owner {
			lt.mu.Unlock()
			return nil
		}
		if lt.closesCycle(owner, e.owner) {
			lt.mu.Unlock()
			return fmt.Errorf("%w: deadlock detected waiting for the lock on %v", uow.ErrConflict, k)
		}
		if err := ctx.Err(); err != nil {
			lt.mu.Unlock()
			return fmt.Errorf("sqlite: waiting for the lock on %v: %w", k, err)
		}
		lt.waiting[owner] = k
		released := e.released
		lt.mu.Unlock()

		if timer == nil {
			timer = time.NewTimer(timeout)
		}
		select {
		case <-released:
			// Loop: another waiter may take the lock first.
		case <-ctx.Done():
			lt.stopWaiting(owner)
			return fmt.Errorf("sqlite: waiting for the lock on %v: %w", k, ctx.Err())
		case <-timer.C:
			lt.stopWaiting(owner)
			return fmt.Errorf("%w: lock wait timeout (%v) exceeded on %v", uow.ErrConflict, timeout, k)
		}
	}
}

// closesCycle reports whether owner waiting for a lock held by holder would close a cycle in the
// wait-for graph. The caller holds lt.mu.
func (lt *lockTable) closesCycle(owner, holder *backend) bool {
	for range len(lt.waiting) + 1 {
		if holder == owner {
			return true
		}
		k, ok := lt.waiting[holder]
		if !ok {
			return false
		}
		e := lt.held[k]
		if e == nil {
			return false // released: holder is about to run again
		}
		holder = e.owner
	}
	return false
}

func (lt *lockTable) stopWaiting(owner *backend) {
	lt.mu.Lock()
	delete(lt.waiting, owner)
	lt.mu.Unlock()
}

// release releases one lock owner holds, if it holds it, and wakes its waiters.
func (lt *lockTable) release(owner *backend, k lockKey) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	e := lt.held[k]
	if e == nil || e.owner != owner {
		return
	}
	close(e.released)
	delete(lt.held, k)
	keys := lt.owned[owner]
	for i, o := range keys {
		if o == k {
			lt.owned[owner] = append(keys[:i], keys[i+1:]...)
			break
		}
	}
}

// releaseAll releases every lock owner holds and wakes their waiters.
func (lt *lockTable) releaseAll(owner *backend) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	for _, k := range lt.owned[owner] {
		close(lt.held[k].released)
		delete(lt.held, k)
	}
	delete(lt.owned, owner)
	delete(lt.waiting, owner)
}

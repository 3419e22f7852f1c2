package sqliteuow

import (
	"context"
	"errors"
	"fmt"

	"github.com/dddkit/ddd/internal/locktable"
	"github.com/dddkit/ddd/uow/driver"
)

// lockSpace keeps the kinds of in-process locks apart: a key never collides with a row.
type lockSpace uint8

const (
	writeLock lockSpace = iota + 1 // the Driver's one write transaction
	rowLock                        // a record (kind, id) locked by a ForUpdate load or a commit
	keyLock                        // a key of uow.Unit.Lock
)

// lockKey names one lock of the Driver's lock table (a locktable.Table), which holds the
// write transaction (the semaphore that serialises this process's writers before SQLite's own
// lock), row locks and keyed locks. One table for all three finds deadlocks across them (a unit
// holding the write transaction and waiting for a row another unit locked, that waits for the
// write transaction).
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

// lock takes k for b in the Driver's lock table, waiting while another transaction holds it.
// The wait ends with an error wrapping ctx.Err() when ctx is done, and with one wrapping
// driver.ErrConflict when it would close a deadlock or lasts longer than the lock timeout.
func (b *backend) lock(ctx context.Context, k lockKey) error {
	timeout := b.d.timeout
	err := b.d.locks.Acquire(ctx, b, k, timeout)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, locktable.ErrDeadlock):
		return fmt.Errorf("%w: deadlock detected waiting for the lock on %v", driver.ErrConflict, k)
	case errors.Is(err, locktable.ErrTimeout):
		return fmt.Errorf("%w: lock wait timeout (%v) exceeded on %v", driver.ErrConflict, timeout, k)
	}
	return fmt.Errorf("sqlite: waiting for the lock on %v: %w", k, err)
}

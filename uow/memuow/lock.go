package memuow

import (
	"context"
	"errors"
	"fmt"

	"github.com/dddkit/ddd/internal/locktable"
	"github.com/dddkit/ddd/uow/driver"
)

// lockSpace keeps row locks and keyed locks apart: a key never collides with a row.
type lockSpace uint8

const (
	rowLock lockSpace = iota + 1
	keyLock
)

// lockKey names one lock of the Driver's lock table: a row (kind, id) or a key (id).
type lockKey struct {
	space lockSpace
	kind  string
	id    string
}

func rowKey(kind, id string) lockKey { return lockKey{space: rowLock, kind: kind, id: id} }

func keyKey(key string) lockKey { return lockKey{space: keyLock, id: key} }

func (k lockKey) String() string {
	if k.space == keyLock {
		return fmt.Sprintf("key %q", k.id)
	}
	return fmt.Sprintf("%s %q", k.kind, k.id)
}

// lock takes k for tx in the Driver's lock table, waiting while another transaction holds it.
// The wait ends with an error wrapping ctx.Err() when ctx is done, and with one wrapping
// driver.ErrConflict when it would close a deadlock or lasts longer than the lock timeout.
func (tx *Tx) lock(ctx context.Context, k lockKey) error {
	timeout := tx.d.timeout()
	err := tx.d.locks.Acquire(ctx, tx, k, timeout)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, locktable.ErrDeadlock):
		return fmt.Errorf("%w: deadlock detected waiting for the lock on %v", driver.ErrConflict, k)
	case errors.Is(err, locktable.ErrTimeout):
		return fmt.Errorf("%w: lock wait timeout (%v) exceeded on %v", driver.ErrConflict, timeout, k)
	}
	return fmt.Errorf("memuow: waiting for the lock on %v: %w", k, err)
}

package memuow_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/memuow"
)

// seeded returns a driver with account a and b at version 1.
func seeded(t *testing.T, opts *memuow.Options) *memuow.Driver {
	t.Helper()
	d := memuow.New(opts)
	require.NoError(t, commit(t, d, writes(ins("account", "a", `{"n":1}`), ins("account", "b", `{"n":1}`))))
	return d
}

// lockA returns a transaction holding the row lock of account a.
func lockA(t *testing.T, d *memuow.Driver) *memuow.Tx {
	t.Helper()
	tx := begin(t, d)
	recs, err := tx.Load(t.Context(), "account", []string{"a"}, uow.ForUpdate)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	return tx
}

// waiters are operations of a second transaction that wait for the row lock of account a.
var waiters = []struct {
	name string
	op   func(context.Context, *memuow.Tx) error
}{
	{"for-update load", func(ctx context.Context, tx *memuow.Tx) error {
		_, err := tx.Load(ctx, "account", []string{"b", "a"}, uow.ForUpdate)
		return err
	}},
	{"commit of an update", func(ctx context.Context, tx *memuow.Tx) error {
		return tx.Commit(ctx, writes(upd("account", "a", 1, `{"n":2}`)))
	}},
	{"commit of a delete", func(ctx context.Context, tx *memuow.Tx) error {
		return tx.Commit(ctx, writes(del("account", "a", 1)))
	}},
	{"commit of an insert", func(ctx context.Context, tx *memuow.Tx) error {
		return tx.Commit(ctx, writes(ins("account", "c", `{}`), ins("account", "a", `{}`)))
	}},
}

func TestForUpdateBlocks(t *testing.T) {
	ends := []struct {
		name string
		end  func(context.Context, *memuow.Tx) error
	}{
		{"rollback", func(ctx context.Context, tx *memuow.Tx) error { return tx.Rollback(ctx) }},
		{"commit", func(ctx context.Context, tx *memuow.Tx) error { return tx.Commit(ctx, nil) }},
		{"failed commit", func(ctx context.Context, tx *memuow.Tx) error {
			if err := tx.Commit(ctx, writes(upd("account", "a", 7, `{}`))); !errors.Is(err, uow.ErrConflict) {
				return errors.New("the commit did not fail")
			}
			return nil
		}},
	}
	for _, w := range waiters {
		for _, end := range ends {
			t.Run(w.name+"/until "+end.name, func(t *testing.T) {
				d := seeded(t, nil)
				holder := lockA(t, d)
				waiter := begin(t, d)
				done := async(func() error { return w.op(t.Context(), waiter) })
				requireBlocked(t, done)

				require.NoError(t, end.end(t.Context(), holder))
				err := await(t, done)
				if w.name == "commit of an insert" {
					require.ErrorIs(t, err, uow.ErrDuplicate)
				} else {
					require.NoError(t, err)
				}
				require.NoError(t, waiter.Rollback(t.Context()))
			})
		}
	}
}

func TestOtherRowsDoNotBlock(t *testing.T) {
	ctx := t.Context()
	d := seeded(t, nil)
	holder := lockA(t, d)

	tx := begin(t, d)
	recs, err := tx.Load(ctx, "account", []string{"a"}, uow.Optimistic)
	require.NoError(t, err, "an optimistic load takes no lock")
	require.Len(t, recs, 1)
	_, err = tx.Load(ctx, "account", []string{"b"}, uow.ForUpdate)
	require.NoError(t, err)
	_, err = tx.Load(ctx, "order", []string{"a"}, uow.ForUpdate)
	require.NoError(t, err)
	require.NoError(t, tx.LockKeys(ctx, []string{"a", "account", `account "a"`}), "keys do not collide with rows")
	require.NoError(t, tx.Commit(ctx, writes(upd("account", "b", 1, `{}`), ins("order", "a", `{}`))))
	require.NoError(t, holder.Rollback(ctx))
}

func TestForUpdateMissingRowTakesNoLock(t *testing.T) {
	ctx := t.Context()
	d := seeded(t, nil)
	tx := begin(t, d)
	recs, err := tx.Load(ctx, "account", []string{"x"}, uow.ForUpdate)
	require.NoError(t, err)
	require.Empty(t, recs)

	require.NoError(t, commit(t, d, writes(ins("account", "x", `{}`))), "the insert does not wait")
	require.NoError(t, tx.Rollback(ctx))
}

func TestForUpdateReadsAfterTheWait(t *testing.T) {
	ctx := t.Context()
	d := seeded(t, nil)
	holder := lockA(t, d)

	waiter := begin(t, d)
	var recs []driver.Record
	done := async(func() error {
		var err error
		recs, err = waiter.Load(ctx, "account", []string{"a", "b"}, uow.ForUpdate)
		return err
	})
	requireBlocked(t, done)
	require.NoError(t, holder.Commit(ctx, writes(upd("account", "a", 1, `{"n":2}`), del("account", "b", 1))))
	require.NoError(t, await(t, done))
	require.Equal(t, []driver.Record{rec("account", "a", 2, `{"n":2}`)}, recs, "the latest data, without the deleted row")
}

func TestForUpdateReturnsOnlyLockedRows(t *testing.T) {
	ctx := t.Context()
	d := seeded(t, nil)
	holder := begin(t, d)
	_, err := holder.Load(ctx, "account", []string{"b"}, uow.ForUpdate)
	require.NoError(t, err)

	// The waiter finds no record 0 (not locked), then waits for b; meanwhile 0 is inserted.
	waiter := begin(t, d)
	var recs []driver.Record
	done := async(func() error {
		var err error
		recs, err = waiter.Load(ctx, "account", []string{"b", "0"}, uow.ForUpdate)
		return err
	})
	requireBlocked(t, done)
	require.NoError(t, holder.Commit(ctx, writes(ins("account", "0", `{}`), upd("account", "b", 1, `{"n":2}`))))
	require.NoError(t, await(t, done))
	require.Equal(t, []driver.Record{rec("account", "b", 2, `{"n":2}`)}, recs, "like a statement snapshot, 0 is not seen")

	// 0 is not locked by the waiter.
	require.NoError(t, commit(t, d, writes(upd("account", "0", 1, `{}`))))
	require.NoError(t, waiter.Rollback(ctx))
}

func TestLocksAreReentrant(t *testing.T) {
	ctx := t.Context()
	d := seeded(t, nil)
	tx := lockA(t, d)
	_, err := tx.Load(ctx, "account", []string{"a"}, uow.ForUpdate)
	require.NoError(t, err)
	require.NoError(t, tx.LockKeys(ctx, []string{"k"}))
	require.NoError(t, tx.LockKeys(ctx, []string{"k", "j"}))
	require.NoError(t, tx.Commit(ctx, writes(upd("account", "a", 1, `{}`))), "the commit takes its own lock again")

	tx = begin(t, d)
	require.NoError(t, tx.LockKeys(ctx, []string{"k", "j"}), "the commit released every lock")
	require.NoError(t, tx.Rollback(ctx))
}

func TestKeyedLocks(t *testing.T) {
	ctx := t.Context()
	d := memuow.New(nil)
	holder := begin(t, d)
	require.NoError(t, holder.LockKeys(ctx, []string{"k2", "k1", "k1"}))

	waiter := begin(t, d)
	done := async(func() error { return waiter.LockKeys(ctx, []string{"k0", "k2"}) })
	requireBlocked(t, done)

	other := begin(t, d)
	require.NoError(t, other.LockKeys(ctx, []string{"k3"}), "other keys are free")
	require.NoError(t, other.Rollback(ctx))

	require.NoError(t, holder.Commit(ctx, nil))
	require.NoError(t, await(t, done))

	// The waiter took k0 before it waited; it holds both now.
	third := begin(t, d)
	done = async(func() error { return third.LockKeys(ctx, []string{"k0"}) })
	requireBlocked(t, done)
	require.NoError(t, waiter.Rollback(ctx))
	require.NoError(t, await(t, done))
	require.NoError(t, third.Rollback(ctx))
}

func TestLockTimeout(t *testing.T) {
	const timeout = 30 * time.Millisecond
	for _, w := range append(waiters[:len(waiters):len(waiters)], struct {
		name string
		op   func(context.Context, *memuow.Tx) error
	}{"lock keys", func(ctx context.Context, tx *memuow.Tx) error { return tx.LockKeys(ctx, []string{"k"}) }}) {
		t.Run(w.name, func(t *testing.T) {
			d := seeded(t, &memuow.Options{LockTimeout: timeout})
			holder := lockA(t, d)
			require.NoError(t, holder.LockKeys(t.Context(), []string{"k"}))

			waiter := begin(t, d)
			start := time.Now()
			err := w.op(t.Context(), waiter)
			require.ErrorIs(t, err, uow.ErrConflict)
			require.ErrorContains(t, err, "lock wait timeout")
			require.GreaterOrEqual(t, time.Since(start), timeout)
			require.NoError(t, waiter.Rollback(t.Context()))

			r, _ := d.Get("account", "a")
			require.Equal(t, rec("account", "a", 1, `{"n":1}`), r, "nothing was written")
			require.NoError(t, holder.Rollback(t.Context()))
		})
	}
}

func TestLockWaitHonoursContext(t *testing.T) {
	for _, w := range waiters {
		t.Run(w.name, func(t *testing.T) {
			d := seeded(t, nil)
			holder := lockA(t, d)
			waiter := begin(t, d)
			ctx, cancel := context.WithCancel(t.Context())
			done := async(func() error { return w.op(ctx, waiter) })
			requireBlocked(t, done)

			cancel()
			err := await(t, done)
			require.ErrorIs(t, err, context.Canceled)
			require.NotErrorIs(t, err, uow.ErrConflict)
			require.NoError(t, waiter.Rollback(t.Context()))
			require.NoError(t, holder.Rollback(t.Context()))
		})
	}

	t.Run("deadline", func(t *testing.T) {
		d := memuow.New(nil)
		holder := begin(t, d)
		require.NoError(t, holder.LockKeys(t.Context(), []string{"k"}))
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		err := begin(t, d).LockKeys(ctx, []string{"k"})
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

func TestFailedWaitKeepsEarlierLocksUntilTheEnd(t *testing.T) {
	ctx := t.Context()
	d := seeded(t, &memuow.Options{LockTimeout: 20 * time.Millisecond})
	holder := begin(t, d)
	_, err := holder.Load(ctx, "account", []string{"b"}, uow.ForUpdate)
	require.NoError(t, err)

	tx := begin(t, d)
	_, err = tx.Load(ctx, "account", []string{"a", "b"}, uow.ForUpdate)
	require.ErrorIs(t, err, uow.ErrConflict)

	_, err = begin(t, d).Load(ctx, "account", []string{"a"}, uow.ForUpdate)
	require.ErrorIs(t, err, uow.ErrConflict, "a stays locked")
	require.NoError(t, tx.Rollback(ctx))
	_, err = begin(t, d).Load(ctx, "account", []string{"a"}, uow.ForUpdate)
	require.NoError(t, err)
}

func TestDeadlockIsAConflict(t *testing.T) {
	ctx := t.Context()
	d := seeded(t, nil) // the default timeout of 2s: the deadlock is found at once
	t1 := lockA(t, d)
	t2 := begin(t, d)
	_, err := t2.Load(ctx, "account", []string{"b"}, uow.ForUpdate)
	require.NoError(t, err)

	done := async(func() error {
		_, err := t1.Load(ctx, "account", []string{"b"}, uow.ForUpdate)
		return err
	})
	requireBlocked(t, done)

	start := time.Now()
	err = t2.Commit(ctx, writes(upd("account", "a", 1, `{}`)))
	require.ErrorIs(t, err, uow.ErrConflict)
	require.ErrorContains(t, err, "deadlock")
	require.Less(t, time.Since(start), time.Second)

	require.NoError(t, await(t, done), "t2's failed commit released its locks")
	require.NoError(t, t1.Commit(ctx, writes(upd("account", "b", 1, `{"n":5}`))))
}

func TestDeadlockThroughThreeTransactions(t *testing.T) {
	ctx := t.Context()
	d := memuow.New(nil)
	txs := make([]*memuow.Tx, 3)
	keys := []string{"k0", "k1", "k2"}
	for i := range txs {
		txs[i] = begin(t, d)
		require.NoError(t, txs[i].LockKeys(ctx, keys[i:i+1]))
	}
	d0 := async(func() error { return txs[0].LockKeys(ctx, []string{"k1"}) })
	requireBlocked(t, d0)
	d1 := async(func() error { return txs[1].LockKeys(ctx, []string{"k2"}) })
	requireBlocked(t, d1)

	err := txs[2].LockKeys(ctx, []string{"k0"})
	require.ErrorIs(t, err, uow.ErrConflict)
	require.ErrorContains(t, err, "deadlock")

	require.NoError(t, txs[2].Rollback(ctx))
	require.NoError(t, await(t, d1))
	require.NoError(t, txs[1].Rollback(ctx))
	require.NoError(t, await(t, d0))
	require.NoError(t, txs[0].Rollback(ctx))
}

package uow_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/memuow"
)

// The unit's side of joining a caller's transaction (Store.Join, DoIn, TxOf), on a fake Joiner
// over memuow: the SQL drivers' joins are checked by uowtest's clause Join.

// callerTx is the fake native transaction of joiner: it records how the units joined to it
// ended; with gone set, their rollbacks fail (as when the backend ended the transaction).
type callerTx struct {
	ends []string
	gone bool
}

// joiner is a memuow driver that joins *callerTx values: each join runs a memuow transaction of
// its own, whose Native is the caller's transaction.
type joiner struct{ *memuow.Driver }

func (j joiner) Join(ctx context.Context, native any) (driver.Tx, error) {
	c, ok := native.(*callerTx)
	if !ok {
		return nil, fmt.Errorf("%w: want a *callerTx, got %T", driver.ErrInvalid, native)
	}
	tx, err := j.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return &joinedTx{Tx: tx.(*memuow.Tx), c: c}, nil
}

type joinedTx struct {
	*memuow.Tx
	c *callerTx
}

func (t *joinedTx) Commit(ctx context.Context, ch *driver.Changes) error {
	err := t.Tx.Commit(ctx, ch)
	t.c.ends = append(t.c.ends, fmt.Sprintf("commit: %v", err))
	return err
}

func (t *joinedTx) Rollback(ctx context.Context) error {
	t.c.ends = append(t.c.ends, "rollback")
	if err := t.Tx.Rollback(ctx); err != nil || !t.c.gone {
		return err
	}
	return errors.New("savepoint does not exist")
}

func (t *joinedTx) Native() any { return t.c }

func newJoinStore(t *testing.T) *uow.Store {
	t.Helper()
	s := uow.NewStore(joiner{memuow.New(nil)}, nil)
	seed(context.Background(), s)
	return s
}

func TestJoinUnsupported(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	_, err := s.Join(ctx, &callerTx{})
	require.ErrorIs(t, err, uow.ErrUnsupported)
	called := false
	err = uow.DoIn(ctx, s, &callerTx{}, func(context.Context, *uow.Unit) error { called = true; return nil })
	require.ErrorIs(t, err, uow.ErrUnsupported)
	require.False(t, called, "DoIn ran fn without a unit")
}

func TestJoin(t *testing.T) {
	ctx := context.Background()
	s := newJoinStore(t)
	_, err := s.Join(ctx, "not a transaction")
	require.ErrorIs(t, err, uow.ErrInvalid)

	c := &callerTx{}
	u, err := s.Join(ctx, c)
	require.NoError(t, err)
	got, err := uow.TxOf[*callerTx](u)
	require.NoError(t, err)
	require.Same(t, c, got, "TxOf of a joined unit returns the joined transaction")
	alice, err := uow.Repo[Account, AccountID](u).Get(ctx, "alice")
	require.NoError(t, err)
	alice.Credit(1)
	require.NoError(t, u.Commit(ctx))
	require.Equal(t, []string{"commit: <nil>"}, c.ends)
	require.Equal(t, int64(2), alice.Version())
}

func TestDoInDoesNotRetryConflicts(t *testing.T) {
	ctx := context.Background()
	s := newJoinStore(t)
	c := &callerTx{}
	calls := 0
	err := uow.DoIn(ctx, s, c, func(ctx context.Context, u *uow.Unit) error {
		calls++
		alice, err := uow.Repo[Account, AccountID](u).Get(ctx, "alice")
		if err != nil {
			return err
		}
		alice.Credit(1)
		return Transfer(ctx, s, "alice", "bob", 1) // a concurrent change of alice
	})
	require.ErrorIs(t, err, uow.ErrConflict)
	require.Contains(t, err.Error(), "roll the transaction back and run it again")
	require.Equal(t, 1, calls, "DoIn retried a conflict")
	require.Len(t, c.ends, 1)
	require.Contains(t, c.ends[0], "conflict")
}

func TestDoInEndsTheUnit(t *testing.T) {
	ctx := context.Background()
	s := newJoinStore(t)
	change := func(ctx context.Context, u *uow.Unit) {
		alice, err := uow.Repo[Account, AccountID](u).Get(ctx, "alice")
		require.NoError(t, err)
		alice.Credit(5)
	}

	c := &callerTx{}
	require.NoError(t, uow.DoIn(ctx, s, c, func(ctx context.Context, u *uow.Unit) error { change(ctx, u); return nil }))
	require.Equal(t, []string{"commit: <nil>"}, c.ends)

	c = &callerTx{}
	err := uow.DoIn(ctx, s, c, func(ctx context.Context, u *uow.Unit) error { change(ctx, u); return ErrInsufficientFunds })
	require.ErrorIs(t, err, ErrInsufficientFunds)
	require.NotContains(t, err.Error(), "run it again", "only conflicts say to retry")
	require.Equal(t, []string{"rollback"}, c.ends)

	c = &callerTx{}
	require.PanicsWithValue(t, "boom", func() {
		_ = uow.DoIn(ctx, s, c, func(ctx context.Context, u *uow.Unit) error { change(ctx, u); panic("boom") })
	})
	require.Equal(t, []string{"rollback"}, c.ends)

	c = &callerTx{}
	cctx, cancel := context.WithCancel(ctx)
	err = uow.DoIn(cctx, s, c, func(ctx context.Context, u *uow.Unit) error { change(ctx, u); cancel(); return nil })
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, []string{"rollback"}, c.ends)

	require.Equal(t, "alice=105(v2) bob=20(v1)", balances(ctx, s), "only the first DoIn committed")
}

func TestDoInReportsAFailedUndo(t *testing.T) {
	ctx := context.Background()
	s := newJoinStore(t)
	c := &callerTx{gone: true}
	err := uow.DoIn(ctx, s, c, func(context.Context, *uow.Unit) error {
		return fmt.Errorf("deadlock: %w", uow.ErrConflict)
	})
	require.ErrorIs(t, err, uow.ErrConflict)
	require.Contains(t, err.Error(), "undoing the unit in your transaction failed too")
	require.Contains(t, err.Error(), "savepoint does not exist")
}

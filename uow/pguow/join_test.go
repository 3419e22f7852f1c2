package pguow_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/pguow"
)

// What joining a caller's pgx.Tx does on PostgreSQL beyond uowtest's Join clauses: the
// lock_timeout of the unit, the aborted state a failed statement leaves, notifications, keyed
// locks.

// beginCaller begins a transaction of the test's own on d's pool, rolled back when the test ends
// unless it ended.
func beginCaller(t *testing.T, d *pguow.Driver) pgx.Tx {
	t.Helper()
	tx, err := d.Pool().Begin(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	return tx
}

// lockTimeout returns the lock_timeout in force in tx.
func lockTimeout(t *testing.T, tx pgx.Tx) string {
	t.Helper()
	var v string
	require.NoError(t, tx.QueryRow(t.Context(), "SHOW lock_timeout").Scan(&v))
	return v
}

// TestJoinLockTimeout: Options.LockTimeout bounds the lock waits of a joined unit and of nothing
// else: the caller's transaction has its own lock_timeout back once the unit committed or
// rolled back. A lock timeout inside the unit aborts the caller's transaction (PostgreSQL
// refuses every statement after it) until the unit rolls back to its savepoint; then the
// caller's statements run again and its commit keeps the earlier unit's writes.
func TestJoinLockTimeout(t *testing.T) {
	ctx := t.Context()
	d := newDriver(t, &pguow.Options{LockTimeout: 150 * time.Millisecond})
	store := uow.NewStore(d, nil)
	seed(t, store, "a", "b")

	tx := beginCaller(t, d)
	require.Equal(t, "0", lockTimeout(t, tx), "the server's default")
	require.NoError(t, uow.DoIn(ctx, store, tx, func(ctx context.Context, u *uow.Unit) error {
		require.Equal(t, "150ms", lockTimeout(t, tx), "inside the joined unit")
		return credit("a", 1)(ctx, u)
	}))
	require.Equal(t, "0", lockTimeout(t, tx), "after a joined unit committed")
	_, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '7s'")
	require.NoError(t, err)

	holder := begin(t, store)
	_, err = uow.Repo[Account, string](holder).GetForUpdate(ctx, "b")
	require.NoError(t, err)
	start := time.Now()
	err = uow.DoIn(ctx, store, tx, func(ctx context.Context, u *uow.Unit) error {
		_, err := uow.Repo[Account, string](u).GetForUpdate(ctx, "b")
		var pe *pgconn.PgError
		_, aborted := tx.Exec(ctx, "SELECT 1")
		if !errors.As(aborted, &pe) || pe.Code != "25P02" {
			t.Errorf("a statement after the unit's lock timeout, before its rollback: %v, want 25P02 (in_failed_sql_transaction)", aborted)
		}
		return err
	})
	require.ErrorIs(t, err, uow.ErrConflict, "the joined unit's lock wait timed out")
	var pe *pgconn.PgError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "55P03", pe.Code)
	require.Less(t, time.Since(start), 5*time.Second, "Options.LockTimeout bounded the joined unit's wait")
	require.Equal(t, "7s", lockTimeout(t, tx), "after a joined unit rolled back: the caller's SET LOCAL")
	require.NoError(t, holder.Rollback(ctx))

	require.NoError(t, tx.Commit(ctx))
	bal, v := balance(t, store, "a")
	require.Equal(t, int64(11), bal)
	require.Equal(t, int64(2), v)
}

// TestJoinNotifies: a joined unit that stores messages wakes listening relays when the caller
// commits, not before, and not at all when the caller rolls back.
func TestJoinNotifies(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	d := newDriver(t, nil)
	store := uow.NewStore(d, nil)
	wake := d.Listen(ctx)
	select {
	case <-wake: // the first signal once LISTEN is in place
	case <-time.After(10 * time.Second):
		t.Fatal("no signal once listening")
	}
	emit := func(ctx context.Context, u *uow.Unit) error {
		return u.Emit(uow.Message{Topic: "t", Key: "k", Name: "n"})
	}
	quiet := func(what string) {
		t.Helper()
		select {
		case <-wake:
			t.Fatalf("woken %s", what)
		case <-time.After(200 * time.Millisecond):
		}
	}

	tx := beginCaller(t, d)
	require.NoError(t, uow.DoIn(ctx, store, tx, emit))
	quiet("before the caller committed")
	require.NoError(t, tx.Rollback(ctx))
	quiet("after the caller rolled back")

	tx = beginCaller(t, d)
	require.NoError(t, uow.DoIn(ctx, store, tx, emit))
	require.NoError(t, tx.Commit(ctx))
	select {
	case <-wake:
	case <-time.After(10 * time.Second):
		t.Fatal("the caller's commit of a joined unit's message did not wake the listener")
	}
}

// TestJoinKeyedLocks: a joined unit's keyed locks (advisory locks of the transaction) are the
// caller's once the unit commits, held until the caller's transaction ends.
func TestJoinKeyedLocks(t *testing.T) {
	ctx := t.Context()
	d := newDriver(t, nil)
	store := uow.NewStore(d, nil)
	tx := beginCaller(t, d)
	require.NoError(t, uow.DoIn(ctx, store, tx, func(ctx context.Context, u *uow.Unit) error {
		return u.Lock(ctx, "k")
	}))

	other := make(chan error, 1)
	go func() {
		other <- uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error { return u.Lock(ctx, "k") }, nil)
	}()
	select {
	case err := <-other:
		t.Fatalf("another unit took key k (error %v) while the caller's transaction held it", err)
	case <-time.After(200 * time.Millisecond):
	}
	require.NoError(t, tx.Commit(ctx))
	select {
	case err := <-other:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the other unit did not get key k after the caller committed")
	}
}

// TestClassifyServerErrors: Classify on a real unique violation and a real lock timeout.
func TestClassifyServerErrors(t *testing.T) {
	ctx := t.Context()
	d := newDriver(t, nil)
	table := `"` + schemaOf(t, d) + `".t`
	_, err := d.Pool().Exec(ctx, "CREATE TABLE "+table+" (id INT PRIMARY KEY)")
	require.NoError(t, err)
	_, err = d.Pool().Exec(ctx, "INSERT INTO "+table+" (id) VALUES (1)")
	require.NoError(t, err)

	_, dup := d.Pool().Exec(ctx, "INSERT INTO "+table+" (id) VALUES (1)")
	got := pguow.Classify(dup)
	require.ErrorIs(t, got, uow.ErrDuplicate)
	require.NotErrorIs(t, got, uow.ErrConflict)
	var pe *pgconn.PgError
	require.ErrorAs(t, got, &pe, "the server's error stays in the chain")
	require.Equal(t, "23505", pe.Code)

	holder := beginCaller(t, d)
	_, err = holder.Exec(ctx, "SELECT id FROM "+table+" WHERE id = 1 FOR UPDATE")
	require.NoError(t, err)
	waiter := beginCaller(t, d)
	_, err = waiter.Exec(ctx, "SET LOCAL lock_timeout = '50ms'")
	require.NoError(t, err)
	_, timeout := waiter.Exec(ctx, "SELECT id FROM "+table+" WHERE id = 1 FOR UPDATE")
	got = pguow.Classify(timeout)
	require.ErrorIs(t, got, uow.ErrConflict)
	require.ErrorAs(t, got, &pe)
	require.Equal(t, "55P03", pe.Code)
	require.Equal(t, got, pguow.Classify(got), "classifying twice changes nothing")

	_, syntax := d.Pool().Exec(ctx, "SELEC 1")
	require.Error(t, syntax)
	require.Equal(t, syntax, pguow.Classify(syntax), "other errors are returned unchanged")
	require.NoError(t, pguow.Classify(nil))
}

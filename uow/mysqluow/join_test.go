package mysqluow_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/mysqluow"
)

// What joining a caller's *sql.Tx does on MySQL beyond uowtest's Join clauses, and Classify on
// errors the server really returns.

// callerRows returns the keys in the test's table caller, committed.
func callerRows(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "SELECT k FROM caller ORDER BY k")
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		require.NoError(t, rows.Scan(&k))
		out = append(out, k)
	}
	require.NoError(t, rows.Err())
	return out
}

// TestJoinKeyedLocksUnsupported: Unit.Lock in a joined unit is an error wrapping
// ErrUnsupported (named locks belong to the session); the caller's transaction stays usable.
func TestJoinKeyedLocksUnsupported(t *testing.T) {
	ctx := t.Context()
	d, db := newDriver(t, nil)
	store := uow.NewStore(d, nil)
	_, err := db.ExecContext(ctx, "CREATE TABLE caller (k VARCHAR(16) PRIMARY KEY)")
	require.NoError(t, err)

	tx, err := d.DB().BeginTx(ctx, nil)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }()
	_, err = tx.ExecContext(ctx, "INSERT INTO caller (k) VALUES ('before')")
	require.NoError(t, err)
	err = uow.DoIn(ctx, store, tx, func(ctx context.Context, u *uow.Unit) error { return u.Lock(ctx, "k") })
	require.ErrorIs(t, err, uow.ErrUnsupported)
	_, err = tx.ExecContext(ctx, "INSERT INTO caller (k) VALUES ('after')")
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
	require.Equal(t, []string{"after", "before"}, callerRows(t, db))
}

// TestJoinDeadlockVictim: when InnoDB picks the caller's transaction as a deadlock's victim, it
// rolls the whole transaction back: the joined unit cannot be undone alone, and DoIn's error
// says so besides wrapping ErrConflict. (InnoDB picks the transaction that changed fewer rows:
// the other one inserts some first.)
func TestJoinDeadlockVictim(t *testing.T) {
	ctx := t.Context()
	d, db := newDriver(t, nil)
	store := uow.NewStore(d, nil)
	seedCounter(t, store, "a")
	seedCounter(t, store, "b")
	_, err := db.ExecContext(ctx, "CREATE TABLE caller (k VARCHAR(16) PRIMARY KEY)")
	require.NoError(t, err)

	tx, err := d.DB().BeginTx(ctx, nil)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }()
	lockedA, lockedB := make(chan struct{}), make(chan struct{})
	joined := make(chan error, 1)
	go func() {
		joined <- uow.DoIn(ctx, store, tx, func(ctx context.Context, u *uow.Unit) error {
			if _, err := uow.Repo[counter, counterID](u).GetForUpdate(ctx, "a"); err != nil {
				return err
			}
			close(lockedA)
			<-lockedB
			_, err := uow.Repo[counter, counterID](u).GetForUpdate(ctx, "b")
			return err
		})
	}()
	<-lockedA

	other, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer func() { _ = other.Rollback() }()
	for _, k := range []string{"w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8"} {
		_, err := other.ExecContext(ctx, "INSERT INTO caller (k) VALUES (?)", k)
		require.NoError(t, err)
	}
	lockRow := func(id string) error {
		_, err := other.ExecContext(ctx, "SELECT id FROM ddd_aggregate WHERE kind = 'counter' AND id = ? FOR UPDATE", id)
		return err
	}
	require.NoError(t, lockRow("b"))
	close(lockedB)
	time.Sleep(200 * time.Millisecond) // the joined unit waits for b
	require.NoError(t, lockRow("a"), "the heavier transaction of the deadlock goes on")

	select {
	case err := <-joined:
		require.ErrorIs(t, err, uow.ErrConflict)
		var me *mysql.MySQLError
		require.ErrorAs(t, err, &me)
		require.EqualValues(t, 1213, me.Number)
		require.Contains(t, err.Error(), "undoing the unit in your transaction failed too")
	case <-time.After(30 * time.Second):
		t.Fatal("the joined unit did not return")
	}
	require.NoError(t, other.Commit())
}

// TestClassifyServerErrors: Classify on a real duplicate key and a real lock wait timeout.
func TestClassifyServerErrors(t *testing.T) {
	ctx := t.Context()
	_, db := newDatabase(t)
	_, err := db.ExecContext(ctx, "CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB")
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, "INSERT INTO t (id) VALUES (1)")
	require.NoError(t, err)

	_, dup := db.ExecContext(ctx, "INSERT INTO t (id) VALUES (1)")
	got := mysqluow.Classify(dup)
	require.ErrorIs(t, got, uow.ErrDuplicate)
	require.NotErrorIs(t, got, uow.ErrConflict)
	require.ErrorIs(t, got, dup, "the server's error stays in the chain")

	holder, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer func() { _ = holder.Rollback() }()
	_, err = holder.ExecContext(ctx, "SELECT id FROM t WHERE id = 1 FOR UPDATE")
	require.NoError(t, err)
	c, err := db.Conn(ctx)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.ExecContext(ctx, "SET SESSION innodb_lock_wait_timeout = 1")
	require.NoError(t, err)
	waiter, err := c.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer func() { _ = waiter.Rollback() }()
	_, timeout := waiter.ExecContext(ctx, "SELECT id FROM t WHERE id = 1 FOR UPDATE")
	got = mysqluow.Classify(timeout)
	require.ErrorIs(t, got, uow.ErrConflict)
	var me *mysql.MySQLError
	require.ErrorAs(t, got, &me)
	require.EqualValues(t, 1205, me.Number)

	_, syntax := db.ExecContext(ctx, "SELEC 1")
	require.Error(t, syntax)
	require.Equal(t, syntax, mysqluow.Classify(syntax), "other errors are returned unchanged")
	require.NoError(t, mysqluow.Classify(nil))
}

package sqliteuow_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"modernc.org/sqlite"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/sqliteuow"
)

// What joining a caller's *sql.Tx does on SQLite beyond uowtest's Join clauses, and Classify on
// errors SQLite really returns.

// TestJoinLocks: a joined unit takes none of the Driver's in-process locks, so a row another
// unit loaded ForUpdate does not make it wait: that unit's commit then meets the joined unit's
// change (ErrConflict) after the caller committed. Unit.Lock in a joined unit is an error
// wrapping ErrUnsupported, and the caller's transaction stays usable.
func TestJoinLocks(t *testing.T) {
	ctx := t.Context()
	d, _ := open(t, nil)
	store := uow.NewStore(d, nil)
	seed(t, store, "a")

	holder, err := store.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = holder.Rollback(context.Background()) }()
	c, err := uow.Repo[counter, counterID](holder).GetForUpdate(ctx, "a")
	require.NoError(t, err)
	c.Inc()

	tx, err := d.DB().BeginTx(ctx, nil)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }()
	joined := make(chan error, 1)
	go func() { joined <- uow.DoIn(ctx, store, tx, increment("a")) }()
	select {
	case err := <-joined:
		require.NoError(t, err, "a joined unit updating a row another unit loaded ForUpdate")
	case <-time.After(2 * time.Second):
		t.Fatal("a joined unit waited for the Driver's in-process row lock")
	}
	err = uow.DoIn(ctx, store, tx, func(ctx context.Context, u *uow.Unit) error { return u.Lock(ctx, "k") })
	require.ErrorIs(t, err, uow.ErrUnsupported)
	require.NoError(t, tx.Commit())

	require.ErrorIs(t, holder.Commit(ctx), uow.ErrConflict, "the ForUpdate holder, overtaken by the joined unit")
	n, v := state(t, store, "a")
	require.Equal(t, 1, n)
	require.Equal(t, int64(2), v)
}

// TestClassifyDatabaseErrors: Classify on a real primary key violation and a real SQLITE_BUSY
// (the write lock held by another connection past busy_timeout).
func TestClassifyDatabaseErrors(t *testing.T) {
	ctx := t.Context()
	d, path := open(t, nil)
	_, err := d.DB().ExecContext(ctx, "CREATE TABLE t (id INTEGER PRIMARY KEY)")
	require.NoError(t, err)
	_, err = d.DB().ExecContext(ctx, "INSERT INTO t (id) VALUES (1)")
	require.NoError(t, err)

	_, dup := d.DB().ExecContext(ctx, "INSERT INTO t (id) VALUES (1)")
	got := sqliteuow.Classify(dup)
	require.ErrorIs(t, got, uow.ErrDuplicate)
	require.NotErrorIs(t, got, uow.ErrConflict)
	var se *sqlite.Error
	require.ErrorAs(t, got, &se, "SQLite's error stays in the chain")

	holder, err := d.DB().BeginTx(ctx, nil) // BEGIN IMMEDIATE: the write lock
	require.NoError(t, err)
	defer func() { _ = holder.Rollback() }()
	impatient, err := sql.Open("sqlite", sqliteuow.DSN(path, &sqliteuow.Options{LockTimeout: time.Millisecond}))
	require.NoError(t, err)
	defer impatient.Close()
	_, busy := impatient.ExecContext(ctx, "INSERT INTO t (id) VALUES (2)")
	got = sqliteuow.Classify(busy)
	require.ErrorIs(t, got, uow.ErrConflict)
	require.ErrorAs(t, got, &se)

	_, syntax := d.DB().ExecContext(ctx, "SELEC 1")
	require.Error(t, syntax)
	require.Equal(t, syntax, sqliteuow.Classify(syntax), "other errors are returned unchanged")
	require.NoError(t, sqliteuow.Classify(nil))
}

package mysqluow_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/internal/testenv"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/mysqluow"
	"github.com/dddkit/ddd/uow/uowtest"
)

// newDatabase creates a database of its own for the test, dropped when it ends, and returns its
// DSN and a pool on it for the test's own statements.
func newDatabase(t testing.TB) (string, *sql.DB) {
	t.Helper()
	base := testenv.MySQL(t)
	cfg, err := mysql.ParseDSN(base)
	require.NoError(t, err)
	admin, err := sql.Open("mysql", base)
	require.NoError(t, err)
	name := testenv.Name("t_")
	_, err = admin.ExecContext(t.Context(), "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4")
	require.NoError(t, err, "creating the test database")
	cfg.DBName = name
	dsn := cfg.FormatDSN()
	db, err := sql.Open("mysql", dsn)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = db.Close()
		_, err := admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS `"+name+"`")
		_ = admin.Close()
		if err != nil {
			t.Errorf("dropping the test database %s: %v", name, err)
		}
	})
	return dsn, db
}

// open returns a Driver on dsn, closed when the test ends.
func open(t testing.TB, dsn string, opts *mysqluow.Options) *mysqluow.Driver {
	t.Helper()
	d, err := mysqluow.Open(t.Context(), dsn, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// newDriver returns a migrated Driver on a database of the test's own, and a pool on it.
func newDriver(t testing.TB, opts *mysqluow.Options) (*mysqluow.Driver, *sql.DB) {
	t.Helper()
	dsn, db := newDatabase(t)
	d := open(t, dsn, opts)
	require.NoError(t, d.Migrate(t.Context()))
	return d, db
}

func TestConformance(t *testing.T) {
	uowtest.Run(t, func(t *testing.T) driver.Driver {
		d, _ := newDriver(t, nil)
		return d
	})
}

func TestMigrate(t *testing.T) {
	ctx := t.Context()
	dsn, db := newDatabase(t)
	d := open(t, dsn, nil)

	// Two at once, then again: the second run and the loser of the race apply nothing.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() { errs[i] = d.Migrate(ctx) })
	}
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	require.NoError(t, d.Migrate(ctx))
	other := open(t, dsn, nil)
	require.NoError(t, other.Migrate(ctx), "another driver migrating a migrated store")

	var versions []string
	rows, err := db.QueryContext(ctx, "SELECT version, name FROM ddd_schema_migrations ORDER BY version")
	require.NoError(t, err)
	for rows.Next() {
		var v int
		var name string
		require.NoError(t, rows.Scan(&v, &name))
		versions = append(versions, fmt.Sprintf("%d %s", v, name))
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"1 0001_init.sql", "2 0002_relay.sql", "3 0003_outbox_lock.sql"}, versions)

	// A crash after 0002's and 0003's statements, before their versions were recorded (MySQL
	// commits DDL at once): the next Migrate runs them again, which find their work done.
	_, err = db.ExecContext(ctx, "DELETE FROM ddd_schema_migrations WHERE version >= 2")
	require.NoError(t, err)
	require.NoError(t, open(t, dsn, nil).Migrate(ctx))
	var cols int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE()"+
		" AND table_name = 'ddd_outbox' AND column_name IN ('attempts', 'retry_at', 'lease_owner', 'lease_until', 'parked_at', 'last_error')").Scan(&cols))
	require.Equal(t, 6, cols)
	var slots, lowest, highest int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*), MIN(slot), MAX(slot) FROM ddd_outbox_lock").Scan(&slots, &lowest, &highest))
	require.Equal(t, []int{65536, 0, 65535}, []int{slots, lowest, highest}, "the outbox key lock slots")

	// The store works.
	s := uow.NewStore(d, nil)
	require.NoError(t, uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
		return u.Emit(uow.Message{Topic: "t", Name: "n"})
	}, nil))
	require.Len(t, uowtest.Messages(t, d), 1)
}

func TestPrefix(t *testing.T) {
	ctx := t.Context()
	dsn, db := newDatabase(t)
	for _, bad := range []string{"x; DROP TABLE y", "App_", "1x", "x`y", strings.Repeat("x", 41)} {
		_, err := mysqluow.Open(ctx, dsn, &mysqluow.Options{Prefix: bad})
		require.Error(t, err, "Open with prefix %q", bad)
		_, err = mysqluow.New(db, &mysqluow.Options{Prefix: bad})
		require.Error(t, err, "New with prefix %q", bad)
	}

	// Two stores in one database, apart.
	plain := open(t, dsn, nil)
	app := open(t, dsn, &mysqluow.Options{Prefix: "app_"})
	require.NoError(t, plain.Migrate(ctx))
	require.NoError(t, app.Migrate(ctx))
	require.NoError(t, uow.Do(ctx, uow.NewStore(app, nil), func(ctx context.Context, u *uow.Unit) error {
		return u.Emit(uow.Message{Topic: "t", Name: "n"})
	}, nil))
	require.Len(t, uowtest.Messages(t, app), 1)
	require.Empty(t, uowtest.Messages(t, plain))
	var n int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM app_ddd_outbox").Scan(&n))
	require.Equal(t, 1, n)

	// New over a pool the caller owns: Close leaves it open.
	over, err := mysqluow.New(db, &mysqluow.Options{Prefix: "app_"})
	require.NoError(t, err)
	require.Len(t, uowtest.Messages(t, over), 1)
	require.NoError(t, over.Close())
	require.NoError(t, db.PingContext(ctx))
}

func TestUnmigrated(t *testing.T) {
	ctx := t.Context()
	dsn, _ := newDatabase(t)
	d := open(t, dsn, nil)
	err := uow.Do(ctx, uow.NewStore(d, nil), func(ctx context.Context, u *uow.Unit) error {
		_, err := uow.Repo[account, accountID](u).Get(ctx, "a")
		return err
	}, nil)
	require.Error(t, err)
	require.Contains(t, err.Error(), "Migrate")
	var me *mysql.MySQLError
	require.True(t, errors.As(err, &me), "the server's error is kept: %v", err)
	require.EqualValues(t, 1146, me.Number)
	require.False(t, errors.Is(err, uow.ErrConflict))
}

func TestTxOf(t *testing.T) {
	ctx := t.Context()
	d, _ := newDriver(t, nil)
	s := uow.NewStore(d, nil)
	u, err := s.Begin(ctx)
	require.NoError(t, err)
	tx, err := uow.TxOf[*sql.Tx](u)
	require.NoError(t, err)
	var id int64
	require.NoError(t, tx.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&id))
	require.NoError(t, u.Rollback(ctx))
	_, err = uow.TxOf[*sql.Tx](u)
	require.ErrorIs(t, err, uow.ErrUnitDone)
	_, err = uow.TxOf[*sql.Tx](nil)
	require.ErrorIs(t, err, uow.ErrInvalid)
}

// waitFor polls cond until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

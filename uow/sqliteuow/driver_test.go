package sqliteuow_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/sqliteuow"
	"github.com/dddkit/ddd/uow/uowtest"
)

func migrationVersions(t *testing.T, db *sql.DB, table string) []int {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "SELECT version FROM "+table+" ORDER BY version")
	require.NoError(t, err)
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v int
		require.NoError(t, rows.Scan(&v))
		out = append(out, v)
	}
	require.NoError(t, rows.Err())
	return out
}

func TestMigrateIdempotentAndVersioned(t *testing.T) {
	d, _ := open(t, nil)
	require.NoError(t, d.Migrate(t.Context()), "a second Migrate")
	require.Equal(t, []int{1, 2}, migrationVersions(t, d.DB(), "ddd_schema_migrations"))
}

func TestMigrateConcurrently(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	// Two goroutines on one Driver, and two Drivers (two processes, as far as SQLite can
	// tell) on one file, all migrating at once.
	var drivers []*sqliteuow.Driver
	for range 2 {
		d, err := sqliteuow.Open(t.Context(), path, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = d.Close() })
		drivers = append(drivers, d)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for _, d := range []*sqliteuow.Driver{drivers[0], drivers[0], drivers[1], drivers[1]} {
		wg.Go(func() { errs <- d.Migrate(t.Context()) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, []int{1, 2}, migrationVersions(t, drivers[0].DB(), "ddd_schema_migrations"))
	s := uow.NewStore(drivers[1], nil)
	seed(t, s, "x")
}

func TestPrefix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	a := openPath(t, path, &sqliteuow.Options{Prefix: "app_"})
	b := openPath(t, path, &sqliteuow.Options{Prefix: "other_"})
	plain := openPath(t, path, nil)
	seed(t, uow.NewStore(a, nil), "x")
	require.Equal(t, []int{1, 2}, migrationVersions(t, a.DB(), "app_ddd_schema_migrations"))
	for _, d := range []*sqliteuow.Driver{b, plain} {
		u, err := uow.NewStore(d, nil).Begin(t.Context())
		require.NoError(t, err)
		_, err = uow.Repo[counter, counterID](u).Get(t.Context(), "x")
		require.ErrorIs(t, err, uow.ErrNotFound, "a store with another prefix sees nothing of app_")
		require.NoError(t, u.Rollback(t.Context()))
	}
}

func TestInvalidPrefix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	for _, p := range []string{"x; DROP TABLE y", "App_", "1x", `x"`, "x-y"} {
		_, err := sqliteuow.Open(t.Context(), path, &sqliteuow.Options{Prefix: p})
		require.Error(t, err, "prefix %q", p)
		require.ErrorContains(t, err, "invalid table prefix")
	}
	db, err := sql.Open("sqlite", sqliteuow.DSN(path, nil))
	require.NoError(t, err)
	defer db.Close()
	_, err = sqliteuow.New(db, &sqliteuow.Options{Prefix: "x; DROP TABLE y"})
	require.ErrorContains(t, err, "invalid table prefix")
}

func TestInMemoryRefused(t *testing.T) {
	for _, p := range []string{":memory:", "file:x?mode=memory", ""} {
		_, err := sqliteuow.Open(t.Context(), p, nil)
		require.Error(t, err, p)
	}
}

func TestUnmigrated(t *testing.T) {
	d, err := sqliteuow.Open(t.Context(), filepath.Join(t.TempDir(), "store.db"), nil)
	require.NoError(t, err)
	defer d.Close()
	s := uow.NewStore(d, nil)
	err = uow.Do(t.Context(), s, increment("x"), nil)
	require.ErrorContains(t, err, "no such table")
	require.ErrorContains(t, err, "Migrate")
	err = uow.Do(t.Context(), s, func(ctx context.Context, u *uow.Unit) error {
		return uow.Repo[counter, counterID](u).Add(ctx, newCounter(t, "x"))
	}, nil)
	require.ErrorContains(t, err, "Migrate")
	// Nothing was created on first use.
	var n int
	require.NoError(t, d.DB().QueryRowContext(t.Context(), "SELECT count(*) FROM sqlite_master WHERE type = 'table'").Scan(&n))
	require.Zero(t, n)
}

func TestNewOverCallersPool(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	db, err := sql.Open("sqlite", sqliteuow.DSN(path, &sqliteuow.Options{LockTimeout: time.Second}))
	require.NoError(t, err)
	defer db.Close()
	d, err := sqliteuow.New(db, nil)
	require.NoError(t, err)
	require.NoError(t, d.Migrate(t.Context()))
	s := uow.NewStore(d, nil)
	seed(t, s, "x")
	require.NoError(t, uow.Do(t.Context(), s, increment("x"), nil))
	require.NoError(t, d.Close())
	require.NoError(t, db.PingContext(t.Context()), "Close leaves the caller's pool open")
	n, v := state(t, s, "x")
	require.Equal(t, 1, n)
	require.Equal(t, int64(2), v)
	var mode string
	require.NoError(t, db.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode))
	require.Equal(t, "wal", mode)
}

func TestPragmas(t *testing.T) {
	for _, c := range []struct {
		opts *sqliteuow.Options
		sync int
		busy int
	}{
		{nil, 2, 5000},
		{&sqliteuow.Options{SyncNormal: true, LockTimeout: 250 * time.Millisecond}, 1, 250},
	} {
		d, _ := open(t, c.opts)
		conn, err := d.DB().Conn(t.Context())
		require.NoError(t, err)
		var mode string
		var fk, sync, busy int
		require.NoError(t, conn.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode))
		require.NoError(t, conn.QueryRowContext(t.Context(), "PRAGMA foreign_keys").Scan(&fk))
		require.NoError(t, conn.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&sync))
		require.NoError(t, conn.QueryRowContext(t.Context(), "PRAGMA busy_timeout").Scan(&busy))
		require.NoError(t, conn.Close())
		require.Equal(t, "wal", mode)
		require.Equal(t, 1, fk)
		require.Equal(t, c.sync, sync)
		require.Equal(t, c.busy, busy)
	}
}

// A committed unit survives closing and reopening the file: records, versions and messages.
func TestReopenKeepsCommittedData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	d, err := sqliteuow.Open(t.Context(), path, nil)
	require.NoError(t, err)
	require.NoError(t, d.Migrate(t.Context()))
	s := uow.NewStore(d, nil)
	seed(t, s, "x")
	require.NoError(t, uow.Do(t.Context(), s, increment("x"), nil))
	at := time.Date(2031, 5, 6, 7, 8, 9, 123456000, time.UTC)
	require.NoError(t, uow.Do(t.Context(), s, func(ctx context.Context, u *uow.Unit) error {
		if err := u.Emit(uow.Message{Topic: "t", Key: "k", Name: "later", Payload: []byte(`{"a":1}`), CreatedAt: at, DeliverAfter: at.Add(time.Hour)}); err != nil {
			return err
		}
		return u.Emit(uow.Message{Topic: "t", Key: "k", Name: "bare", CreatedAt: at})
	}, nil))
	// A unit left open when the Driver closes stores nothing.
	u, err := s.Begin(t.Context())
	require.NoError(t, err)
	c, err := uow.Repo[counter, counterID](u).Get(t.Context(), "x")
	require.NoError(t, err)
	c.Inc()
	require.NoError(t, d.Close())
	require.Error(t, u.Commit(t.Context()), "a commit after Close")

	d = openPath(t, path, nil)
	s = uow.NewStore(d, nil)
	n, v := state(t, s, "x")
	require.Equal(t, 1, n)
	require.Equal(t, int64(2), v)
	msgs := uowtest.Messages(t, d)
	require.Len(t, msgs, 3)
	require.Equal(t, "test.incremented", msgs[0].Name)
	later, bare := msgs[1], msgs[2]
	require.Equal(t, "later", later.Name)
	require.JSONEq(t, `{"a":1}`, string(later.Payload))
	require.Equal(t, at, later.CreatedAt)
	require.Equal(t, at.Add(time.Hour), later.DeliverAfter)
	require.Equal(t, time.UTC, later.CreatedAt.Location())
	require.Nil(t, bare.Payload, "an empty payload is stored as NULL and read back as nil")
	require.True(t, bare.DeliverAfter.IsZero())
	require.NotNil(t, bare.Headers)
}

// Find's SQL pre-filter names fields with any characters, and compares JSON values exactly.
func TestFindFieldNames(t *testing.T) {
	d, _ := open(t, nil)
	ctx := t.Context()
	docs := map[string]string{
		"a": `{"a\"b":"v","x<y":"w","back\\slash":"s","n":1}`,
		"b": `{"a\"b":"other","x<y":"w","n":"1"}`,
		"c": `{"a\u0022b":"v","x\u003cy":"w","n":1.0}`,
	}
	var writes []driver.Write
	for _, id := range []string{"a", "b", "c"} {
		writes = append(writes, driver.Write{Op: driver.Insert, Record: driver.Record{Kind: "doc", ID: id, Data: []byte(docs[id])}})
	}
	tx, err := d.Begin(ctx)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx, &driver.Changes{Writes: writes}))

	tx, err = d.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	q := tx.(driver.Querier)
	for _, c := range []struct {
		where []uow.Field
		want  []string
	}{
		{[]uow.Field{{Name: `a"b`, Value: "v"}}, []string{"a", "c"}},
		{[]uow.Field{{Name: `x<y`, Value: "w"}}, []string{"a", "b", "c"}},
		{[]uow.Field{{Name: `back\slash`, Value: "s"}}, []string{"a"}},
		{[]uow.Field{{Name: "n", Value: 1}}, []string{"a", "c"}},
		{[]uow.Field{{Name: "n", Value: "1"}}, []string{"b"}},
		{[]uow.Field{{Name: `a"b`, Value: "v"}, {Name: "n", Value: 1}}, []string{"a", "c"}},
	} {
		recs, err := q.Find(ctx, "doc", c.where)
		require.NoError(t, err)
		var got []string
		for _, r := range recs {
			got = append(got, r.ID)
		}
		require.Equal(t, c.want, got, "Find(%v)", c.where)
	}
}

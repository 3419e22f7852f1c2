package pguow_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/internal/testenv"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/pguow"
	"github.com/dddkit/ddd/uow/uowtest"
)

func TestMigrateIdempotentAndVersioned(t *testing.T) {
	ctx := t.Context()
	d := openDriver(t, &pguow.Options{Prefix: "app_"})
	require.NoError(t, d.Migrate(ctx))
	require.NoError(t, d.Migrate(ctx), "a second Migrate does nothing")

	rows, err := d.Pool().Query(ctx, `SELECT version, name FROM `+tableName(t, d, "app_ddd_schema_migrations")+` ORDER BY version`)
	require.NoError(t, err)
	type applied struct {
		Version int
		Name    string
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[applied])
	require.NoError(t, err)
	require.Equal(t, []applied{{1, "0001_init.sql"}, {2, "0002_relay.sql"}, {3, "0003_outbox_fillfactor.sql"}, {4, "0004_outbox_key_collation.sql"}, {5, "0005_outbox_blocked.sql"}}, got)

	// The tables carry the prefix; nothing is created without it.
	var tables []string
	rows, err = d.Pool().Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, schemaOf(t, d))
	require.NoError(t, err)
	tables, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"app_ddd_aggregate", "app_ddd_inbox", "app_ddd_outbox", "app_ddd_schema_migrations"}, tables)
}

func TestMigrateConcurrently(t *testing.T) {
	ctx := t.Context()
	// Several drivers (as several processes would) migrate one new schema at once: the
	// advisory lock serialises them, so CREATE SCHEMA and the tables are made once.
	schema := testenv.Name("t_")
	var drivers []*pguow.Driver
	for range 4 {
		d, err := pguow.Open(ctx, dsn(t), &pguow.Options{Schema: schema})
		require.NoError(t, err)
		drivers = append(drivers, d)
	}
	t.Cleanup(func() {
		dropSchema(t, drivers[0], schema)
		for _, d := range drivers {
			d.Close()
		}
	})
	var wg sync.WaitGroup
	errs := make([]error, len(drivers))
	for i, d := range drivers {
		wg.Go(func() { errs[i] = d.Migrate(ctx) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	var n int
	require.NoError(t, drivers[0].Pool().QueryRow(ctx, `SELECT count(*) FROM "`+schema+`".ddd_schema_migrations`).Scan(&n))
	require.Equal(t, 5, n, "every migration recorded once")
	s := uow.NewStore(drivers[1], nil)
	seed(t, s, "a")
}

func TestInvalidNames(t *testing.T) {
	ctx := t.Context()
	for _, o := range []pguow.Options{
		{Schema: "x; DROP TABLE y"},
		{Prefix: "x; DROP TABLE y"},
		{Schema: `x"y`},
		{Schema: "Upper"},
		{Prefix: "1x_"},
		{Schema: strings.Repeat("s", 41)},
	} {
		_, err := pguow.Open(ctx, dsn(t), &o)
		require.ErrorIs(t, err, uow.ErrInvalid, "Open(%+v)", o)
		_, err = pguow.New(nil, &o)
		require.ErrorIs(t, err, uow.ErrInvalid)
	}
	_, err := pguow.Open(ctx, dsn(t), &pguow.Options{LockTimeout: -time.Second})
	require.ErrorIs(t, err, uow.ErrInvalid)
}

func TestUnmigrated(t *testing.T) {
	ctx := t.Context()
	d := openDriver(t, nil)
	s := uow.NewStore(d, nil)

	err := uow.Do(ctx, s, credit("a", 1), nil)
	require.ErrorContains(t, err, "call (*pguow.Driver).Migrate")
	require.ErrorContains(t, err, "SQLSTATE 42P01")
	_, err = d.Pending(ctx, 10)
	require.ErrorContains(t, err, "Migrate")
	_, err = d.PurgeInbox(ctx, time.Now())
	require.ErrorContains(t, err, "Migrate")

	// Nothing was created on the way, not even the schema.
	var n int
	require.NoError(t, d.Pool().QueryRow(ctx, `SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1`, schemaOf(t, d)).Scan(&n))
	require.Zero(t, n)
}

func TestLongNames(t *testing.T) {
	ctx := t.Context()
	schema := testenv.Name("t_") + strings.Repeat("s", 40-18)
	prefix := strings.Repeat("p", 39) + "_"
	d, err := pguow.Open(ctx, dsn(t), &pguow.Options{Schema: schema, Prefix: prefix})
	require.NoError(t, err)
	t.Cleanup(func() { dropSchema(t, d, schema); d.Close() })
	require.LessOrEqual(t, len(d.Channel()), 63, "a NOTIFY channel PostgreSQL accepts")
	require.NoError(t, d.Migrate(ctx))
	s := uow.NewStore(d, nil)
	seed(t, s, "a")
	require.NoError(t, uow.Do(ctx, s, credit("a", 1), nil), "a commit with a message notifies")
	require.Len(t, uowtest.Messages(t, d), 1)
}

func TestNotify(t *testing.T) {
	ctx := t.Context()
	d := newDriver(t, nil)
	s := uow.NewStore(d, nil)
	seed(t, s, "a")
	require.True(t, strings.HasPrefix(d.Channel(), "ddd_outbox_t_"), d.Channel())

	listener, err := pgx.Connect(ctx, dsn(t))
	require.NoError(t, err)
	defer listener.Close(context.Background())
	_, err = listener.Exec(ctx, `LISTEN "`+d.Channel()+`"`)
	require.NoError(t, err)
	notified := func() bool {
		wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		n, err := listener.WaitForNotification(wctx)
		if err != nil {
			return false
		}
		require.Equal(t, d.Channel(), n.Channel)
		return true
	}

	require.NoError(t, uow.Do(ctx, s, credit("a", 1), nil))
	require.True(t, notified(), "a commit with messages notifies")

	u := begin(t, s)
	require.NoError(t, credit("a", 1)(ctx, u))
	require.NoError(t, u.Rollback(ctx))
	require.NoError(t, uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
		_, err := u.MarkProcessed(ctx, "c", "m")
		return err
	}, nil))
	require.False(t, notified(), "neither a rollback nor a commit without messages notifies")
}

func TestLockTimeout(t *testing.T) {
	ctx := t.Context()
	d := newDriver(t, &pguow.Options{LockTimeout: 150 * time.Millisecond})
	s := uow.NewStore(d, nil)
	seed(t, s, "a")

	holder := begin(t, s)
	defer func() { _ = holder.Rollback(context.Background()) }()
	tx, err := uow.TxOf[pgx.Tx](holder)
	require.NoError(t, err)
	var setting string
	require.NoError(t, tx.QueryRow(ctx, "SHOW lock_timeout").Scan(&setting))
	require.Equal(t, "150ms", setting)
	_, err = uow.Repo[Account, string](holder).GetForUpdate(ctx, "a")
	require.NoError(t, err)
	require.NoError(t, holder.Lock(ctx, "k"))

	u := begin(t, s)
	start := time.Now()
	_, err = uow.Repo[Account, string](u).GetForUpdate(ctx, "a")
	require.ErrorIs(t, err, uow.ErrConflict, "a row lock wait that times out")
	require.ErrorContains(t, err, "55P03")
	require.Less(t, time.Since(start), 5*time.Second)
	require.NoError(t, u.Rollback(ctx))

	u = begin(t, s)
	require.ErrorIs(t, u.Lock(ctx, "k"), uow.ErrConflict, "a keyed lock wait that times out")
	require.NoError(t, u.Rollback(ctx))

	// SET LOCAL: the setting ends with the transaction.
	require.NoError(t, holder.Rollback(ctx))
	var conn string
	require.NoError(t, d.Pool().QueryRow(ctx, "SHOW lock_timeout").Scan(&conn))
	require.Equal(t, "0", conn)
}

func TestKeyedLocksAcrossPoolsAndApartAcrossStores(t *testing.T) {
	ctx := t.Context()
	d := newDriver(t, nil)
	// A second driver on the same schema, with its own pool: another process.
	other, err := pguow.Open(ctx, dsn(t), &pguow.Options{Schema: schemaOf(t, d)})
	require.NoError(t, err)
	defer other.Close()
	// A store in another schema of the same database.
	elsewhere := newDriver(t, nil)

	holder := begin(t, uow.NewStore(d, nil))
	require.NoError(t, holder.Lock(ctx, "account:alice"))

	u := begin(t, uow.NewStore(elsewhere, nil))
	require.NoError(t, u.Lock(ctx, "account:alice"), "another store's key does not wait")
	require.NoError(t, u.Rollback(ctx))

	u = begin(t, uow.NewStore(other, nil))
	locked := make(chan error, 1)
	go func() { locked <- u.Lock(ctx, "account:alice", "account:bob") }()
	select {
	case err := <-locked:
		t.Fatalf("Lock returned %v while another process holds the key", err)
	case <-time.After(100 * time.Millisecond):
	}
	require.NoError(t, holder.Commit(ctx))
	select {
	case err := <-locked:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Lock did not return after the holder committed")
	}
	require.NoError(t, u.Rollback(ctx))
}

func TestFind(t *testing.T) {
	ctx := t.Context()
	d := newDriver(t, nil)
	s := uow.NewStore(d, nil)
	require.NoError(t, uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
		r := uow.Repo[Account, string](u)
		for _, a := range []*Account{
			newAccount(t, "a", "Ann", 10), newAccount(t, "b", "Ann", 20), newAccount(t, "c", "Bob", 10),
			newAccount(t, "d", "O'Brien; DROP TABLE x", 10),
		} {
			if err := r.Add(ctx, a); err != nil {
				return err
			}
		}
		return nil
	}, nil))
	find := func(where ...uow.Field) []string {
		t.Helper()
		u, err := s.Begin(ctx)
		require.NoError(t, err)
		defer func() { require.NoError(t, u.Rollback(ctx)) }()
		got, err := uow.Repo[Account, string](u).Find(ctx, where...)
		require.NoError(t, err)
		ids := []string{}
		for _, a := range got {
			ids = append(ids, a.ID())
		}
		return ids
	}
	require.Equal(t, []string{"a", "b"}, find(uow.Field{Name: "owner", Value: "Ann"}), "SQL narrows by the string")
	require.Equal(t, []string{"a"}, find(uow.Field{Name: "owner", Value: "Ann"}, uow.Field{Name: "balance", Value: 10.0}),
		"jsonmatch decides numbers: 10.0 == 10")
	require.Equal(t, []string{"a", "c", "d"}, find(uow.Field{Name: "balance", Value: int64(10)}))
	require.Empty(t, find(uow.Field{Name: "balance", Value: "10"}), "a string is not a number")
	require.Equal(t, []string{"d"}, find(uow.Field{Name: "owner", Value: "O'Brien; DROP TABLE x"}), "values are bound")
	require.Empty(t, find(uow.Field{Name: "own'er", Value: "Ann"}), "field names are bound")
}

func TestTxOf(t *testing.T) {
	ctx := t.Context()
	d := newDriver(t, nil)
	s := uow.NewStore(d, nil)
	u := begin(t, s)
	tx, err := uow.TxOf[pgx.Tx](u)
	require.NoError(t, err)
	var one int
	require.NoError(t, tx.QueryRow(ctx, "SELECT 1").Scan(&one))
	require.NoError(t, u.Commit(ctx))
	_, err = uow.TxOf[pgx.Tx](u)
	require.ErrorIs(t, err, uow.ErrUnitDone)
}

// countingConn counts the client's writes: each round trip starts with one (pgconn buffers a
// message sequence, or a batch's pipeline, and flushes it in one write).
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// TestCommitRoundTrips counts round trips on the wire: a commit with N messages is one batch
// (record writes, one multi-row outbox INSERT, pg_notify) and COMMIT, once the connection has
// prepared the statements (the first commit of a shape takes one more round trip to prepare).
func TestCommitRoundTrips(t *testing.T) {
	ctx := t.Context()
	var writes atomic.Int64
	cfg, err := pgxpool.ParseConfig(dsn(t))
	require.NoError(t, err)
	cfg.MaxConns = 1
	dialer := &net.Dialer{}
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{Conn: c, writes: &writes}, nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	schema := testenv.Name("t_")
	d, err := pguow.New(pool, &pguow.Options{Schema: schema})
	require.NoError(t, err)
	t.Cleanup(func() { dropSchema(t, d, schema) })
	require.NoError(t, d.Migrate(ctx))
	s := uow.NewStore(d, nil)
	seed(t, s, "a", "b")

	// transfer is the transfer-shaped unit: load two aggregates, change both (two
	// events), plus n-2 emitted messages; it returns the round trips of each step.
	transfer := func(n int) (begin, load, commit int64) {
		t.Helper()
		count := func(f func() error) int64 {
			before := writes.Load()
			require.NoError(t, f())
			return writes.Load() - before
		}
		var u *uow.Unit
		begin = count(func() (err error) { u, err = s.Begin(ctx); return err })
		var accs []*Account
		load = count(func() (err error) { accs, err = uow.Repo[Account, string](u).GetMany(ctx, "a", "b"); return err })
		accs[0].Credit(-1)
		accs[1].Credit(1)
		for range n - 2 {
			require.NoError(t, u.Emit(uow.Message{Topic: "t", Key: "k", Name: "n", Payload: []byte(`{}`)}))
		}
		commit = count(func() error { return u.Commit(ctx) })
		return begin, load, commit
	}
	for _, n := range []int{2, 10, 100} {
		_, _, first := transfer(n)
		begin, load, commit := transfer(n)
		t.Logf("%d messages: begin %d, load %d, commit %d round trips (first commit of the shape: %d)", n, begin, load, commit, first)
		require.Equal(t, int64(1), begin)
		require.Equal(t, int64(1), load)
		require.Equal(t, int64(3), commit, "one batch, COMMIT, and the NOTIFY after it")
		require.Equal(t, int64(4), first, "prepare, batch, COMMIT, NOTIFY")
	}
	msgs := uowtest.Messages(t, d)
	require.Len(t, msgs, 2*(2+10+100))
}

// tableName returns the quoted, schema-qualified name of one of d's tables.
func tableName(t testing.TB, d *pguow.Driver, table string) string {
	return `"` + schemaOf(t, d) + `"."` + table + `"`
}

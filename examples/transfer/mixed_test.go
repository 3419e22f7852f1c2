package transfer_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/examples/transfer"
	"github.com/dddkit/ddd/examples/transfer/internal/teststore"
	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/mysqluow"
	"github.com/dddkit/ddd/uow/pguow"
)

// mixedWorkload runs transfers of all four strategies at once between a few hot accounts, in
// both directions, with deposits among them, the way a bank whose clients pick strategies does;
// every command must go through (conflicts are retried) and the books must balance after.
func mixedWorkload(t *testing.T, b *transfer.Bank) {
	t.Helper()
	ctx := t.Context()
	usd := money.MustLookup("USD")
	const accounts, goroutines, each = 4, 16, 80
	numbers := make([]transfer.AccountNumber, accounts)
	for i := range numbers {
		numbers[i] = transfer.AccountNumber(fmt.Sprintf("%012d", i+1))
		require.NoError(t, b.OpenAccount(ctx, numbers[i], usd))
		_, err := b.Deposit(ctx, transfer.DepositRequest{ID: transfer.DepositID(fmt.Sprint("seed-", i)), Account: numbers[i],
			Amount: money.MustParse("1000.00 USD")})
		require.NoError(t, err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), uint64(time.Now().UnixNano())))
			for i := range each {
				from, to := rng.IntN(accounts), rng.IntN(accounts-1)
				if to >= from {
					to++
				}
				var err error
				if rng.IntN(8) == 0 {
					_, err = b.Deposit(ctx, transfer.DepositRequest{ID: transfer.DepositID(fmt.Sprintf("d-%d-%d", g, i)),
						Account: numbers[to], Amount: money.MustParse("1.00 USD")})
				} else {
					s := transfer.Strategies()[rng.IntN(4)]
					_, err = b.Transfer(ctx, transfer.Request{Number: transfer.TransferNumber(fmt.Sprintf("t-%d-%d", g, i)),
						From: numbers[from], To: numbers[to], Amount: money.MustParse("0.25 USD")}, s)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	rec, err := b.Finder().Reconcile(ctx)
	require.NoError(t, err)
	require.True(t, rec.Balanced(), "the books after the mixed run: %+v", rec)
}

// TestMixedStrategiesNoDeadlockPostgres: the four strategies at once on hot accounts leave
// PostgreSQL's deadlock counter where it was. Pessimistic transfers lock the accounts in number
// order, eventual ones add to them in number order, and every commit writes its rows by kind
// and then ID and locks its message keys after them, so they all agree on one order: commands
// wait for each other but never deadlock (a deadlock stalls every client for deadlock_timeout).
// On a database of its own, whose counter no other test moves.
func TestMixedStrategiesNoDeadlockPostgres(t *testing.T) {
	ctx := t.Context()
	base := teststore.Service(t, "DDD_TEST_POSTGRES")
	admin, err := pgx.Connect(ctx, base)
	require.NoError(t, err)
	defer func() { _ = admin.Close(context.Background()) }()
	name := teststore.UniqueName()
	_, err = admin.Exec(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		require.NoError(t, err)
		defer func() { _ = c.Close(ctx) }()
		_, err = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		require.NoError(t, err)
	})
	cfg, err := pgx.ParseConfig(base)
	require.NoError(t, err)
	dsn := fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable&pool_max_conns=16", cfg.User, cfg.Host, cfg.Port, name)
	deadlocks := func() int64 {
		var n int64
		require.NoError(t, admin.QueryRow(ctx, "SELECT deadlocks FROM pg_stat_database WHERE datname = $1", name).Scan(&n))
		return n
	}

	d, err := pguow.Open(ctx, dsn, nil)
	require.NoError(t, err)
	require.NoError(t, transfer.Migrate(ctx, d))
	b, err := transfer.New(uow.NewStore(d, nil), nil)
	require.NoError(t, err)
	before := deadlocks()
	mixedWorkload(t, b)
	// A backend reports its statistics when it ends at the latest: end them, then read.
	d.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var n int
		require.NoError(t, admin.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", name).Scan(&n))
		if n == 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "the pool's backends did not end")
	}
	require.Equal(t, before, deadlocks(), "PostgreSQL's deadlock counter of the test's database moved")
}

// TestMixedStrategiesNoDeadlockMariaDB: the same on MariaDB, whose deadlock counter
// (Innodb_deadlocks) is server-wide: it must not move, unless the deadlock the server last
// detected is another test's, in another database.
func TestMixedStrategiesNoDeadlockMariaDB(t *testing.T) {
	ctx := t.Context()
	base := teststore.Service(t, "DDD_TEST_MYSQL")
	admin, err := sql.Open("mysql", base)
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.Close() }) // after the drop below
	name := teststore.UniqueName()
	_, err = admin.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4")
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS `"+name+"`")
		require.NoError(t, err)
	})
	cfg, err := mysql.ParseDSN(base)
	require.NoError(t, err)
	cfg.DBName = name
	deadlocks := func() int64 {
		var variable string
		var n int64
		require.NoError(t, admin.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Innodb_deadlocks'").Scan(&variable, &n))
		return n
	}

	d, err := mysqluow.Open(ctx, cfg.FormatDSN(), nil)
	require.NoError(t, err)
	defer func() { _ = d.Close() }()
	require.NoError(t, transfer.Migrate(ctx, d))
	b, err := transfer.New(uow.NewStore(d, nil), nil)
	require.NoError(t, err)
	before := deadlocks()
	mixedWorkload(t, b)
	if deadlocks() != before {
		var typ, where, status string
		require.NoError(t, admin.QueryRowContext(ctx, "SHOW ENGINE INNODB STATUS").Scan(&typ, &where, &status))
		_, latest, _ := strings.Cut(status, "LATEST DETECTED DEADLOCK")
		latest, _, _ = strings.Cut(latest, "\nTRANSACTIONS\n")
		require.NotContains(t, latest, "`"+name+"`", "the server's latest deadlock is in the test's database")
		t.Logf("Innodb_deadlocks moved, by a deadlock elsewhere on the server (another test's)")
	}
}

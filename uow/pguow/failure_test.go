package pguow_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/uowtest"
)

// TestKilledConnection: the server ends a unit's connection mid-transaction
// (pg_terminate_backend). Commit returns an error, nothing of the unit is stored, and the next Do
// on the same driver succeeds.
func TestKilledConnection(t *testing.T) {
	ctx := t.Context()
	d := newDriver(t, nil)
	s := uow.NewStore(d, nil)
	seed(t, s, "a")
	// Warm the pool with idle connections, which the next Do may pick.
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { assertNoError(t, uow.Do(ctx, s, credit("a", 0), &uow.DoOptions{MaxAttempts: 100})) })
	}
	wg.Wait()
	before := len(uowtest.Messages(t, d))

	u := begin(t, s)
	a, err := uow.Repo[Account, string](u).Get(ctx, "a")
	require.NoError(t, err)
	a.Credit(5) // a document update and an outbox message
	require.NoError(t, u.Emit(uow.Message{Topic: "t", Name: "n"}))
	pid := backendPID(t, u)
	var killed bool
	require.NoError(t, d.Pool().QueryRow(ctx, "SELECT pg_terminate_backend($1, 5000)", pid).Scan(&killed))
	require.True(t, killed)

	err = u.Commit(ctx)
	require.Error(t, err)
	t.Logf("Commit on a killed connection: %v", err)
	require.NoError(t, u.Rollback(ctx), "the unit is over")

	b, v := balance(t, s, "a")
	require.Equal(t, [2]int64{10, 4}, [2]int64{b, v}, "the update is not stored")
	require.Len(t, uowtest.Messages(t, d), before, "nor the outbox rows")

	require.NoError(t, uow.Do(ctx, s, credit("a", 1), nil), "the next Do succeeds")
	b, _ = balance(t, s, "a")
	require.Equal(t, int64(11), b)
}

// TestBeginSkipsBrokenConnections: every idle pooled connection was ended by the server (as in a
// restart or failover) too recently for the pool's ping-on-acquire: Begin drops them and
// succeeds on a new one.
func TestBeginSkipsBrokenConnections(t *testing.T) {
	ctx := t.Context()
	d := newDriver(t, nil)
	s := uow.NewStore(d, nil)
	seed(t, s, "a")
	var pids []int32
	var units []*uow.Unit
	for range 3 { // three units at once: three connections
		u := begin(t, s)
		units = append(units, u)
		pids = append(pids, backendPID(t, u))
	}
	for _, u := range units {
		require.NoError(t, u.Rollback(ctx))
	}
	admin, err := pgx.Connect(ctx, dsn(t))
	require.NoError(t, err)
	defer admin.Close(context.Background())
	start := time.Now()
	for _, pid := range pids {
		var killed bool
		require.NoError(t, admin.QueryRow(ctx, "SELECT pg_terminate_backend($1, 5000)", pid).Scan(&killed))
		require.True(t, killed)
	}
	require.Less(t, time.Since(start), time.Second, "quicker than the pool's ping of connections idle for 1s")
	require.NoError(t, uow.Do(ctx, s, credit("a", 1), nil))
}

// TestCancelledCommit: a commit waiting for a row lock another unit holds is cancelled through
// its context: it returns the context's error and rolls back (the server stops waiting at once),
// the lock holder commits, and nothing of the cancelled unit is stored.
func TestCancelledCommit(t *testing.T) {
	ctx := t.Context()
	d := newDriver(t, nil)
	s := uow.NewStore(d, nil)
	seed(t, s, "a")
	before := len(uowtest.Messages(t, d))

	holder := begin(t, s)
	h, err := uow.Repo[Account, string](holder).GetForUpdate(ctx, "a")
	require.NoError(t, err)
	h.Credit(1)

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	victim := begin(t, s)
	v, err := uow.Repo[Account, string](victim).Get(cctx, "a")
	require.NoError(t, err)
	v.Credit(100)
	require.NoError(t, uow.Repo[Account, string](victim).Add(cctx, newAccount(t, "b", "B", 1)))
	pid := backendPID(t, victim)
	done := make(chan error, 1)
	go func() { done <- victim.Commit(cctx) }()

	// state returns the victim's connection's state on the server; "self" when the query
	// runs on that connection (back in the pool, reused).
	state := func() (string, string) {
		var st, wait string
		require.NoError(t, d.Pool().QueryRow(ctx, "SELECT CASE WHEN pid = pg_backend_pid() THEN 'self' ELSE coalesce(state, '') END, "+
			"coalesce(wait_event_type, '') FROM pg_stat_activity WHERE pid = $1", pid).Scan(&st, &wait))
		return st, wait
	}
	eventually(t, 5*time.Second, "the commit waits for the row lock", func() (bool, error) {
		st, wait := state()
		return st == "active" && wait == "Lock", nil
	})
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
		t.Logf("cancelled commit: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("the cancelled commit did not return")
	}
	// The server stopped waiting and rolled back: the connection is idle (back in the pool),
	// not waiting nor in a transaction.
	eventually(t, 5*time.Second, "the victim's transaction ends on the server", func() (bool, error) {
		st, wait := state()
		return st == "idle" || st == "self", fmt.Errorf("state %q, waiting for %q", st, wait)
	})

	require.NoError(t, holder.Commit(ctx), "the lock holder commits")
	b, ver := balance(t, s, "a")
	require.Equal(t, [2]int64{11, 2}, [2]int64{b, ver})
	u := begin(t, s)
	_, err = uow.Repo[Account, string](u).Get(ctx, "b")
	require.ErrorIs(t, err, uow.ErrNotFound, "the cancelled unit's insert is not stored")
	require.NoError(t, u.Rollback(ctx))
	require.Len(t, uowtest.Messages(t, d), before+1, "only the holder's event is in the outbox")
}

// TestPoolRecoversAfterRestart restarts the PostgreSQL server, so it runs only when
// DDD_TEST_PG_RESTART=1 (CI runs it alone, after the other tests): a Do on the same driver
// succeeds once the server is back.
func TestPoolRecoversAfterRestart(t *testing.T) {
	if os.Getenv("DDD_TEST_PG_RESTART") != "1" {
		t.Skip("restarts the PostgreSQL server: set DDD_TEST_PG_RESTART=1 to run it (not alongside other tests)")
	}
	ctx := t.Context()
	d := newDriver(t, nil)
	s := uow.NewStore(d, nil)
	seed(t, s, "a")
	var wg sync.WaitGroup
	for range 4 { // several pooled connections, all about to break
		wg.Go(func() { assertNoError(t, uow.Do(ctx, s, credit("a", 1), &uow.DoOptions{MaxAttempts: 100})) })
	}
	wg.Wait()

	cfg, err := pgconn.ParseConfig(dsn(t))
	require.NoError(t, err)
	out, err := exec.CommandContext(ctx, "pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "restart").CombinedOutput()
	require.NoError(t, err, "pg_ctlcluster restart: %s", out)
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	eventually(t, 30*time.Second, "the server listens again", func() (bool, error) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false, err
		}
		return true, c.Close()
	})

	start := time.Now()
	attempts := 0
	for {
		attempts++
		err = uow.Do(ctx, s, credit("a", 1), nil)
		if err == nil {
			break
		}
		t.Logf("Do attempt %d after the restart: %v", attempts, err)
		require.Less(t, time.Since(start), 30*time.Second, "Do did not succeed within 30s of the restart")
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("Do succeeded after the restart at attempt %d, %v after the server listened", attempts, time.Since(start))
	b, _ := balance(t, s, "a")
	require.Equal(t, int64(15), b)
}

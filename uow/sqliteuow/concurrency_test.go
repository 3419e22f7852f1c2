package sqliteuow_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/sqliteuow"
	"github.com/dddkit/ddd/uow/uowtest"
)

var fastRetries = &uow.DoOptions{MaxAttempts: 10000, MinBackoff: 50 * time.Microsecond, MaxBackoff: 2 * time.Millisecond}

// hammer runs goroutines × each increments of counter id through Do, each goroutine on the
// store stores[g % len(stores)], and returns the errors Do returned.
func hammer(t *testing.T, stores []*uow.Store, goroutines, each int, id counterID) []error {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each)
	for g := range goroutines {
		s := stores[g%len(stores)]
		wg.Go(func() {
			for range each {
				errs <- uow.Do(t.Context(), s, increment(id), fastRetries)
			}
		})
	}
	wg.Wait()
	close(errs)
	var out []error
	for err := range errs {
		out = append(out, err)
	}
	return out
}

// Writers of one Driver queue for the write transaction in the process: optimistic
// increments lose no update, and no attempt meets SQLite's "database is locked".
func TestConcurrentIncrements(t *testing.T) {
	d, _ := open(t, nil)
	r := &recorder{Driver: d}
	s := uow.NewStore(r, nil)
	seed(t, s, "x")
	for _, err := range hammer(t, []*uow.Store{s}, 8, 25, "x") {
		require.NoError(t, err)
	}
	n, v := state(t, s, "x")
	require.Equal(t, 200, n)
	require.Equal(t, int64(201), v)
	errs := r.errors()
	requireNoBusy(t, errs...)
	for _, err := range errs {
		require.ErrorIs(t, err, uow.ErrConflict, "the only errors along the way are version conflicts")
	}
	t.Logf("%d conflicts retried", len(errs))
	require.Len(t, uowtest.Messages(t, d), 200)
}

// Two Drivers on one file stand for two processes: separate pools and lock tables, so their
// writers meet only at SQLite's write lock, where busy_timeout makes them wait.
func TestTwoDriversOneFile(t *testing.T) {
	d1, path := open(t, nil)
	d2 := openPath(t, path, nil)
	r1, r2 := &recorder{Driver: d1}, &recorder{Driver: d2}
	s1, s2 := uow.NewStore(r1, nil), uow.NewStore(r2, nil)
	seed(t, s1, "x")
	start := time.Now()
	for _, err := range hammer(t, []*uow.Store{s1, s2}, 8, 20, "x") {
		require.NoError(t, err)
	}
	t.Logf("160 increments over two Drivers took %v", time.Since(start))
	n, v := state(t, s2, "x")
	require.Equal(t, 160, n)
	require.Equal(t, int64(161), v)
	errs := append(r1.errors(), r2.errors()...)
	requireNoBusy(t, errs...)
	t.Logf("%d conflicts retried", len(errs))

	// Pessimistic units of both Drivers: the row lock is per Driver, the version check
	// catches the other's commits.
	seed(t, s1, "y")
	var wg sync.WaitGroup
	for i := range 4 {
		s := []*uow.Store{s1, s2}[i%2]
		wg.Go(func() {
			for range 10 {
				require.NoError(t, uow.Do(t.Context(), s, func(ctx context.Context, u *uow.Unit) error {
					c, err := uow.Repo[counter, counterID](u).GetForUpdate(ctx, "y")
					if err == nil {
						c.Inc()
					}
					return err
				}, fastRetries))
			}
		})
	}
	wg.Wait()
	n, _ = state(t, s1, "y")
	require.Equal(t, 40, n)
	requireNoBusy(t, append(r1.errors(), r2.errors()...)...)
}

// holdWriteLock begins a unit on d and takes its write transaction, held until the test ends
// or release is called.
func holdWriteLock(t *testing.T, d *sqliteuow.Driver) (release func()) {
	t.Helper()
	u, err := uow.NewStore(d, nil).Begin(t.Context())
	require.NoError(t, err)
	tx, err := uow.TxOf[*sql.Tx](u)
	require.NoError(t, err)
	require.NotNil(t, tx)
	var once sync.Once
	release = func() { once.Do(func() { require.NoError(t, u.Rollback(context.Background())) }) }
	t.Cleanup(release)
	return release
}

// A write lock another process holds longer than LockTimeout is a conflict, not a raw
// "database is locked"; once released, the write goes through.
func TestLockTimeoutAcrossDrivers(t *testing.T) {
	holder, path := open(t, nil)
	d := openPath(t, path, &sqliteuow.Options{LockTimeout: 200 * time.Millisecond})
	s := uow.NewStore(d, nil)
	seed(t, s, "x")
	release := holdWriteLock(t, holder)

	began := time.Now()
	err := uow.Do(t.Context(), s, increment("x"), &uow.DoOptions{MaxAttempts: 1})
	require.ErrorIs(t, err, uow.ErrConflict)
	require.GreaterOrEqual(t, time.Since(began), 150*time.Millisecond, "waited about LockTimeout first")
	t.Logf("lock timeout error: %v", err)

	u, err := s.Begin(t.Context())
	require.NoError(t, err)
	_, err = uow.TxOf[*sql.Tx](u)
	require.ErrorIs(t, err, uow.ErrConflict, "TxOf while another process writes")
	require.NoError(t, u.Rollback(t.Context()))

	release()
	require.NoError(t, uow.Do(t.Context(), s, increment("x"), &uow.DoOptions{MaxAttempts: 1}))
	n, _ := state(t, s, "x")
	require.Equal(t, 1, n)
}

// The in-process wait for the write transaction times out the same way.
func TestLockTimeoutInProcess(t *testing.T) {
	d, _ := open(t, &sqliteuow.Options{LockTimeout: 100 * time.Millisecond})
	s := uow.NewStore(d, nil)
	seed(t, s, "x")
	release := holdWriteLock(t, d)
	err := uow.Do(t.Context(), s, increment("x"), &uow.DoOptions{MaxAttempts: 1})
	require.ErrorIs(t, err, uow.ErrConflict)
	requireNoBusy(t, err) // the in-process queue, not SQLite's busy handler
	release()
	require.NoError(t, uow.Do(t.Context(), s, increment("x"), nil))
}

// A context that ends while the unit waits for the write lock ends the wait with its error,
// well before the lock timeout, and nothing of the unit is stored: in the process (the
// Driver's queue) and across processes (SQLite's busy wait).
func TestContextEndsWaitForWriteLock(t *testing.T) {
	holder, path := open(t, nil)
	other := openPath(t, path, nil)
	for _, c := range []struct {
		name string
		d    *sqliteuow.Driver
	}{{"same Driver", holder}, {"another Driver", other}} {
		t.Run(c.name, func(t *testing.T) {
			s := uow.NewStore(c.d, nil)
			id := counterID("x-" + c.name)
			seed(t, s, id)
			release := holdWriteLock(t, holder)
			defer release()

			for _, cancelled := range []bool{false, true} {
				ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
				if cancelled {
					ctx, cancel = context.WithCancel(t.Context())
					time.AfterFunc(100*time.Millisecond, cancel)
				}
				began := time.Now()
				err := uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
					if err := increment(id)(ctx, u); err != nil {
						return err
					}
					return u.Emit(uow.Message{Topic: "t", Name: "n"})
				}, nil)
				cancel()
				if cancelled {
					require.ErrorIs(t, err, context.Canceled)
				} else {
					require.ErrorIs(t, err, context.DeadlineExceeded)
				}
				require.Less(t, time.Since(began), 3*time.Second, "ended by the context, not the 5s lock timeout")
			}
			release()
			n, v := state(t, s, id)
			require.Equal(t, 0, n)
			require.Equal(t, int64(1), v)
			for _, m := range uowtest.Messages(t, c.d) {
				require.NotEqual(t, "n", m.Name, "a message of a unit that never got the lock")
			}
		})
	}
}

// A unit whose commit fails after its write transaction did work (custom SQL through TxOf)
// leaves nothing: not its custom rows, not its records, not its messages.
func TestFailedCommitLeavesNothing(t *testing.T) {
	d, _ := open(t, nil)
	_, err := d.DB().ExecContext(t.Context(), "CREATE TABLE audit (line TEXT NOT NULL)")
	require.NoError(t, err)
	s := uow.NewStore(d, nil)
	seed(t, s, "x", "y")
	audits := func() int {
		var n int
		require.NoError(t, d.DB().QueryRowContext(t.Context(), "SELECT count(*) FROM audit").Scan(&n))
		return n
	}

	for _, c := range []struct {
		name  string
		fails func(u *uow.Unit) context.Context // makes u's Commit fail; returns the commit ctx
		want  error
	}{
		{"version conflict", func(*uow.Unit) context.Context {
			require.NoError(t, uow.Do(t.Context(), s, increment("y"), nil))
			return t.Context()
		}, uow.ErrConflict},
		{"context cancelled at commit", func(*uow.Unit) context.Context {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			return ctx
		}, context.Canceled},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := len(uowtest.Messages(t, d))
			nx, vx := state(t, s, "x")
			ny, vy := state(t, s, "y")
			u, err := s.Begin(t.Context())
			require.NoError(t, err)
			defer u.Rollback(context.Background())
			for _, id := range []counterID{"x", "y"} {
				require.NoError(t, increment(id)(t.Context(), u))
			}
			require.NoError(t, uow.Repo[counter, counterID](u).Add(t.Context(), newCounter(t, "new")))
			require.NoError(t, u.Emit(uow.Message{Topic: "t", Name: "n"}))
			ctx := c.fails(u) // before TxOf: u's write transaction would make it wait
			if c.want == uow.ErrConflict {
				ny, vy = state(t, s, "y")
			}
			tx, err := uow.TxOf[*sql.Tx](u)
			require.NoError(t, err)
			_, err = tx.ExecContext(t.Context(), "INSERT INTO audit (line) VALUES ('written in the unit')")
			require.NoError(t, err)
			err = u.Commit(ctx)
			require.ErrorIs(t, err, c.want)
			require.Zero(t, audits(), "the custom row")
			n, v := state(t, s, "x")
			require.Equal(t, []any{nx, vx}, []any{n, v}, "x")
			n, v = state(t, s, "y")
			require.Equal(t, []any{ny, vy}, []any{n, v}, "y")
			un, err := s.Begin(t.Context())
			require.NoError(t, err)
			_, err = uow.Repo[counter, counterID](un).Get(t.Context(), "new")
			require.ErrorIs(t, err, uow.ErrNotFound)
			require.NoError(t, un.Rollback(t.Context()))
			require.Len(t, uowtest.Messages(t, d), before+map[bool]int{true: 1, false: 0}[c.want == uow.ErrConflict],
				"only the event of the unit that won")
			// The write lock was released: the next unit commits.
			require.NoError(t, uow.Do(t.Context(), s, increment("x"), nil))
		})
	}
}

// Context errors stay recognisable through classification.
func TestContextErrorsRecognisable(t *testing.T) {
	d, _ := open(t, nil)
	s := uow.NewStore(d, nil)
	seed(t, s, "x")
	ctx, cancel := context.WithCancel(t.Context())
	u, err := s.Begin(ctx)
	require.NoError(t, err)
	cancel()
	_, err = uow.Repo[counter, counterID](u).Get(ctx, "x")
	require.True(t, errors.Is(err, context.Canceled), "got %v", err)
	require.NoError(t, u.Rollback(context.Background()))
}

// A statement interrupted by its context inside the write transaction (SQLite may roll the
// whole transaction back on its own) leaves nothing, Rollback still succeeds, and the Driver
// goes on.
func TestInterruptedStatement(t *testing.T) {
	d, _ := open(t, nil)
	_, err := d.DB().ExecContext(t.Context(), "CREATE TABLE audit (line TEXT NOT NULL)")
	require.NoError(t, err)
	s := uow.NewStore(d, nil)
	seed(t, s, "x")

	u, err := s.Begin(t.Context())
	require.NoError(t, err)
	require.NoError(t, increment("x")(t.Context(), u))
	tx, err := uow.TxOf[*sql.Tx](u)
	require.NoError(t, err)
	_, err = tx.ExecContext(t.Context(), "INSERT INTO audit (line) VALUES ('first')")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = tx.ExecContext(ctx, `INSERT INTO audit (line) SELECT 'many' FROM (
		WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1000000000) SELECT n FROM c)`)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NoError(t, u.Rollback(t.Context()))

	var n int
	require.NoError(t, d.DB().QueryRowContext(t.Context(), "SELECT count(*) FROM audit").Scan(&n))
	require.Zero(t, n)
	require.NoError(t, uow.Do(t.Context(), s, increment("x"), nil))
	got, _ := state(t, s, "x")
	require.Equal(t, 1, got)
}

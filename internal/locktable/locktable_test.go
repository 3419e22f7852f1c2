package locktable_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/internal/locktable"
)

// owner is a lock owner of these tests, as a transaction pointer is in the drivers.
type owner struct{ name string }

// key is a namespaced key, as the drivers' are.
type key struct {
	space uint8
	id    string
}

type table = locktable.Table[*owner, key]

const long = 10 * time.Second // a timeout no test should reach

func k(id string) key { return key{space: 1, id: id} }

func owners(names ...string) []*owner {
	os := make([]*owner, len(names))
	for i, n := range names {
		os[i] = &owner{name: n}
	}
	return os
}

// acquireAsync runs Acquire in a goroutine; its error arrives on the returned channel.
func acquireAsync(ctx context.Context, tab *table, o *owner, kk key, timeout time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() { done <- tab.Acquire(ctx, o, kk, timeout) }()
	return done
}

// requireWaiting waits until o waits in Acquire for kk.
func requireWaiting(t *testing.T, tab *table, o *owner, kk key) {
	t.Helper()
	require.Eventually(t, func() bool {
		got, ok := tab.WaitingFor(o)
		return ok && got == kk
	}, 5*time.Second, time.Millisecond, "%s does not wait for %v", o.name, kk)
}

func await(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Acquire did not return")
		return nil
	}
}

func requireHolder(t *testing.T, tab *table, kk key, want *owner) {
	t.Helper()
	got, ok := tab.Holder(kk)
	if want == nil {
		require.False(t, ok, "%v is held by %v", kk, got)
		return
	}
	require.True(t, ok, "%v is not held", kk)
	require.Same(t, want, got)
}

func TestZeroValueAcquireRelease(t *testing.T) {
	ctx := t.Context()
	var tab table
	o := owners("a", "b")
	a, b := o[0], o[1]

	tab.Release(a, k("x")) // nothing held: no-op
	tab.ReleaseAll(a)      // nothing held: no-op
	requireHolder(t, &tab, k("x"), nil)

	require.NoError(t, tab.Acquire(ctx, a, k("x"), long))
	requireHolder(t, &tab, k("x"), a)
	require.NoError(t, tab.Acquire(ctx, b, k("y"), long), "another key is another lock")
	require.NoError(t, tab.Acquire(ctx, b, key{space: 2, id: "x"}, long), "another namespace is another lock")

	require.ErrorIs(t, tab.Acquire(ctx, b, k("x"), 0), locktable.ErrTimeout, "a zero timeout does not wait")

	tab.Release(b, k("x")) // not b's: no-op
	requireHolder(t, &tab, k("x"), a)

	tab.Release(a, k("x"))
	requireHolder(t, &tab, k("x"), nil)
	require.NoError(t, tab.Acquire(ctx, b, k("x"), 0))
	requireHolder(t, &tab, k("x"), b)
	requireHolder(t, &tab, k("y"), b)

	tab.ReleaseAll(b)
	for _, kk := range []key{k("x"), k("y"), {space: 2, id: "x"}} {
		requireHolder(t, &tab, kk, nil)
	}
}

func TestReentrant(t *testing.T) {
	ctx := t.Context()
	var tab table
	o := owners("a", "b")
	a, b := o[0], o[1]

	require.NoError(t, tab.Acquire(ctx, a, k("x"), long))
	require.NoError(t, tab.Acquire(ctx, a, k("x"), 0), "taken again at once, even with no timeout")
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	require.NoError(t, tab.Acquire(canceled, a, k("x"), long), "taken again at once, even with ctx done")

	// Locks are not counted: one Release frees the lock however often it was taken.
	tab.Release(a, k("x"))
	requireHolder(t, &tab, k("x"), nil)
	require.NoError(t, tab.Acquire(ctx, b, k("x"), 0))
}

func TestReleaseKeepsTheOwnersOtherLocks(t *testing.T) {
	ctx := t.Context()
	var tab table
	o := owners("a", "b")
	a, b := o[0], o[1]
	for _, id := range []string{"x", "y", "z"} {
		require.NoError(t, tab.Acquire(ctx, a, k(id), long))
	}
	tab.Release(a, k("y"))
	requireHolder(t, &tab, k("x"), a)
	requireHolder(t, &tab, k("y"), nil)
	requireHolder(t, &tab, k("z"), a)

	// ReleaseAll releases what is left, and no longer y, which b now holds.
	require.NoError(t, tab.Acquire(ctx, b, k("y"), long))
	tab.ReleaseAll(a)
	requireHolder(t, &tab, k("x"), nil)
	requireHolder(t, &tab, k("y"), b)
	requireHolder(t, &tab, k("z"), nil)
}

func TestWaiterWokenByRelease(t *testing.T) {
	ctx := t.Context()
	var tab table
	o := owners("a", "b")
	a, b := o[0], o[1]
	require.NoError(t, tab.Acquire(ctx, a, k("x"), long))

	done := acquireAsync(ctx, &tab, b, k("x"), long)
	requireWaiting(t, &tab, b, k("x"))
	select {
	case err := <-done:
		t.Fatalf("Acquire returned %v while the lock is held", err)
	case <-time.After(20 * time.Millisecond):
	}

	tab.Release(a, k("x"))
	require.NoError(t, await(t, done))
	requireHolder(t, &tab, k("x"), b)
	_, waits := tab.WaitingFor(b)
	require.False(t, waits)
}

// Waiters of one lock take it one after the other, each woken by the previous one's release.
func TestWaitersTakeTheLockInTurn(t *testing.T) {
	ctx := t.Context()
	var tab table
	holder := &owner{name: "holder"}
	require.NoError(t, tab.Acquire(ctx, holder, k("x"), long))

	var inside atomic.Int32
	var wg sync.WaitGroup
	for _, o := range owners("a", "b", "c", "d", "e") {
		wg.Go(func() {
			if err := tab.Acquire(ctx, o, k("x"), long); err != nil {
				t.Error(err)
				return
			}
			if n := inside.Add(1); n != 1 {
				t.Errorf("%d owners hold the lock", n)
			}
			time.Sleep(time.Millisecond)
			inside.Add(-1)
			tab.ReleaseAll(o)
		})
	}
	time.Sleep(10 * time.Millisecond)
	tab.ReleaseAll(holder)
	wg.Wait()
	requireHolder(t, &tab, k("x"), nil)
}

func TestCtxCanceledWhileWaiting(t *testing.T) {
	var tab table
	o := owners("a", "b")
	a, b := o[0], o[1]
	require.NoError(t, tab.Acquire(t.Context(), a, k("x"), long))

	ctx, cancel := context.WithCancel(t.Context())
	start := time.Now()
	done := acquireAsync(ctx, &tab, b, k("x"), long)
	requireWaiting(t, &tab, b, k("x"))
	cancel()
	err := await(t, done)
	require.Same(t, context.Canceled, err, "ctx.Err() itself, not wrapped")
	require.Less(t, time.Since(start), long/2)
	_, waits := tab.WaitingFor(b)
	require.False(t, waits, "b no longer waits")
	requireHolder(t, &tab, k("x"), a)

	// A deadline ends the wait with its own error.
	ctx, cancel = context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, tab.Acquire(ctx, b, k("x"), long), context.DeadlineExceeded)
}

func TestCtxDoneBeforeTheWait(t *testing.T) {
	var tab table
	o := owners("a", "b")
	a, b := o[0], o[1]
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	require.NoError(t, tab.Acquire(ctx, a, k("x"), long), "a free lock is taken even with ctx done")
	start := time.Now()
	require.Same(t, context.Canceled, tab.Acquire(ctx, b, k("x"), time.Nanosecond),
		"a done ctx wins over the timeout")
	require.Less(t, time.Since(start), time.Second)
	_, waits := tab.WaitingFor(b)
	require.False(t, waits)
}

func TestTimeout(t *testing.T) {
	ctx := t.Context()
	var tab table
	o := owners("a", "b")
	a, b := o[0], o[1]
	require.NoError(t, tab.Acquire(ctx, a, k("x"), long))

	const timeout = 30 * time.Millisecond
	start := time.Now()
	err := tab.Acquire(ctx, b, k("x"), timeout)
	require.Same(t, locktable.ErrTimeout, err)
	require.GreaterOrEqual(t, time.Since(start), timeout)
	_, waits := tab.WaitingFor(b)
	require.False(t, waits, "b no longer waits")
	requireHolder(t, &tab, k("x"), a)

	require.Same(t, locktable.ErrTimeout, tab.Acquire(ctx, b, k("x"), -time.Second),
		"a negative timeout does not wait")
}

// The timeout bounds the whole wait, not each turn of it: a waiter woken by a release that
// another owner wins waits on for what is left of its timeout.
func TestTimeoutCountsFromTheFirstWait(t *testing.T) {
	ctx := t.Context()
	var tab table
	o := owners("a", "b", "c")
	a, b, c := o[0], o[1], o[2]
	require.NoError(t, tab.Acquire(ctx, a, k("x"), long))

	const timeout = 400 * time.Millisecond
	start := time.Now()
	done := acquireAsync(ctx, &tab, b, k("x"), timeout)
	requireWaiting(t, &tab, b, k("x"))
	time.Sleep(timeout * 3 / 4)
	tab.Transfer(a, c, k("x")) // wakes b, which finds x taken by c and waits again

	require.Same(t, locktable.ErrTimeout, await(t, done))
	elapsed := time.Since(start)
	require.GreaterOrEqual(t, elapsed, timeout)
	require.Less(t, elapsed, timeout*7/4, "the timer was not restarted by the wake-up")
	requireHolder(t, &tab, k("x"), c)
}

func TestDeadlockBetweenTwoOwners(t *testing.T) {
	ctx := t.Context()
	var tab table
	o := owners("a", "b")
	a, b := o[0], o[1]
	require.NoError(t, tab.Acquire(ctx, a, k("x"), long))
	require.NoError(t, tab.Acquire(ctx, b, k("y"), long))

	bDone := acquireAsync(ctx, &tab, b, k("x"), long)
	requireWaiting(t, &tab, b, k("x"))

	start := time.Now()
	require.Same(t, locktable.ErrDeadlock, tab.Acquire(ctx, a, k("y"), long))
	require.Less(t, time.Since(start), time.Second, "found at once, not after the timeout")
	_, waits := tab.WaitingFor(a)
	require.False(t, waits, "the failed owner does not wait")

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	require.Same(t, locktable.ErrDeadlock, tab.Acquire(canceled, a, k("y"), long),
		"a deadlock is reported before a done ctx")

	// The owner that failed gives up its locks: the other goes on.
	tab.ReleaseAll(a)
	require.NoError(t, await(t, bDone))
	requireHolder(t, &tab, k("x"), b)
	requireHolder(t, &tab, k("y"), b)
}

func TestDeadlockThroughThreeOwners(t *testing.T) {
	ctx := t.Context()
	var tab table
	o := owners("a", "b", "c")
	keys := []key{k("k0"), k("k1"), k("k2")}
	for i := range o {
		require.NoError(t, tab.Acquire(ctx, o[i], keys[i], long))
	}
	d0 := acquireAsync(ctx, &tab, o[0], keys[1], long) // a waits for b
	requireWaiting(t, &tab, o[0], keys[1])
	d1 := acquireAsync(ctx, &tab, o[1], keys[2], long) // b waits for c
	requireWaiting(t, &tab, o[1], keys[2])

	require.Same(t, locktable.ErrDeadlock, tab.Acquire(ctx, o[2], keys[0], long), "c waiting for a closes the cycle")

	tab.ReleaseAll(o[2])
	require.NoError(t, await(t, d1))
	tab.ReleaseAll(o[1])
	require.NoError(t, await(t, d0))
	tab.ReleaseAll(o[0])
}

// A chain of waits that does not come back to the acquiring owner is no deadlock: it waits.
func TestChainWithoutCycleWaits(t *testing.T) {
	ctx := t.Context()
	var tab table
	o := owners("a", "b", "c")
	a, b, c := o[0], o[1], o[2]
	require.NoError(t, tab.Acquire(ctx, a, k("x"), long))
	require.NoError(t, tab.Acquire(ctx, b, k("y"), long))
	aDone := acquireAsync(ctx, &tab, a, k("y"), long) // a waits for b
	requireWaiting(t, &tab, a, k("y"))

	// c holds nothing anyone waits for: waiting for x (a's, who waits for b) is no cycle.
	cDone := acquireAsync(ctx, &tab, c, k("x"), long)
	requireWaiting(t, &tab, c, k("x"))

	tab.ReleaseAll(b)
	require.NoError(t, await(t, aDone))
	tab.ReleaseAll(a)
	require.NoError(t, await(t, cDone))
	requireHolder(t, &tab, k("x"), c)
	requireHolder(t, &tab, k("y"), nil)
}

func TestReleaseAllWakesEveryWaiter(t *testing.T) {
	ctx := t.Context()
	var tab table
	holder := &owner{name: "holder"}
	ids := []string{"x", "y", "z"}
	for _, id := range ids {
		require.NoError(t, tab.Acquire(ctx, holder, k(id), long))
	}
	waiters := owners("wx", "wy", "wz")
	dones := make([]<-chan error, len(ids))
	for i, id := range ids {
		dones[i] = acquireAsync(ctx, &tab, waiters[i], k(id), long)
		requireWaiting(t, &tab, waiters[i], k(id))
	}

	tab.ReleaseAll(holder)
	for i, id := range ids {
		require.NoError(t, await(t, dones[i]))
		requireHolder(t, &tab, k(id), waiters[i])
	}
}

// Many owners locking overlapping keys in random orders: every Acquire ends (in the lock, a
// deadlock or a timeout), the locks exclude each other, and the table ends empty.
func TestStress(t *testing.T) {
	ctx := t.Context()
	var tab table
	ids := []string{"a", "b", "c", "d"}
	holders := make(map[key]*atomic.Pointer[owner], len(ids))
	for _, id := range ids {
		holders[k(id)] = new(atomic.Pointer[owner])
	}
	var deadlocks, timeouts atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				o := &owner{name: "o"}
				var mine []key
				for j := range 3 {
					kk := k(ids[(g+i*j+j*j)%len(ids)])
					err := tab.Acquire(ctx, o, kk, 20*time.Millisecond)
					switch {
					case errors.Is(err, locktable.ErrDeadlock):
						deadlocks.Add(1)
					case errors.Is(err, locktable.ErrTimeout):
						timeouts.Add(1)
					case err != nil:
						t.Error(err)
					default:
						if prev := holders[kk].Swap(o); prev != nil && prev != o {
							t.Errorf("%v held by two owners", kk)
						}
						mine = append(mine, kk)
						continue
					}
					break
				}
				for _, kk := range mine {
					holders[kk].CompareAndSwap(o, nil)
				}
				tab.ReleaseAll(o)
			}
		})
	}
	wg.Wait()
	for _, id := range ids {
		requireHolder(t, &tab, k(id), nil)
	}
	t.Logf("%d deadlocks, %d timeouts", deadlocks.Load(), timeouts.Load())
}

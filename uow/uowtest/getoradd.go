package uowtest

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
)

// testGetOrAdd: GetOrAdd returns the stored aggregate without calling create, and adds the one
// create returns when the ID is missing. Two units that both find an ID missing both add it: the
// one that commits second loses the race with ErrConflict, and Do's retry finds the first one's
// aggregate, so the ID ends with one aggregate that has both units' changes and both their
// events, in version order. Goroutines racing through Do on one missing ID converge the same way.
func testGetOrAdd(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	e.seed("x")
	var created atomic.Int64
	create := func(id counterID) (*counter, error) {
		created.Add(1)
		root, err := aggregate.NewRoot(id)
		return &counter{Root: root}, err
	}

	u := e.begin()
	counters := uow.Repo[counter, counterID](u)
	if x, err := counters.GetOrAdd(e.ctx, "x", create); noErr(t, err, "GetOrAdd of a stored ID") && x.Version() != 1 {
		t.Errorf("GetOrAdd of a stored ID returned version %d, want the stored aggregate at version 1", x.Version())
	}
	if n := created.Load(); n != 0 {
		t.Errorf("GetOrAdd of a stored ID called create %d times, want 0", n)
	}
	if y, err := counters.GetOrAdd(e.ctx, "y", create); noErr(t, err, "GetOrAdd of a missing ID") {
		y.Inc()
	}
	if n := created.Load(); n != 1 {
		t.Errorf("GetOrAdd of a missing ID called create %d times, want 1", n)
	}
	e.commit(u, "GetOrAdd of a missing ID")
	e.wantState("y", 1, 1, "the aggregate GetOrAdd added")

	// Two units find "race" missing; the other one commits first.
	before := len(e.messages())
	created.Store(0)
	attempts := 0
	err := uow.Do(e.ctx, e.store, func(ctx context.Context, u *uow.Unit) error {
		attempts++
		c, err := uow.Repo[counter, counterID](u).GetOrAdd(ctx, "race", create)
		if err != nil {
			return err
		}
		c.Inc()
		if attempts > 1 {
			return nil
		}
		if err := e.inUnit(ctx, func(other *uow.Unit) error {
			o, err := uow.Repo[counter, counterID](other).GetOrAdd(ctx, "race", create)
			if err == nil {
				o.Inc()
			}
			return err
		}); err != nil {
			return fmt.Errorf("uowtest: the other unit: %v", err) // not a conflict: Do stops
		}
		return nil
	}, fastRetries)
	noErr(t, err, "Do whose GetOrAdd lost the race to add an ID")
	if attempts != 2 {
		t.Errorf("Do whose GetOrAdd lost the race to add an ID ran the function %d times, want 2", attempts)
	}
	if n := created.Load(); n != 2 {
		t.Errorf("two units racing to add an ID called create %d times, want 2 (once per unit that found it missing, "+
			"not on the retry, which finds it stored)", n)
	}
	e.wantState("race", 2, 2, "one aggregate with both racing units' increments")
	wantIncrements(t, e.messages()[before:], "race", 2, "two units racing to add an ID")

	// Goroutines racing through Do.
	const racers = 4
	before = len(e.messages())
	opts := &uow.DoOptions{MaxAttempts: 10000, MinBackoff: 50 * time.Microsecond, MaxBackoff: 2 * time.Millisecond}
	var wg sync.WaitGroup
	errs := make(chan error, racers)
	for range racers {
		wg.Go(func() {
			err := uow.Do(e.ctx, e.store, func(ctx context.Context, u *uow.Unit) error {
				c, err := uow.Repo[counter, counterID](u).GetOrAdd(ctx, "many", create)
				if err == nil {
					c.Inc()
				}
				return err
			}, opts)
			if err != nil {
				errs <- err
			}
		})
	}
	finished := make(chan error, 1)
	go func() { wg.Wait(); close(errs); finished <- nil }()
	await(t, finished, fmt.Sprintf("%d goroutines racing to GetOrAdd one ID", racers))
	for err := range errs {
		t.Errorf("a goroutine racing to GetOrAdd one ID: Do: %v", err)
	}
	e.wantState("many", racers, racers, fmt.Sprintf("one aggregate with the increments of %d racing goroutines", racers))
	wantIncrements(t, e.messages()[before:], "many", racers, fmt.Sprintf("%d goroutines racing to add an ID", racers))
}

// wantIncrements checks that msgs are n incremented events of counter id, N = 1 to n at
// versions 1 to n, in that order.
func wantIncrements(t testing.TB, msgs []uow.Message, id string, n int, what string) {
	t.Helper()
	if len(msgs) != n {
		t.Errorf("%s: the outbox got %v, want %d increments of %s", what, describe(msgs), n, id)
		return
	}
	for i, m := range msgs {
		var ev incremented
		if err := m.Decode(&ev); err != nil || m.Key != id || ev.N != i+1 || m.Headers[uow.HeaderVersion] != strconv.Itoa(i+1) {
			t.Errorf("%s: outbox message %d is %s of %s with payload %s, version %s; want increment %d at version %d",
				what, i, m.Name, m.Key, m.Payload, m.Headers[uow.HeaderVersion], i+1, i+1)
			return
		}
	}
}

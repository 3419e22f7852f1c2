package uowtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
)

// The workload of MixedStrategies.
const (
	mixedAggregates = 6  // counters every unit picks from
	mixedLate       = 3  // counters the units add when missing, racing to
	mixedGoroutines = 8  // committing at once
	mixedUnits      = 30 // per goroutine
	mixedShared     = "mixed-shared"
)

// mixedOpts lets units retry as long as it takes: every unit must go through.
var mixedOpts = &uow.DoOptions{MaxAttempts: 1000, MinBackoff: 100 * time.Microsecond, MaxBackoff: 5 * time.Millisecond}

// MixedStrategies runs units of every locking strategy at once on d, a fresh and empty driver,
// the way an application that mixes them does. Goroutines commit units that each increment two
// or three of a few shared counters: optimistically (loaded one by one in a random order, or with
// GetMany), pessimistically (GetForUpdate in ID order, as package uow asks of the locks a unit
// takes itself) or under keyed locks ([uow.Unit.Lock], when the driver has them), and that add a
// counter when it is missing (racing others to it), each emitting a message on a key they all
// share. It checks that every unit went through ([uow.Do] retries the conflicts), that no
// increment was lost or doubled, and that the outbox holds each counter's events in version
// order and every unit's shared message once.
//
// It is the clause MixedStrategies of [Run]. A driver's own test also runs it on a database of
// its own while watching the database's deadlock counter: commits write their rows in one order
// (see [uow.Unit.Commit]), so mixing strategies must make units wait, never deadlock. d must
// implement [driver.Operator], through which the clause reads the outbox.
func MixedStrategies(t testing.TB, d driver.Driver) {
	t.Helper()
	e := start(t, func(testing.TB) driver.Driver { return d })
	mixedStrategies(e)
}

func testMixedStrategies(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	mixedStrategies(start(t, newDriver))
}

// mixedID names the i-th shared counter; late ones are added by the units.
func mixedID(i int) string {
	if i >= mixedAggregates {
		return "mixed-late-" + strconv.Itoa(i-mixedAggregates)
	}
	return "mixed-" + strconv.Itoa(i)
}

func mixedStrategies(e *env) {
	t := e.t
	ids := make([]string, mixedAggregates)
	for i := range ids {
		ids[i] = mixedID(i)
	}
	e.seed(ids...)
	before := len(e.messages())
	keyed := e.caps().keyLocker

	var (
		mu   sync.Mutex
		incs = map[string]int{} // increments committed, per counter
		runs = map[string]int{} // committed units, per strategy
	)
	strategies := []string{"optimistic", "getmany", "pessimistic", "keyed", "add"}
	if !keyed {
		strategies = slices.DeleteFunc(strategies, func(s string) bool { return s == "keyed" })
	}
	unit := func(rng *rand.Rand) error {
		strategy := strategies[rng.IntN(len(strategies))]
		picked := rng.Perm(mixedAggregates)[:2+rng.IntN(2)] // a random order
		if strategy == "add" {
			picked[0] = mixedAggregates + rng.IntN(mixedLate)
		}
		var done []string
		err := uow.Do(e.ctx, e.store, func(ctx context.Context, u *uow.Unit) error {
			done = done[:0]
			counters := uow.Repo[counter, counterID](u)
			var got []*counter
			switch strategy {
			case "pessimistic":
				sorted := make([]counterID, len(picked))
				for i, p := range picked {
					sorted[i] = counterID(mixedID(p))
				}
				slices.Sort(sorted)
				for _, id := range sorted {
					c, err := counters.GetForUpdate(ctx, id)
					if err != nil {
						return err
					}
					got = append(got, c)
				}
			case "getmany":
				some := make([]counterID, len(picked))
				for i, p := range picked {
					some[i] = counterID(mixedID(p))
				}
				var err error
				if got, err = counters.GetMany(ctx, some...); err != nil {
					return err
				}
			default:
				if strategy == "keyed" {
					keys := make([]string, len(picked))
					for i, p := range picked {
						keys[i] = mixedID(p)
					}
					if err := u.Lock(ctx, keys...); err != nil {
						return err
					}
				}
				for _, p := range picked {
					c, err := counters.Get(ctx, counterID(mixedID(p)))
					if errors.Is(err, uow.ErrNotFound) && strategy == "add" {
						c = newCounter(t, mixedID(p))
						err = counters.Add(ctx, c)
					}
					if err != nil {
						return err
					}
					got = append(got, c)
				}
			}
			for _, c := range got {
				c.Inc()
				done = append(done, c.AggregateID())
			}
			return u.Emit(uow.Message{Topic: "uowtest.mixed", Key: mixedShared, Name: "uowtest.mixedUnit",
				Payload: []byte(`{"strategy":"` + strategy + `"}`)})
		}, mixedOpts)
		if err != nil {
			return fmt.Errorf("a %s unit incrementing %v: %w", strategy, done, err)
		}
		mu.Lock()
		defer mu.Unlock()
		runs[strategy]++
		for _, id := range done {
			incs[id]++
		}
		return nil
	}

	var wg sync.WaitGroup
	errs := make(chan error, mixedGoroutines)
	for g := range mixedGoroutines {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), uint64(time.Now().UnixNano())))
			for range mixedUnits {
				if err := unit(rng); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	finished := make(chan error, 1)
	go func() { wg.Wait(); close(errs); finished <- nil }()
	await(t, finished, fmt.Sprintf("%d goroutines committing %d units of mixed strategies each", mixedGoroutines, mixedUnits))
	for err := range errs {
		t.Errorf("mixed strategies: %v", err)
	}
	if t.Failed() {
		return
	}
	t.Logf("mixed strategies: committed units %v", runs)

	for i := range mixedAggregates + mixedLate {
		id := mixedID(i)
		n, version, ok := e.state(id)
		want, wantVersion := incs[id], int64(incs[id])+1
		if i >= mixedAggregates { // added by a unit that also incremented it
			wantVersion = int64(incs[id])
		}
		switch {
		case !ok && incs[id] == 0:
		case !ok:
			t.Errorf("counter %s: missing after %d committed increments", id, want)
		case n != want || version != wantVersion:
			t.Errorf("counter %s: N %d at version %d after %d committed increments, want N %d at version %d (a lost or doubled update)",
				id, n, version, want, want, wantVersion)
		}
	}
	versions := map[string]int{}
	shared := 0
	for _, m := range e.messages()[before:] {
		if m.Key == mixedShared {
			shared++
			continue
		}
		v, err := strconv.Atoi(m.Headers[uow.HeaderVersion])
		if err != nil || v <= versions[m.Key] {
			t.Errorf("counter %s: event at version %q after version %d in the outbox, want rising versions (commit order)",
				m.Key, m.Headers[uow.HeaderVersion], versions[m.Key])
		}
		versions[m.Key] = v
	}
	if total := mixedGoroutines * mixedUnits; shared != total {
		t.Errorf("the outbox holds %d of the %d committed units' shared messages", shared, total)
	}
}

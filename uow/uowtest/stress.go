package uowtest

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
)

// testStress: goroutines incrementing one counter through Do lose no update, optimistically
// (conflicts retried) and with GetForUpdate; the outbox holds every increment's event once, in
// the order of the versions.
func testStress(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	opts := &uow.DoOptions{MaxAttempts: 10000, MinBackoff: 50 * time.Microsecond, MaxBackoff: 2 * time.Millisecond}
	for _, c := range []struct {
		id         string
		goroutines int
		each       int
		lock       uow.Lock
	}{
		{"optimistic", 8, 25, uow.Optimistic},
		{"pessimistic", 4, 10, uow.ForUpdate},
	} {
		e.seed(c.id)
		before := len(e.messages())
		var attempts atomic.Int64
		inc := func(ctx context.Context, u *uow.Unit) error {
			counters := uow.Repo[counter, counterID](u)
			get := counters.Get
			if c.lock == uow.ForUpdate {
				get = counters.GetForUpdate
			}
			x, err := get(ctx, counterID(c.id))
			if err != nil {
				return err
			}
			runtime.Gosched() // let the others load it too: conflicts are the point
			x.Inc()
			attempts.Add(1)
			return nil
		}
		var wg sync.WaitGroup
		errs := make(chan error, c.goroutines)
		for range c.goroutines {
			wg.Go(func() {
				for range c.each {
					if err := uow.Do(e.ctx, e.store, inc, opts); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		finished := make(chan error, 1)
		go func() { wg.Wait(); close(errs); finished <- nil }()
		await(t, finished, fmt.Sprintf("%d goroutines incrementing %d times each (%s)", c.goroutines, c.each, c.id))
		for err := range errs {
			t.Errorf("%s: Do: %v", c.id, err)
		}

		total := c.goroutines * c.each
		t.Logf("%s: %d increments took %d attempts", c.id, total, attempts.Load())
		e.wantState(c.id, total, int64(total)+1, fmt.Sprintf("%d %s increments", total, c.id))
		msgs := e.messages()[before:]
		if len(msgs) != total {
			t.Errorf("%s: %d increments stored %d outbox messages, want %d", c.id, total, len(msgs), total)
			continue
		}
		for i, m := range msgs {
			var ev incremented
			if err := m.Decode(&ev); err != nil || m.Key != c.id || ev.N != i+1 || m.Headers[uow.HeaderVersion] != strconv.Itoa(i+2) {
				t.Errorf("%s: outbox message %d is %s of %s with payload %s, version %s; want increment %d at version %d, in commit order",
					c.id, i, m.Name, m.Key, m.Payload, m.Headers[uow.HeaderVersion], i+1, i+2)
				break
			}
		}
	}
}

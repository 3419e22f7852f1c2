package uowtest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
)

// The clauses of held claims ([driver.Holder]), an optional capability: a driver that is not a
// Holder skips them. Held claims are transactions, so they need a driver that runs at least three
// at once (pguow's pool does).

// holder returns the driver's driver.Holder, or skips the clause.
func (e *env) holder() driver.Holder {
	e.t.Helper()
	h, ok := e.d.(driver.Holder)
	if !ok {
		e.t.Skipf("driver %T is not an driver.Holder (an optional capability): no held claims to test", e.d)
	}
	return h
}

// hold holds and fails the test on an error.
func (e *env) hold(now time.Time, lease time.Duration, limit int) driver.Held {
	e.t.Helper()
	h, err := e.holder().Hold(e.ctx, now, lease, limit)
	if err != nil {
		e.t.Fatalf("Hold(now, %v, %d): %v", lease, limit, err)
	}
	return h
}

// finish finishes h and fails the test on an error.
func (e *env) finish(h driver.Held, published []uow.Message, failures ...driver.Failure) {
	e.t.Helper()
	if err := h.Finish(e.ctx, idsOf(published), failures); err != nil {
		e.t.Fatalf("Finish(%s, %d failures): %v", names(published), len(failures), err)
	}
}

// testOutboxHold: Hold returns due messages in commit order, none behind an earlier message of
// its key that failed, is delayed, parked or leased, and a run of a key's messages when none of
// them is; while a claim is held, other claims, held or leased, return none of its messages nor
// the later messages of their keys; Finish deletes the published messages, records failures
// (retry time, attempts, parking) and releases the rest unchanged; a second Finish and bad
// arguments are errors wrapping outbox.ErrInvalid.
func testOutboxHold(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	h := e.holder()
	now := e.clock.Now()

	for _, c := range []struct {
		name  string
		lease time.Duration
		limit int
	}{
		{"limit 0", relayLease, 0},
		{"a zero lease", 0, 1},
		{"a negative lease", -time.Second, 1},
	} {
		_, err := h.Hold(e.ctx, now, c.lease, c.limit)
		wantErr(t, err, outbox.ErrInvalid, "Hold with "+c.name)
	}
	empty := e.hold(now, relayLease, 10)
	if got := empty.Messages(); len(got) != 0 {
		t.Errorf("Hold on an empty outbox returned %s", names(claimedMessages(got)))
	}
	noErr(t, empty.Finish(e.ctx, nil, nil), "Finish of an empty claim")

	delayed := relayed("d", 1)
	delayed.DeliverAfter = now.Add(time.Hour)
	msgs := e.emit(relayed("a", 1), relayed("b", 1), relayed("a", 2), relayed("c", 1), delayed, relayed("l", 1))
	a1, b1, a2, c1, l1 := msgs[0], msgs[1], msgs[2], msgs[3], msgs[5]
	wantClaimed(t, e.claim("leaser", now, relayLease, 10), []uow.Message{a1, b1, c1, l1}, "a leased claim")
	e.release("leaser", driver.Failure{ID: a1.ID, RetryAt: now}, driver.Failure{ID: b1.ID, RetryAt: now},
		driver.Failure{ID: c1.ID, RetryAt: now})

	first := e.hold(now, relayLease, 10)
	got := first.Messages()
	wantClaimed(t, got, []uow.Message{a1, b1, c1}, "holding a1 b1 a2 c1 d1 (delayed) l1 (leased)")
	for _, c := range got {
		if c.Attempts != 1 {
			t.Errorf("held %s with %d attempts, want 1 (one release)", names([]uow.Message{c.Message}), c.Attempts)
		}
	}
	other := e.hold(now, relayLease, 10)
	wantClaimed(t, other.Messages(), nil, "a second Hold while a1 b1 c1 are held (a2 waits behind a1)")
	noErr(t, other.Finish(e.ctx, nil, nil), "Finish of the second, empty claim")
	wantClaimed(t, e.claim("leaser2", now, relayLease, 10), nil, "a leased claim while a1 b1 c1 are held")
	e1 := e.emit(relayed("e", 1))[0]

	retry := now.Add(10 * time.Second)
	e.finish(first, []uow.Message{a1},
		driver.Failure{ID: b1.ID, RetryAt: retry, Reason: "broker down"},
		driver.Failure{ID: c1.ID, Park: true, Reason: "poison"},
		driver.Failure{ID: a2.ID, RetryAt: retry, Reason: "not in the claim"})
	wantErr(t, first.Finish(e.ctx, idsOf([]uow.Message{b1}), nil), outbox.ErrInvalid, "a second Finish")
	e.wantInOutbox([]uow.Message{a1}, false, "after a1 was published")
	e.wantInOutbox([]uow.Message{a2, b1, c1, e1, l1}, true, "after the claim was finished")

	abandoned := e.hold(now, relayLease, 10)
	wantClaimed(t, abandoned.Messages(), []uow.Message{a2, e1}, "holding after a1 was published (b1 retries later, c1 parked)")
	e.finish(abandoned, nil)
	pending := e.hold(now, relayLease, 10)
	got = pending.Messages()
	if wantClaimed(t, got, []uow.Message{a2, e1}, "holding after a claim of a2 e1 finished with nothing published") && got[0].Attempts != 0 {
		t.Errorf("a2 held with %d attempts, want 0: a failure recorded for it outside its claim counted", got[0].Attempts)
	}
	e.finish(pending, []uow.Message{a2, e1})
	e.wantInOutbox([]uow.Message{a2, e1}, false, "after a2 and e1 were published")

	parked, err := e.operator().Parked(e.ctx, 10)
	if noErr(t, err, "Parked") && (len(parked) != 1 || parked[0].ID != c1.ID || parked[0].Reason != "poison" || parked[0].Attempts != 2) {
		t.Errorf("Parked after c1 was parked by Finish = %+v, want c1 with 2 attempts and reason \"poison\"", parked)
	}
	later := e.hold(retry, relayLease, 10)
	got = later.Messages()
	if wantClaimed(t, got, []uow.Message{b1}, "holding at b1's retry time") && got[0].Attempts != 2 {
		t.Errorf("b1 held after two failures with %d attempts, want 2", got[0].Attempts)
	}
	e.finish(later, []uow.Message{b1})
	e.wantInOutbox([]uow.Message{b1}, false, "after b1 was published")

	// A run: a key's messages that none holds back come together, in commit order, and a
	// claim held meanwhile returns none of them.
	run := e.emit(relayed("r", 1), relayed("r", 2), relayed("r", 3))
	held := e.hold(retry, relayLease, 10)
	wantClaimed(t, held.Messages(), run, "holding r1 r2 r3, none of which failed")
	during := e.hold(retry, relayLease, 10)
	wantClaimed(t, during.Messages(), nil, "a second Hold while r1 r2 r3 are held")
	noErr(t, during.Finish(e.ctx, nil, nil), "Finish of the second, empty claim")
	e.finish(held, run[:1], driver.Failure{ID: run[1].ID, RetryAt: retry.Add(time.Hour), Reason: "broker down"})
	behind := e.hold(retry, relayLease, 10)
	wantClaimed(t, behind.Messages(), nil, "holding while r2 retries later (r3 waits behind it)")
	e.finish(behind, nil)
}

// testOutboxHoldConcurrentRelays is OutboxConcurrentRelays with held claims: four relays holding
// batches while a producer commits publish each message once, one relay at a time, in commit
// order per key.
func testOutboxHoldConcurrentRelays(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	h := e.holder()
	now := e.clock.Now()
	concurrentRelays(e, func(ctx context.Context, _ string, limit int) ([]driver.Claimed, func([]string) error, error) {
		held, err := h.Hold(ctx, now, time.Hour, limit)
		if err != nil {
			return nil, nil, fmt.Errorf("driver.Holder.Hold: %w", err)
		}
		return held.Messages(), func(ids []string) error {
			if err := held.Finish(ctx, ids, nil); err != nil {
				return fmt.Errorf("driver.Held.Finish: %w", err)
			}
			return nil
		}, nil
	})
}

// holdLease is the lease of OutboxHoldExpiry's claim, in real time: held claims are transactions.
const holdLease = 300 * time.Millisecond

// testOutboxHoldExpiry: a claim whose relay stops (never finishes) keeps its messages for its
// lease, real time; then another relay holds them, and the late Finish of the first records
// nothing.
func testOutboxHoldExpiry(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	e.holder()
	now := e.clock.Now()
	msgs := e.emit(relayed("a", 1), relayed("a", 2))

	stopped := e.hold(now, holdLease, 10)
	began := time.Now()
	// Should the lease not end the claim, this ends it before the driver closes (a pool waits
	// for its connections); Finish's error is then that of the failed clause's aftermath.
	stoppedDone := false
	t.Cleanup(func() {
		if !stoppedDone {
			_ = stopped.Finish(context.Background(), nil, nil)
		}
	})
	wantClaimed(t, stopped.Messages(), msgs, "the relay that will stop holding")
	early := e.hold(now, relayLease, 10)
	if time.Since(began) < holdLease {
		wantClaimed(t, early.Messages(), nil, "holding within the stopped relay's lease")
	}
	noErr(t, early.Finish(e.ctx, nil, nil), "Finish of the early claim")

	var taken driver.Held
	for deadline := time.Now().Add(returnsWithin); taken == nil; {
		if h := e.hold(now, relayLease, 10); len(h.Messages()) > 0 {
			taken = h
		} else if time.Now().After(deadline) {
			t.Fatalf("a1 was not claimable %v after a claim with a %v lease stopped", returnsWithin, holdLease)
		} else {
			time.Sleep(holdLease / 10)
		}
	}
	if time.Since(began) < holdLease {
		t.Errorf("a1 held again %v after a claim with a %v lease", time.Since(began), holdLease)
	}
	wantClaimed(t, taken.Messages(), msgs, "holding once the stopped relay's lease ended")

	err := stopped.Finish(e.ctx, idsOf(msgs[:1]), nil)
	stoppedDone = true
	if err == nil {
		t.Errorf("the late Finish of a claim that outlived its lease returned nil, want an error")
	} else if errors.Is(err, outbox.ErrInvalid) {
		t.Errorf("the late Finish of a claim that outlived its lease = %v, want the store's error, not outbox.ErrInvalid", err)
	}
	e.wantInOutbox(msgs[:1], true, "after the late Finish of the stopped relay")
	e.finish(taken, msgs[:1])
	e.wantInOutbox(msgs[:1], false, "after the second relay published a1")
}

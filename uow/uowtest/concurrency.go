package uowtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
)

// inUnit runs fn in a unit of its own, begun and ended by the calling goroutine (so it may run
// in any goroutine): rolled back when fn fails, committed otherwise.
func (e *env) inUnit(ctx context.Context, fn func(u *uow.Unit) error) error {
	u, err := e.store.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = u.Rollback(context.Background()) }()
	if err := fn(u); err != nil {
		return err
	}
	return u.Commit(ctx)
}

// wantBlocked checks that a result does not come on ch within blockedFor: the goroutine behind
// it waits for a lock. It returns a channel with the goroutine's result, to await later.
func (e *env) wantBlocked(ch <-chan error, what string) <-chan error {
	e.t.Helper()
	err, returned := wait(ch, blockedFor)
	if !returned {
		return ch
	}
	e.t.Errorf("%s returned (error: %v) while another unit held the lock, want it to wait", what, err)
	done := make(chan error, 1)
	done <- err
	return done
}

// testConflict: of two units that loaded one aggregate and both change or remove it, the first
// commit wins and the second fails with ErrConflict, storing nothing; GetForUpdate of an
// aggregate the unit loaded before another unit changed it fails with ErrConflict.
func testConflict(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	inc := func(_ *uow.Unit, c *counter) error { c.Inc(); return nil }
	del := func(u *uow.Unit, c *counter) error { return uow.Repo[counter, counterID](u).Remove(e.ctx, c) }
	for i, c := range []struct {
		name          string
		first, second func(*uow.Unit, *counter) error
		firstRemoves  bool
	}{
		{"update, then update", inc, inc, false},
		{"remove, then update", del, inc, true},
		{"update, then remove", inc, del, false},
		{"remove, then remove", del, del, true},
	} {
		id := fmt.Sprintf("x%d", i)
		e.seed(id)
		a, b := e.begin(), e.begin()
		ca, cb := e.get(a, id), e.get(b, id)
		noErr(t, c.first(a, ca), c.name+": first unit's change")
		noErr(t, c.second(b, cb), c.name+": second unit's change")
		e.commit(a, c.name+": first unit")
		wantErr(t, b.Commit(e.ctx), uow.ErrConflict, c.name+": second unit's Commit")
		if c.firstRemoves {
			e.wantGone(id, c.name)
		} else {
			e.wantState(id, 1, 2, c.name)
		}
	}

	e.seed("s")
	a := e.begin()
	e.get(a, "s")
	b := e.begin()
	e.get(b, "s").Inc()
	e.commit(b, "a concurrent change")
	_, err := uow.Repo[counter, counterID](a).GetForUpdate(e.ctx, "s")
	wantErr(t, err, uow.ErrConflict, "GetForUpdate of an aggregate loaded before another unit changed it")
	e.rollback(a)
}

// testUnchangedNotWritten: a unit writes only the aggregates it changed, so a concurrent change
// of an aggregate it merely loaded does not make its commit fail, and loading does not move a
// version on.
func testUnchangedNotWritten(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	e.seed("x", "y", "z")

	a := e.begin()
	many, err := uow.Repo[counter, counterID](a).GetMany(e.ctx, "x", "y")
	if err != nil {
		t.Fatalf("GetMany(x, y): %v", err)
	}
	e.get(a, "z")
	many[0].Inc()
	b := e.begin()
	e.get(b, "y").Inc()
	e.get(b, "z").Inc()
	e.commit(b, "another unit changing y and z")
	noErr(t, a.Commit(e.ctx), "Commit of a unit that changed x and only loaded y and z, changed meanwhile")
	e.wantState("x", 1, 2, "the changed aggregate")
	e.wantState("y", 1, 2, "an aggregate only loaded")
	e.wantState("z", 1, 2, "an aggregate only loaded")

	a = e.begin()
	e.get(a, "x")
	e.get(a, "y")
	e.commit(a, "a unit that only loads")
	e.wantState("x", 1, 2, "after a unit that only loaded it")

	if !e.caps().querier {
		return
	}
	a = e.begin()
	if _, err := uow.Repo[counter, counterID](a).Find(e.ctx); err != nil {
		t.Fatalf("Find(): %v", err)
	}
	b = e.begin()
	e.get(b, "y").Inc()
	e.commit(b, "another unit changing y")
	noErr(t, a.Commit(e.ctx), "Commit of a unit that only found y, changed meanwhile")
	e.wantState("y", 2, 3, "an aggregate only found")
}

// testCommitAtomicity: a commit that fails stores nothing of the unit: not the changes of
// aggregates that did not conflict, not inserts, not outbox messages, not inbox marks.
func testCommitAtomicity(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	inbox := e.caps().inbox
	e.seed("x", "y", "w")
	before := len(e.messages())

	// A conflict on the second of two updates.
	a := e.begin()
	e.get(a, "x").Inc()
	e.get(a, "y").Inc()
	e.add(a, "z", 1).Inc()
	noErr(t, a.Emit(uow.Message{Topic: "uowtest.commands", Name: "uowtest.sideEffect"}), "Emit")
	if inbox {
		_, err := a.MarkProcessed(e.ctx, "atomic-consumer", "m1")
		noErr(t, err, "MarkProcessed")
	}
	b := e.begin()
	e.get(b, "y").Inc()
	e.commit(b, "another unit changing y")
	wantErr(t, a.Commit(e.ctx), uow.ErrConflict, "Commit of a unit whose y changed meanwhile")
	e.wantState("x", 0, 1, "x, changed by the unit whose commit failed")
	e.wantState("y", 1, 2, "y, changed by the unit that won")
	e.wantGone("z", "z, added by the unit whose commit failed")
	if inbox && e.processed("atomic-consumer", "m1") {
		t.Errorf("the inbox mark of a unit whose commit failed is stored")
	}
	msgs := e.messages()[before:]
	if len(msgs) != 1 || msgs[0].Key != "y" {
		t.Errorf("after one commit that recorded one event of y and one that failed, the outbox got %v, want the event of y only", describe(msgs))
	}

	// A duplicate insert after an update.
	before += len(msgs)
	a = e.begin()
	e.get(a, "w").Inc()
	e.add(a, "v", 1).Inc()
	noErr(t, a.Emit(uow.Message{Topic: "uowtest.commands", Name: "uowtest.sideEffect"}), "Emit")
	if inbox {
		_, err := a.MarkProcessed(e.ctx, "atomic-consumer", "m2")
		noErr(t, err, "MarkProcessed")
	}
	b = e.begin()
	e.add(b, "v", 9)
	e.commit(b, "another unit adding v")
	err := a.Commit(e.ctx)
	wantErr(t, err, uow.ErrConflict, "Commit of a unit adding v, added meanwhile")
	wantErr(t, err, uow.ErrDuplicate, "Commit of a unit adding v, added meanwhile")
	e.wantState("w", 0, 1, "w, changed by the unit whose commit failed")
	e.wantState("v", 9, 1, "v, added by the unit that won")
	if inbox && e.processed("atomic-consumer", "m2") {
		t.Errorf("the inbox mark of a unit whose commit failed is stored")
	}
	if msgs := e.messages()[before:]; len(msgs) != 0 {
		t.Errorf("a commit that failed stored outbox messages %v", describe(msgs))
	}
}

// describe lists messages briefly, for failure reports.
func describe(msgs []uow.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = fmt.Sprintf("%s(key %s, version %s)", m.Name, m.Key, m.Headers[uow.HeaderVersion])
	}
	return out
}

// testPessimistic: GetForUpdate locks the row until the unit ends: another unit's GetForUpdate
// waits, then sees the committed change; another unit's write of the row does not overwrite
// the holder's; a plain Get does not wait; Rollback releases the lock; a wait honours ctx;
// GetForUpdate of an aggregate loaded without the lock takes the lock; a deadlock is broken with
// ErrConflict; a row removed during the wait is not found.
func testPessimistic(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	e.seed("x")
	getForUpdate := func(ctx context.Context, u *uow.Unit) (*counter, error) {
		return uow.Repo[counter, counterID](u).GetForUpdate(ctx, "x")
	}

	// A second GetForUpdate waits, then sees the change.
	a := e.begin()
	ca, err := getForUpdate(e.ctx, a)
	if err != nil {
		t.Fatalf("GetForUpdate(x): %v", err)
	}
	var sawN int
	var sawVersion int64
	second := async(func() error {
		return e.inUnit(e.ctx, func(u *uow.Unit) error {
			c, err := getForUpdate(e.ctx, u)
			if err != nil {
				return err
			}
			sawN, sawVersion = c.N, c.Version()
			c.Inc()
			return nil
		})
	})
	second = e.wantBlocked(second, "a second unit's GetForUpdate(x)")
	ca.Inc()
	e.commit(a, "the unit holding the lock")
	if noErr(t, await(t, second, "the second unit"), "the second unit, after the first committed") &&
		(sawN != 1 || sawVersion != 2) {
		t.Errorf("the second unit's GetForUpdate(x) saw N=%d at version %d, want the first unit's commit, N=1 at version 2", sawN, sawVersion)
	}
	e.wantState("x", 2, 3, "after both units")

	// A plain Get does not wait for the lock.
	a = e.begin()
	if _, err := getForUpdate(e.ctx, a); err != nil {
		t.Fatalf("GetForUpdate(x): %v", err)
	}
	reader := async(func() error {
		u, err := e.store.Begin(e.ctx)
		if err != nil {
			return err
		}
		defer func() { _ = u.Rollback(context.Background()) }()
		_, err = uow.Repo[counter, counterID](u).Get(e.ctx, "x")
		return err
	})
	if err, ok := wait(reader, 5*time.Second); !ok {
		t.Errorf("a plain Get(x) waited for another unit's lock on x, want it to read at once")
	} else {
		noErr(t, err, "a plain Get(x) while another unit holds the lock")
		reader = nil
	}

	// A write waits for the lock (or gives up with ErrConflict), never overwrites.
	writer := async(func() error {
		return e.inUnit(e.ctx, func(u *uow.Unit) error {
			c, err := uow.Repo[counter, counterID](u).Get(e.ctx, "x")
			if err == nil {
				c.Inc()
			}
			return err
		})
	})
	writerWaited := true
	if err, returned := wait(writer, blockedFor); returned {
		writerWaited = false
		wantErr(t, err, uow.ErrConflict, "a unit writing x while another unit holds its lock")
	}
	e.rollback(a)
	if reader != nil {
		noErr(t, await(t, reader, "the plain Get"), "a plain Get(x)")
	}
	if writerWaited {
		noErr(t, await(t, writer, "the unit writing x"), "a unit writing x, after the lock holder rolled back")
		e.wantState("x", 3, 4, "after the write that waited")
	} else {
		e.wantState("x", 2, 3, "after the write that gave up")
	}

	// Rollback released the lock: GetForUpdate returns at once.
	noErr(t, await(t, async(func() error {
		return e.inUnit(e.ctx, func(u *uow.Unit) error { _, err := getForUpdate(e.ctx, u); return err })
	}), "GetForUpdate after the holder rolled back"), "GetForUpdate after the holder rolled back")

	// A wait honours ctx.
	a = e.begin()
	if _, err := getForUpdate(e.ctx, a); err != nil {
		t.Fatalf("GetForUpdate(x): %v", err)
	}
	short, cancel := context.WithTimeout(e.ctx, 100*time.Millisecond)
	defer cancel()
	err = await(t, async(func() error {
		return e.inUnit(short, func(u *uow.Unit) error { _, err := getForUpdate(short, u); return err })
	}), "GetForUpdate with a short deadline")
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, uow.ErrConflict) {
		t.Errorf("GetForUpdate(x) with a 100ms deadline while another unit holds the lock: got %v, want an error wrapping context.DeadlineExceeded or %q", err, uow.ErrConflict)
	}
	e.rollback(a)

	// GetForUpdate of an aggregate loaded without the lock takes the lock.
	a = e.begin()
	plain := e.get(a, "x")
	locked, err := getForUpdate(e.ctx, a)
	if err != nil {
		t.Fatalf("GetForUpdate(x) after Get(x): %v", err)
	}
	if locked != plain {
		t.Errorf("GetForUpdate(x) after Get(x) returned another pointer")
	}
	second = async(func() error {
		return e.inUnit(e.ctx, func(u *uow.Unit) error { _, err := getForUpdate(e.ctx, u); return err })
	})
	second = e.wantBlocked(second, "GetForUpdate(x) of a unit, after another unit's Get then GetForUpdate")
	e.rollback(a)
	noErr(t, await(t, second, "the waiting GetForUpdate"), "GetForUpdate after the holder rolled back")

	// A deadlock on rows is broken with ErrConflict.
	e.seed("y")
	e.wantDeadlockBroken("GetForUpdate", func(u *uow.Unit, id string) error {
		_, err := uow.Repo[counter, counterID](u).GetForUpdate(e.ctx, counterID(id))
		return err
	}, "x", "y")

	// A row removed while a GetForUpdate waited for it is not found.
	a = e.begin()
	ca, err = getForUpdate(e.ctx, a)
	if err != nil {
		t.Fatalf("GetForUpdate(x): %v", err)
	}
	second = e.wantBlocked(async(func() error {
		return e.inUnit(e.ctx, func(u *uow.Unit) error { _, err := getForUpdate(e.ctx, u); return err })
	}), "GetForUpdate(x) while another unit holds the lock")
	noErr(t, uow.Repo[counter, counterID](a).Remove(e.ctx, ca), "Remove(x)")
	e.commit(a, "the unit holding the lock removing x")
	wantErr(t, await(t, second, "the waiting GetForUpdate"), uow.ErrNotFound, "GetForUpdate(x) that waited while another unit removed x")
}

// testKeyedLocks: Unit.Lock holds keys until the unit ends: another unit's Lock of one of them
// waits; taking keys the unit holds succeeds at once; Rollback releases; a wait honours ctx;
// overlapping key sets in any order do not deadlock; a deadlock across Lock calls is broken
// with ErrConflict.
func testKeyedLocks(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	if !e.caps().keyLocker {
		t.Skipf("the driver's Tx does not implement driver.KeyLocker: no keyed locks to check")
	}
	lockIn := func(ctx context.Context, keys ...string) <-chan error {
		return async(func() error {
			return e.inUnit(ctx, func(u *uow.Unit) error { return u.Lock(ctx, keys...) })
		})
	}

	a := e.begin()
	if err := a.Lock(e.ctx, "k1", "k2"); err != nil {
		t.Fatalf("Lock(k1, k2): %v", err)
	}
	other := e.wantBlocked(lockIn(e.ctx, "k2"), "another unit's Lock(k2)")
	noErr(t, await(t, async(func() error { return a.Lock(e.ctx, "k2", "k1", "k3") }), "Lock of held keys"),
		"Lock(k2, k1, k3) by the unit holding k1 and k2")
	e.commit(a, "the unit holding the keys")
	noErr(t, await(t, other, "the waiting Lock(k2)"), "Lock(k2) after the holder committed")

	a = e.begin()
	if err := a.Lock(e.ctx, "r"); err != nil {
		t.Fatalf("Lock(r): %v", err)
	}
	short, cancel := context.WithTimeout(e.ctx, 100*time.Millisecond)
	defer cancel()
	err := await(t, lockIn(short, "r"), "Lock with a short deadline")
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, uow.ErrConflict) {
		t.Errorf("Lock(r) with a 100ms deadline while another unit holds r: got %v, want an error wrapping context.DeadlineExceeded or %q", err, uow.ErrConflict)
	}
	e.rollback(a)
	noErr(t, await(t, lockIn(e.ctx, "r"), "Lock after Rollback"), "Lock(r) after the holder rolled back")

	// Overlapping sets, given in opposite orders, many times over.
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, keys := range [][]string{{"a", "b"}, {"b", "a"}} {
		wg.Go(func() {
			for range 20 {
				if err := e.inUnit(e.ctx, func(u *uow.Unit) error {
					err := u.Lock(e.ctx, keys...)
					time.Sleep(100 * time.Microsecond)
					return err
				}); err != nil {
					errs <- fmt.Errorf("uow.Unit.Lock%v: %w", keys, err)
					return
				}
			}
		})
	}
	finished := make(chan error, 1)
	go func() { wg.Wait(); close(errs); finished <- nil }()
	await(t, finished, "two units locking {a, b} and {b, a} 20 times each")
	for err := range errs {
		t.Errorf("two units locking overlapping keys in opposite orders: %v", err)
	}

	// A deadlock across Lock calls: one unit holds p and wants q, the other holds q and wants p.
	e.wantDeadlockBroken("Lock", func(u *uow.Unit, key string) error { return u.Lock(e.ctx, key) }, "p", "q")
}

// wantDeadlockBroken makes two units deadlock: each takes one of a and b with take, then the
// other. It checks that the driver breaks the deadlock: at least one of the second takes fails
// with ErrConflict (its unit then rolls back, letting the other go on) and none hangs.
func (e *env) wantDeadlockBroken(what string, take func(u *uow.Unit, id string) error, a, b string) {
	e.t.Helper()
	ready := make(chan error, 2)
	both := make(chan struct{})
	cross := func(first, second string) <-chan error {
		return async(func() error {
			u, err := e.store.Begin(e.ctx)
			if err != nil {
				ready <- err
				return err
			}
			defer func() { _ = u.Rollback(context.Background()) }()
			err = take(u, first)
			ready <- err
			if err != nil {
				return err
			}
			<-both
			return take(u, second) // the deferred Rollback lets the other unit go on
		})
	}
	one, two := cross(a, b), cross(b, a)
	for range 2 {
		select {
		case err := <-ready:
			if err != nil {
				close(both)
				e.t.Fatalf("%s of a free %s: %v", what, a, err)
			}
		case <-time.After(returnsWithin):
			e.t.Fatalf("%s of a free key did not return within %v", what, returnsWithin)
		}
	}
	close(both)
	err1 := await(e.t, one, fmt.Sprintf("%s(%s) of the unit holding %s", what, b, a))
	err2 := await(e.t, two, fmt.Sprintf("%s(%s) of the unit holding %s", what, a, b))
	for _, err := range []error{err1, err2} {
		if err != nil && !errors.Is(err, uow.ErrConflict) {
			e.t.Errorf("%s in a deadlock: got %v, want nil or an error wrapping %q", what, err, uow.ErrConflict)
		}
	}
	if err1 == nil && err2 == nil {
		e.t.Errorf("two units each holding what the other takes with %s both got it, want one to fail with %q", what, uow.ErrConflict)
	}
}

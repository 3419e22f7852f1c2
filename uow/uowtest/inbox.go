package uowtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
)

// mark calls MarkProcessed in u and fails the test if that fails.
func (e *env) mark(u *uow.Unit, consumer, messageID string) bool {
	e.t.Helper()
	already, err := u.MarkProcessed(e.ctx, consumer, messageID)
	if err != nil {
		e.t.Fatalf("MarkProcessed(%q, %q): %v", consumer, messageID, err)
	}
	return already
}

// testInbox: MarkProcessed reports false for a new mark and true once the unit marked it; the mark
// is per consumer; it is stored by Commit and discarded by Rollback; of two units marking one
// message concurrently, the first commit wins and the second fails with ErrConflict, storing
// nothing, and Do's retry then sees the mark.
func testInbox(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	e.requireInbox()
	e.seed("x")

	u := e.begin()
	if e.mark(u, "c1", "m1") {
		t.Errorf("MarkProcessed of a new mark reported already processed")
	}
	if !e.mark(u, "c1", "m1") {
		t.Errorf("MarkProcessed a second time in the same unit reported not processed")
	}
	if e.mark(u, "c2", "m1") {
		t.Errorf("MarkProcessed by another consumer of a message marked by c1 reported already processed")
	}
	e.commit(u, "marking")
	if !e.processed("c1", "m1") || !e.processed("c2", "m1") {
		t.Errorf("a committed inbox mark is not seen by a new unit")
	}
	if e.processed("c1", "m2") {
		t.Errorf("a message never marked is seen as processed")
	}

	u = e.begin()
	e.mark(u, "c1", "m3")
	e.rollback(u)
	if e.processed("c1", "m3") {
		t.Errorf("a rolled-back inbox mark is seen by a new unit")
	}

	a, b := e.begin(), e.begin()
	if e.mark(a, "c1", "m4") || e.mark(b, "c1", "m4") {
		t.Errorf("two units marking a new message concurrently: want both to see it unprocessed")
	}
	e.get(b, "x").Inc()
	e.commit(a, "the first unit marking m4")
	wantErr(t, b.Commit(e.ctx), uow.ErrConflict, "Commit of the second unit marking m4")
	e.wantState("x", 0, 1, "x, changed by the unit whose inbox mark conflicted")

	handle := func(ctx context.Context, u *uow.Unit) error {
		already, err := u.MarkProcessed(ctx, "c1", "m5")
		if err != nil || already {
			return err
		}
		c, err := uow.Repo[counter, counterID](u).Get(ctx, "x")
		if err == nil {
			c.Inc()
		}
		return err
	}
	for range 2 {
		noErr(t, uow.Do(e.ctx, e.store, handle, fastRetries), "Do of an idempotent handler")
	}
	e.wantState("x", 1, 2, "a message handled twice through the inbox")
}

// testInboxPurge: Store.PurgeInbox deletes the marks made before the time it is given (the
// store's clock's time less an hour here), and only those.
func testInboxPurge(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	e.requireInbox()
	if _, err := e.store.PurgeInbox(e.ctx, e.clock.Now()); errors.Is(err, uow.ErrUnsupported) {
		t.Skipf("the driver does not implement driver.InboxPurger: no inbox purge to check")
	} else if err != nil {
		t.Fatalf("PurgeInbox of an empty inbox: %v", err)
	}
	purge := func(want int, why string) {
		t.Helper()
		n, err := e.store.PurgeInbox(e.ctx, e.clock.Now().Add(-time.Hour))
		if err != nil {
			t.Fatalf("PurgeInbox: %v", err)
		}
		if n != want {
			t.Errorf("%s: PurgeInbox(an hour ago) deleted %d marks, want %d", why, n, want)
		}
	}

	u := e.begin()
	e.mark(u, "c", "old")
	e.commit(u, "the old mark")
	e.clock.advance(2 * time.Hour)
	u = e.begin()
	e.mark(u, "c", "new")
	e.commit(u, "the new mark")

	purge(1, "one mark 2h old, one new")
	if e.processed("c", "old") {
		t.Errorf("the mark made before the time is still there after PurgeInbox")
	}
	if !e.processed("c", "new") {
		t.Errorf("the mark made after the time is gone after PurgeInbox")
	}
	purge(0, "nothing old left")
	e.clock.advance(2 * time.Hour)
	purge(1, "the new mark, now 2h old")
	if e.processed("c", "new") {
		t.Errorf("the mark made before the time is still there after PurgeInbox")
	}
}

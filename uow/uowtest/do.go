package uowtest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
)

// fastRetries keeps the Do clauses quick.
var fastRetries = &uow.DoOptions{MaxAttempts: 5, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}

// testDoRetriesConflicts: Do runs the whole function again in a new unit when the commit or the
// function fails with ErrConflict, and the retry sees the state that won; failed attempts store
// nothing; when the attempts run out the error wraps ErrConflict.
func testDoRetriesConflicts(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	e.seed("x")

	attempts := 0
	err := uow.Do(e.ctx, e.store, func(ctx context.Context, u *uow.Unit) error {
		attempts++
		c, err := uow.Repo[counter, counterID](u).Get(ctx, "x")
		if err != nil {
			return err
		}
		if attempts == 1 { // another unit changes x between this load and this commit
			if err := e.inUnit(ctx, func(other *uow.Unit) error {
				o, err := uow.Repo[counter, counterID](other).Get(ctx, "x")
				if err == nil {
					o.Inc()
				}
				return err
			}); err != nil {
				return fmt.Errorf("uowtest: the interfering unit: %v", err) // not a conflict: Do stops
			}
		}
		c.Inc()
		return nil
	}, fastRetries)
	noErr(t, err, "Do whose first commit conflicts")
	if attempts != 2 {
		t.Errorf("Do whose first commit conflicts ran the function %d times, want 2", attempts)
	}
	e.wantState("x", 2, 3, "after Do retried a conflicting commit")

	attempts = 0
	err = uow.Do(e.ctx, e.store, func(ctx context.Context, u *uow.Unit) error {
		attempts++
		e.get(u, "x").Inc()
		if attempts < 3 {
			return fmt.Errorf("uowtest: simulated: %w", uow.ErrConflict)
		}
		return nil
	}, fastRetries)
	noErr(t, err, "Do whose function returns ErrConflict twice")
	if attempts != 3 {
		t.Errorf("Do whose function returns ErrConflict twice ran it %d times, want 3", attempts)
	}
	e.wantState("x", 3, 4, "after Do retried a function returning ErrConflict (only the last attempt stored)")

	attempts = 0
	err = uow.Do(e.ctx, e.store, func(ctx context.Context, u *uow.Unit) error {
		attempts++
		e.get(u, "x").Inc()
		return fmt.Errorf("uowtest: simulated: %w", uow.ErrConflict)
	}, &uow.DoOptions{MaxAttempts: 3, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	wantErr(t, err, uow.ErrConflict, "Do whose function always conflicts")
	if attempts != 3 {
		t.Errorf("Do with MaxAttempts 3 whose function always conflicts ran it %d times, want 3", attempts)
	}
	e.wantState("x", 3, 4, "after Do gave up")
}

// testDoDoesNotRetry: Do returns business-rule errors and other errors of the function at once,
// after one attempt, and rolls the unit back: nothing of it is stored. A duplicate the commit
// finds (another unit inserted the ID after Add found it free) is a lost race, a conflict: Do
// runs the function again, whose Add then finds the ID stored and returns ErrDuplicate, which
// Do does not retry.
func testDoDoesNotRetry(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	e.seed("x")
	inbox := e.caps().inbox
	before := len(e.messages())
	errOther := errors.New("uowtest: a technical failure")

	for _, c := range []struct {
		name string
		ret  error
		want error
	}{
		{"a business-rule error", fmt.Errorf("%w: detail", errRule), errRule},
		{"another error", errOther, errOther},
	} {
		attempts := 0
		err := uow.Do(e.ctx, e.store, func(ctx context.Context, u *uow.Unit) error {
			attempts++
			e.get(u, "x").Inc()
			e.add(u, "new", 1)
			if err := u.Emit(uow.Message{Topic: "uowtest.commands", Name: "uowtest.sideEffect"}); err != nil {
				return err
			}
			if inbox {
				if _, err := u.MarkProcessed(ctx, "do-consumer", "m1"); err != nil {
					return err
				}
			}
			return c.ret
		}, fastRetries)
		wantErr(t, err, c.want, "Do whose function returns "+c.name)
		if attempts != 1 {
			t.Errorf("Do whose function returns %s ran it %d times, want 1", c.name, attempts)
		}
		e.wantState("x", 0, 1, "after Do failed with "+c.name)
		e.wantGone("new", "after Do failed with "+c.name)
		if inbox && e.processed("do-consumer", "m1") {
			t.Errorf("after Do failed with %s the inbox mark is stored", c.name)
		}
		if msgs := e.messages()[before:]; len(msgs) != 0 {
			t.Errorf("after Do failed with %s the outbox got %v", c.name, describe(msgs))
		}
	}

	attempts := 0
	err := uow.Do(e.ctx, e.store, func(ctx context.Context, u *uow.Unit) error {
		attempts++
		if err := uow.Repo[counter, counterID](u).Add(ctx, newCounter(t, "dup")); err != nil {
			return err
		}
		if attempts == 1 {
			return e.inUnit(ctx, func(other *uow.Unit) error {
				return uow.Repo[counter, counterID](other).Add(ctx, newCounter(t, "dup"))
			})
		}
		return nil
	}, fastRetries)
	wantErr(t, err, uow.ErrDuplicate, "Do whose commit inserts an ID another unit inserted meanwhile")
	if errors.Is(err, uow.ErrConflict) {
		t.Errorf("Do whose second attempt's Add finds the ID stored: error %v wraps uow.ErrConflict, want ErrDuplicate alone", err)
	}
	if attempts != 2 {
		t.Errorf("Do whose first commit lost the race to insert an ID ran the function %d times, want 2 "+
			"(the lost race retried, then Add refusing the stored ID)", attempts)
	}
	e.wantState("dup", 0, 1, "the other unit's insert")
}

// testDoPanic: when the function panics, Do rolls the unit back (nothing stored, locks
// released) and the panic goes on with its value.
func testDoPanic(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	e.seed("x")
	before := len(e.messages())
	type boom struct{ msg string }

	recovered := func() (p any) {
		defer func() { p = recover() }()
		_ = uow.Do(e.ctx, e.store, func(ctx context.Context, u *uow.Unit) error {
			c, err := uow.Repo[counter, counterID](u).GetForUpdate(ctx, "x")
			if err != nil {
				return err
			}
			c.Inc()
			e.add(u, "new", 1)
			if err := u.Emit(uow.Message{Topic: "uowtest.commands", Name: "uowtest.sideEffect"}); err != nil {
				return err
			}
			panic(boom{"the function panicked"})
		}, fastRetries)
		return nil
	}()
	if b, ok := recovered.(boom); !ok || b.msg != "the function panicked" {
		t.Errorf("Do whose function panics: recovered %v, want the function's panic value", recovered)
	}
	e.wantState("x", 0, 1, "after the function panicked")
	e.wantGone("new", "after the function panicked")
	if msgs := e.messages()[before:]; len(msgs) != 0 {
		t.Errorf("after the function panicked the outbox got %v", describe(msgs))
	}
	// The lock GetForUpdate took was released by the rollback.
	noErr(t, await(t, async(func() error {
		return e.inUnit(e.ctx, func(u *uow.Unit) error {
			_, err := uow.Repo[counter, counterID](u).GetForUpdate(e.ctx, "x")
			return err
		})
	}), "GetForUpdate(x) after the panic"), "GetForUpdate(x) after a panic in a unit holding its lock")
}

// testDoContext: Do with a cancelled context, or one cancelled while the function runs, returns
// the context's error and stores nothing.
func testDoContext(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	e.seed("x")
	before := len(e.messages())
	change := func(ctx context.Context, u *uow.Unit) error {
		c, err := uow.Repo[counter, counterID](u).Get(ctx, "x")
		if err != nil {
			return err
		}
		c.Inc()
		return u.Emit(uow.Message{Topic: "uowtest.commands", Name: "uowtest.sideEffect"})
	}

	cancelled, cancel := context.WithCancel(e.ctx)
	cancel()
	err := uow.Do(cancelled, e.store, change, fastRetries)
	wantErr(t, err, context.Canceled, "Do with a cancelled context")

	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	err = uow.Do(ctx, e.store, func(ctx context.Context, u *uow.Unit) error {
		if err := change(ctx, u); err != nil {
			return err
		}
		cancel()
		return nil
	}, fastRetries)
	wantErr(t, err, context.Canceled, "Do whose context is cancelled while the function runs")

	e.wantState("x", 0, 1, "after Do was cancelled")
	if msgs := e.messages()[before:]; len(msgs) != 0 {
		t.Errorf("after Do was cancelled the outbox got %v", describe(msgs))
	}
}

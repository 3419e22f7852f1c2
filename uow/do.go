package uow

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/dddkit/ddd/aggregate"
)

// DoOptions tune [Do]. The zero value (or nil) means the defaults.
type DoOptions struct {
	// MaxAttempts bounds how many times fn runs when it keeps meeting conflicts; 0 means 10.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the wait before a retry: attempt n waits a random time up
	// to min(MaxBackoff, MinBackoff×2^(n-1)) ("full jitter", so racing units spread out).
	// 0 means 2ms and 200ms.
	MinBackoff, MaxBackoff time.Duration
}

func (o *DoOptions) withDefaults() DoOptions {
	var d DoOptions
	if o != nil {
		d = *o
	}
	if d.MaxAttempts <= 0 {
		d.MaxAttempts = 10
	}
	if d.MinBackoff <= 0 {
		d.MinBackoff = 2 * time.Millisecond
	}
	if d.MaxBackoff <= 0 {
		d.MaxBackoff = 200 * time.Millisecond
	}
	if d.MaxBackoff < d.MinBackoff {
		d.MaxBackoff = d.MinBackoff
	}
	return d
}

// Do runs fn in a fresh unit of work and commits it. When fn or the commit fails with an error
// wrapping [ErrConflict] (a version mismatch, or a serialization failure, deadlock or lock
// timeout the driver reports as one), Do runs the whole of fn again in a new unit, up to
// MaxAttempts times with jittered exponential backoff; fn must therefore have no effects outside
// the unit, or only idempotent ones. Any other error, business-rule errors above all, is returned
// at once, unretried. On an error or a panic in fn the unit is rolled back (and the panic goes
// on); when ctx is cancelled the unit is rolled back and ctx's error returned.
//
// Do is safe for concurrent use. Errors are fn's, the driver's (wrapping ErrConflict,
// ErrDuplicate, ...), or ctx's; when the attempts run out the last conflict is returned, wrapped.
func Do(ctx context.Context, s *Store, fn func(ctx context.Context, u *Unit) error, opts *DoOptions) error {
	_, err := do(ctx, s, "", fn, opts)
	return err
}

// do is Do that also returns how many attempts it made; its units run the named command ("" for
// none).
func do(ctx context.Context, s *Store, command string, fn func(context.Context, *Unit) error, opts *DoOptions) (int, error) {
	o := opts.withDefaults()
	for attempt := 1; ; attempt++ {
		err := once(ctx, s.Begin, command, fn)
		if err == nil {
			return attempt, nil
		}
		if !retryable(err) {
			return attempt, err
		}
		if attempt >= o.MaxAttempts {
			return attempt, fmt.Errorf("uow: gave up after %d attempts: %w", attempt, err)
		}
		ceiling := o.MinBackoff << min(attempt-1, 30)
		if ceiling > o.MaxBackoff || ceiling <= 0 {
			ceiling = o.MaxBackoff
		}
		wait := time.NewTimer(rand.N(ceiling) + 1)
		select {
		case <-ctx.Done():
			wait.Stop()
			return attempt, ctx.Err()
		case <-wait.C:
		}
	}
}

// retryable reports whether Do retries err: conflicts, never business-rule errors.
func retryable(err error) bool {
	return errors.Is(err, ErrConflict) && !errors.Is(err, aggregate.ErrRule)
}

// DoIn runs fn once in a unit joined to tx, a transaction of your own (see [Store.Join]), and
// commits the unit into tx: the unit's aggregates, messages and inbox marks are written in tx,
// to become visible when you commit tx, with the statements you ran in it. On an error or a
// panic in fn, or a failed commit, the unit is rolled back (the panic goes on): what it wrote
// is undone and tx stays usable, to commit your own work or roll it back; when ctx is cancelled
// the unit is rolled back and ctx's error returned. When the unit cannot be undone, because the
// backend ended tx itself (InnoDB rolls back a deadlock victim's whole transaction), the error
// says so: roll tx back.
//
// Unlike [Do], DoIn never retries: a conflict may come from what you read in tx before, which
// only a new transaction reads again. An error wrapping [ErrConflict] (a version mismatch, a
// serialization failure, deadlock or lock timeout) therefore tells you to roll tx back and run
// your whole transaction again. Errors are fn's, the driver's, [Store.Join]'s (wrapping
// [ErrUnsupported] for a driver that cannot join, [ErrInvalid] for a tx of the wrong type), or
// ctx's.
func DoIn(ctx context.Context, s *Store, tx any, fn func(ctx context.Context, u *Unit) error) error {
	err := once(ctx, func(ctx context.Context) (*Unit, error) { return s.Join(ctx, tx) }, "", fn)
	if retryable(err) {
		return fmt.Errorf("uow: conflict in a unit joined to your transaction: roll the transaction back and run it again: %w", err)
	}
	return err
}

// once runs fn in one unit, begun by begin and running the named command ("" for none), and
// commits it.
func once(ctx context.Context, begin func(context.Context) (*Unit, error), command string, fn func(context.Context, *Unit) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	u, err := begin(ctx)
	if err != nil {
		return err
	}
	u.command = command
	cleanup := context.WithoutCancel(ctx)
	defer func() {
		if p := recover(); p != nil {
			_ = u.Rollback(cleanup)
			panic(p)
		}
	}()
	if err := fn(ctx, u); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = ctxErr
		}
		return rollback(cleanup, u, err)
	}
	if err := ctx.Err(); err != nil {
		return rollback(cleanup, u, err)
	}
	return u.Commit(ctx)
}

// rollback rolls back u, which failed with err, and returns err. A joined unit whose rollback
// fails could not be undone in the caller's transaction (the backend ended it, as InnoDB ends a
// deadlock's victim): the error says so, for the caller to roll its transaction back.
func rollback(ctx context.Context, u *Unit, err error) error {
	if rerr := u.Rollback(ctx); rerr != nil && u.joined {
		return fmt.Errorf("%w; undoing the unit in your transaction failed too, roll it back: %w", err, rerr)
	}
	return err
}

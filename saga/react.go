package saga

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
)

// ReactOptions tune React. The zero value (or nil) means the defaults.
type ReactOptions struct {
	// Do tunes the retries of conflicts; nil means uow.Do's defaults.
	Do *uow.DoOptions
	// Rejected, if set, runs when the command broke a business rule (its error matches
	// aggregate.ErrRule), in a new unit of work with the inbox mark of the message: emit the
	// failure event the other side waits for there (seed 002's donation that bounced for
	// insufficient funds and told nobody). A rejection is final: the message is marked handled
	// and not retried. nil only logs it.
	Rejected func(ctx context.Context, u *uow.Unit, m uow.Message, rule error) error
	// Logger receives an Info record per rejection; nil means slog.Default().
	Logger *slog.Logger
}

// React is choreography at the edge of a bounded context (seed 003: events become commands at
// the boundary): it returns a Handler that translates each message into a command of this
// context and runs the command's Handle in a unit of work of store with the inbox mark of
// (consumer, message ID), so a redelivered message has no second effect. translate returns nil
// (a nil interface) for a message the context does not react to (it is then ignored, unmarked),
// and an error for one it cannot read (returned wrapping ErrInvalid, so the relay retries and
// finally parks it). A message without an ID is an error wrapping ErrInvalid.
//
// A command that breaks a business rule is rejected for good: the rejection is marked handled
// and opts.Rejected, if set, reacts to it. Technical errors and exhausted conflicts are returned,
// so the message is delivered again.
func React(store *uow.Store, consumer string, translate func(m uow.Message) (uow.Command, error), opts *ReactOptions) outbox.Handler {
	var o ReactOptions
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	log := o.Logger.With("consumer", consumer)
	return func(ctx context.Context, m uow.Message) error {
		if m.ID == "" {
			return fmt.Errorf("%w: %s: message %s has no ID to deduplicate on", ErrInvalid, consumer, m.Name)
		}
		cmd, err := translate(m)
		if err != nil {
			return fmt.Errorf("%w: %s reading message %s (%s): %w", ErrInvalid, consumer, m.Name, m.ID, err)
		}
		if cmd == nil {
			return nil
		}
		err = outbox.Idempotent(store, consumer, func(ctx context.Context, u *uow.Unit, _ uow.Message) error {
			return cmd.Handle(ctx, u)
		}, o.Do)(ctx, m)
		if err == nil || !errors.Is(err, aggregate.ErrRule) {
			return err
		}
		rule := err
		log.Info("command rejected", "message", m.Name, "id", m.ID, "rule", rule)
		return outbox.Idempotent(store, consumer, func(ctx context.Context, u *uow.Unit, m uow.Message) error {
			if o.Rejected == nil {
				return nil
			}
			return o.Rejected(ctx, u, m, rule)
		}, o.Do)(ctx, m)
	}
}

package saga

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"

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
// finally parks it); [Translate] makes one from typed translations, without a switch on the
// message's name nor hand-written decoding. A message without an ID is an error wrapping
// ErrInvalid.
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

// Translation is one entry of [Translate]: a typed translation made by [On].
type Translation struct {
	name string
	f    func(m uow.Message) (uow.Command, error)
	err  error // what On found wrong
}

// On translates the messages named by E's EventName (a constant of the type, see
// aggregate.NameOf) with f, which gets the payload decoded into an E by outbox.Decode, and the
// message. A problem with E (an interface type, an empty or panicking EventName) or a nil f
// makes [Translate] fail.
func On[E aggregate.Event](f func(e E, m uow.Message) (uow.Command, error)) Translation {
	name, err := aggregate.NameOf[E]()
	if err == nil && f == nil {
		err = errors.New("nil translation")
	}
	if err != nil {
		return Translation{err: fmt.Errorf("%w: On[%s]: %w", ErrInvalid, reflect.TypeFor[E](), err)}
	}
	return Translation{name: name, f: func(m uow.Message) (uow.Command, error) {
		e, err := outbox.Decode[E](m)
		if err != nil {
			return nil, err
		}
		return f(e, m)
	}}
}

// Translate returns a translate function for [React] that hands each message to the translation
// of its name, decoded. A message whose name none of them has is, with outbox.SkipUnknown, not
// reacted to (nil, nil: React ignores it and marks nothing), and with outbox.RejectUnknown an
// error wrapping outbox.ErrNoRoute (React returns it wrapping ErrInvalid, so the relay retries
// and parks it). Every problem is reported in one error wrapping ErrInvalid: an unknown policy
// that is neither of the two, two translations of one name, and what On found.
func Translate(unknown outbox.Unknown, ts ...Translation) (func(m uow.Message) (uow.Command, error), error) {
	byName := make(map[string]func(uow.Message) (uow.Command, error), len(ts))
	var problems []error
	if unknown != outbox.RejectUnknown && unknown != outbox.SkipUnknown {
		problems = append(problems, fmt.Errorf("%w: unknown names: choose outbox.RejectUnknown or outbox.SkipUnknown, not %d", ErrInvalid, unknown))
	}
	for i, t := range ts {
		switch _, dup := byName[t.name]; {
		case t.err != nil:
			problems = append(problems, fmt.Errorf("translation %d: %w", i, t.err))
		case t.f == nil:
			problems = append(problems, fmt.Errorf("translation %d: %w: the zero Translation: make translations with On", i, ErrInvalid))
		case dup:
			problems = append(problems, fmt.Errorf("translation %d: %w: a second translation of %q", i, ErrInvalid, t.name))
		default:
			byName[t.name] = t.f
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("saga: translate: %w", errors.Join(problems...))
	}
	return func(m uow.Message) (uow.Command, error) {
		if f, ok := byName[m.Name]; ok {
			return f(m)
		}
		if unknown == outbox.SkipUnknown {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: message %s %q on topic %q", outbox.ErrNoRoute, m.ID, m.Name, m.Topic)
	}, nil
}

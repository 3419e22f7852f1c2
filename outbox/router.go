package outbox

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/uow"
)

// Unknown is what a [Router] does with a message whose name none of its routes has. It has no
// default: NewRouter needs one of the two.
type Unknown int

const (
	// RejectUnknown fails such a message with an error wrapping [ErrNoRoute], so the relay
	// retries it and finally parks it: for a topic whose every message the consumer must
	// handle (its own commands), where an unknown name is a mistake to see, not to lose.
	RejectUnknown Unknown = iota + 1
	// SkipUnknown returns nil for such a message: for a topic other consumers share, whose
	// other messages are not this consumer's business (a tolerant reader).
	SkipUnknown
)

// Route is one entry of a [Router]: a typed handler made by [On], or names skipped on purpose
// made by [Skip].
type Route struct {
	names []string
	h     func(ctx context.Context, u *uow.Unit, m uow.Message) error // nil for Skip
	err   error                                                       // what On or Skip found wrong
}

// On routes the messages named by E's EventName (see [aggregate.NameOf]: it must be a constant
// of the type) to h, which gets the payload decoded into an E and the message, for its headers.
// A problem with E (an interface type, an empty or panicking EventName) or a nil h makes
// [NewRouter] fail.
func On[E aggregate.Event](h func(ctx context.Context, u *uow.Unit, e E, m uow.Message) error) Route {
	name, err := aggregate.NameOf[E]()
	if err == nil && h == nil {
		err = errors.New("nil handler")
	}
	if err != nil {
		return Route{err: fmt.Errorf("%w: On[%s]: %w", ErrInvalid, reflect.TypeFor[E](), err)}
	}
	return Route{names: []string{name}, h: func(ctx context.Context, u *uow.Unit, m uow.Message) error {
		e, err := decodeAs[E](m, name)
		if err != nil {
			return err
		}
		return h(ctx, u, e, m)
	}}
}

// Skip routes the messages with the given names nowhere: the router returns nil for them, whatever
// its Unknown policy. With RejectUnknown it lists what the consumer ignores on purpose. An
// empty name makes [NewRouter] fail.
func Skip(names ...string) Route {
	if len(names) == 0 || slices.Contains(names, "") {
		return Route{err: fmt.Errorf("%w: Skip needs non-empty names", ErrInvalid)}
	}
	return Route{names: slices.Clone(names)}
}

// Router dispatches messages by name to typed handlers: a consumer's or a projection's handler,
// without a switch on Message.Name nor hand-written decoding. Make one with [NewRouter]; it is
// immutable and safe for concurrent use.
//
//	r, err := outbox.NewRouter(outbox.SkipUnknown,
//		outbox.On(func(ctx context.Context, u *uow.Unit, e OrderPlaced, m uow.Message) error { ... }),
//		outbox.On(func(ctx context.Context, u *uow.Unit, e OrderCancelled, m uow.Message) error { ... }),
//	)
//	bus.Subscribe("orders", "billing", r.Idempotent(store, "billing", nil))
type Router struct {
	unknown  Unknown
	handlers map[string]func(ctx context.Context, u *uow.Unit, m uow.Message) error
	skipped  map[string]bool
}

// NewRouter returns a router with the given routes and policy for unknown names. Every problem
// it finds is reported in one error wrapping [ErrInvalid] (and [aggregate.ErrInvalidEvent] when
// an event type has no constant name): an Unknown that is neither RejectUnknown nor SkipUnknown,
// a name two routes claim (two event types with one name, an event type both handled and
// skipped), the zero Route, and the problems On and Skip found.
func NewRouter(unknown Unknown, routes ...Route) (*Router, error) {
	r := &Router{unknown: unknown, handlers: map[string]func(context.Context, *uow.Unit, uow.Message) error{},
		skipped: map[string]bool{}}
	var problems []error
	if unknown != RejectUnknown && unknown != SkipUnknown {
		problems = append(problems, fmt.Errorf("%w: unknown names: choose RejectUnknown or SkipUnknown, not %d", ErrInvalid, unknown))
	}
	for i, rt := range routes {
		if rt.err == nil && len(rt.names) == 0 {
			rt.err = fmt.Errorf("%w: the zero Route: make routes with On or Skip", ErrInvalid)
		}
		if rt.err != nil {
			problems = append(problems, fmt.Errorf("route %d: %w", i, rt.err))
			continue
		}
		for _, n := range rt.names {
			if _, dup := r.handlers[n]; dup || r.skipped[n] {
				problems = append(problems, fmt.Errorf("route %d: %w: a second route for %q", i, ErrInvalid, n))
				continue
			}
			if rt.h == nil {
				r.skipped[n] = true
			} else {
				r.handlers[n] = rt.h
			}
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("outbox: router: %w", errors.Join(problems...))
	}
	return r, nil
}

// Handle handles m in u: the handler of its name runs with the decoded payload. A skipped name
// returns nil, and so does an unknown one with SkipUnknown; an unknown name with RejectUnknown is
// an error wrapping [ErrNoRoute]. Decoding errors are those of [Decode]; the handler's are
// returned as they are. Its signature fits [Idempotent]; [Router.Idempotent] also spares skipped
// messages their unit of work.
func (r *Router) Handle(ctx context.Context, u *uow.Unit, m uow.Message) error {
	h, ok := r.handlers[m.Name]
	if !ok {
		return r.unrouted(m)
	}
	return h(ctx, u, m)
}

// unrouted is the outcome of a message no handler takes: nil, or an error wrapping ErrNoRoute.
func (r *Router) unrouted(m uow.Message) error {
	if r.skipped[m.Name] || r.unknown == SkipUnknown {
		return nil
	}
	return fmt.Errorf("%w: message %s %q on topic %q", ErrNoRoute, m.ID, m.Name, m.Topic)
}

// Idempotent returns the Handler that runs r.Handle as [Idempotent] does, in a unit of work of
// store with the inbox mark of (consumer, message ID), conflicts retried with opts. A message
// the router has no handler for opens no unit and leaves no mark: nil when it is skipped, an
// error wrapping [ErrNoRoute] when it is unknown and the router rejects unknown names.
func (r *Router) Idempotent(store *uow.Store, consumer string, opts *uow.DoOptions) Handler {
	h := Idempotent(store, consumer, r.Handle, opts)
	return func(ctx context.Context, m uow.Message) error {
		if _, ok := r.handlers[m.Name]; !ok {
			return r.unrouted(m)
		}
		return h(ctx, m)
	}
}

// Decode reads m as an event of type E: its name must be E's (see [aggregate.NameOf]), and its
// payload decodes into an E whose EventName is that name again. A message of another name, a
// payload that does not decode (null included) and an E whose decoded EventName differs (an
// EventName that reads the event's fields) are errors wrapping [ErrInvalid]; a problem with E
// itself wraps [aggregate.ErrInvalidEvent].
func Decode[E aggregate.Event](m uow.Message) (E, error) {
	name, err := aggregate.NameOf[E]()
	if err != nil {
		var zero E
		return zero, err
	}
	return decodeAs[E](m, name)
}

// decodeAs is Decode with E's name already known.
func decodeAs[E aggregate.Event](m uow.Message, name string) (E, error) {
	var e E
	if m.Name != name {
		return e, fmt.Errorf("%w: message %s is a %q, not a %s (%q)", ErrInvalid, m.ID, m.Name, reflect.TypeFor[E](), name)
	}
	if err := m.Decode(&e); err != nil {
		return e, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if v := reflect.ValueOf(&e).Elem(); v.Kind() == reflect.Pointer && v.IsNil() {
		return e, fmt.Errorf("%w: message %s %q: null payload", ErrInvalid, m.ID, m.Name)
	}
	if got := e.EventName(); got != name {
		return e, fmt.Errorf("%w: message %s decodes into a %s named %q, not %q: EventName must be a constant of the type",
			ErrInvalid, m.ID, reflect.TypeFor[E](), got, name)
	}
	return e, nil
}

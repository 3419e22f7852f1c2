package outbox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/dddkit/ddd/uow"
)

// Handler handles one message. An error makes the delivery fail: the relay retries it later
// (and the other subscriptions of the topic may receive the message again), so handlers must be
// idempotent; [Idempotent] makes one so with the inbox.
type Handler func(ctx context.Context, m uow.Message) error

// Bus is an in-process publisher: topics and named subscriptions, for a modular monolith whose
// bounded contexts talk only through messages. Publish delivers every message to every
// subscription of its topic, synchronously and in order, and fails when a handler fails. The zero
// Bus is ready to use; it is safe for concurrent use.
type Bus struct {
	mu   sync.RWMutex
	subs map[string][]subscription
}

type subscription struct {
	name string
	h    Handler
}

var _ Publisher = (*Bus)(nil)

// Subscribe adds handler h, named name (the consumer, unique per topic), to topic, and returns a
// function that removes it. An empty topic or name, a nil handler or a name taken on the topic is
// an error wrapping [ErrInvalid].
func (b *Bus) Subscribe(topic, name string, h Handler) (unsubscribe func(), err error) {
	if topic == "" || name == "" || h == nil {
		return nil, fmt.Errorf("%w: a subscription needs a topic, a name and a handler", ErrInvalid)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs == nil {
		b.subs = make(map[string][]subscription)
	}
	if slices.ContainsFunc(b.subs[topic], func(s subscription) bool { return s.name == name }) {
		return nil, fmt.Errorf("%w: %q already subscribes to %q", ErrInvalid, name, topic)
	}
	b.subs[topic] = append(b.subs[topic], subscription{name: name, h: h})
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.subs[topic] = slices.DeleteFunc(b.subs[topic], func(s subscription) bool { return s.name == name })
	}, nil
}

// Publish delivers msgs in order to the subscriptions of their topics (a topic without
// subscriptions drops its messages). It stops at the first failing message and returns its error,
// naming the subscription; the messages before it were delivered.
func (b *Bus) Publish(ctx context.Context, msgs []uow.Message) error {
	for _, m := range msgs {
		b.mu.RLock()
		subs := b.subs[m.Topic]
		b.mu.RUnlock()
		var errs []error
		for _, s := range subs {
			if err := s.h(ctx, m); err != nil {
				errs = append(errs, fmt.Errorf("outbox: %s handling %s %s: %w", s.name, m.Name, m.ID, err))
			}
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
	}
	return nil
}

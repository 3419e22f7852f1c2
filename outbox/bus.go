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
// subscription of its topic, synchronously and in order, and fails a message when a handler
// fails, or when nothing takes it: a topic with no subscription is an error unless it was
// declared with Discard, so a mistyped subscription or a renamed topic never loses a message
// that a relay then acknowledges. The zero Bus is ready to use; it is safe for concurrent use.
type Bus struct {
	mu      sync.RWMutex
	subs    map[string][]subscription
	discard map[string]bool
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
	// A topic's slice is never changed in place: Publish reads it after unlocking.
	b.subs[topic] = append(slices.Clip(b.subs[topic]), subscription{name: name, h: h})
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.subs[topic] = slices.DeleteFunc(slices.Clone(b.subs[topic]), func(s subscription) bool { return s.name == name })
	}, nil
}

// Discard declares topics whose messages the bus may drop: Publish counts a message on one of
// them as published when no subscription takes it (and delivers it as usual when one does).
// Declare the topics a process publishes on purpose for no in-process consumer (events only
// other processes read, through another publisher), so that dropping them is a decision in code.
// An empty topic is an error wrapping [ErrInvalid], and declares none of the topics.
func (b *Bus) Discard(topics ...string) error {
	if slices.Contains(topics, "") {
		return fmt.Errorf("%w: Discard needs non-empty topics", ErrInvalid)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.discard == nil {
		b.discard = make(map[string]bool, len(topics))
	}
	for _, t := range topics {
		b.discard[t] = true
	}
	return nil
}

// Publish delivers msgs in order to the subscriptions of their topics. A message fails when a
// subscription's handler fails (naming the subscription; the others received it), or when its
// topic has no subscription and was not declared with Discard (an error wrapping
// [ErrNoSubscriber] that names the topic). After a failed message, Publish delivers no later
// message of the same key (each fails, held back behind it), so a key's messages never arrive out
// of order, and goes on with the other keys. It returns nil when every message was published, and
// a [*PublishError] saying which ones failed otherwise.
func (b *Bus) Publish(ctx context.Context, msgs []uow.Message) error {
	var errs []error
	var failedKeys map[string]string // key -> ID of its failed message
	for i, m := range msgs {
		err := b.heldBack(m, failedKeys)
		if err == nil {
			err = b.deliver(ctx, m)
		}
		if err == nil {
			continue
		}
		if errs == nil {
			errs = make([]error, len(msgs))
			failedKeys = make(map[string]string)
		}
		errs[i] = err
		if _, ok := failedKeys[m.Key]; !ok {
			failedKeys[m.Key] = m.ID
		}
	}
	if errs == nil {
		return nil
	}
	return &PublishError{Errs: errs}
}

// heldBack returns an error when an earlier message of m's key failed in this call.
func (b *Bus) heldBack(m uow.Message, failedKeys map[string]string) error {
	if first, ok := failedKeys[m.Key]; ok {
		return fmt.Errorf("outbox: message %s (%s) held back behind the failed message %s of its key %q", m.ID, m.Name, first, m.Key)
	}
	return nil
}

// deliver hands m to every subscription of its topic.
func (b *Bus) deliver(ctx context.Context, m uow.Message) error {
	b.mu.RLock()
	subs, discard := b.subs[m.Topic], b.discard[m.Topic]
	b.mu.RUnlock()
	if len(subs) == 0 {
		if discard {
			return nil
		}
		return fmt.Errorf("%w: topic %q of message %s (%s): subscribe to it, or declare it with Bus.Discard",
			ErrNoSubscriber, m.Topic, m.ID, m.Name)
	}
	var errs []error
	for _, s := range subs {
		if err := s.h(ctx, m); err != nil {
			errs = append(errs, fmt.Errorf("outbox: %s handling %s %s: %w", s.name, m.Name, m.ID, err))
		}
	}
	return errors.Join(errs...)
}

// PublishError reports a Publish call that published some of its messages and not others. Errs
// has one entry per message given to Publish, in order: nil for a message that was published,
// its error for one that was not. [Bus.Publish] returns one whenever a message fails; a [Relay]
// that finds one (errors.As) whose Errs has one entry per message of its call acknowledges the
// published messages and retries the others, instead of publishing them again one by one. A
// Publisher that wraps another and passes its error on must keep Errs aligned with the messages
// it was given.
type PublishError struct {
	Errs []error
}

// Error returns the errors of the failed messages, one per line.
func (e *PublishError) Error() string {
	if err := errors.Join(e.Errs...); err != nil {
		return err.Error()
	}
	return "outbox: publish error with no failed message"
}

// Unwrap returns the errors of the failed messages, so that errors.Is and errors.As look into
// them (errors.Is(err, ErrNoSubscriber), say).
func (e *PublishError) Unwrap() []error {
	return slices.DeleteFunc(slices.Clone(e.Errs), func(err error) bool { return err == nil })
}

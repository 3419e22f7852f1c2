// Package watermillpub adapts any watermill [message.Publisher] to [outbox.Publisher], so an
// outbox relay publishes to Kafka, AMQP, SQS, Google Pub/Sub and the rest through watermill's own
// drivers; and, for consumers, turns watermill messages back into outbox messages so a watermill
// router can drive an [outbox.Idempotent] handler.
//
// # Mapping
//
// An outbox message becomes a watermill message whose UUID is the outbox message ID (consumers and
// watermill's deduplication middleware deduplicate on it), whose Payload is the payload, and whose
// Metadata holds the message's headers plus the reserved keys [MetadataName], [MetadataKey],
// [MetadataCreatedAt] and, for delayed messages, [MetadataDeliverAfter]. The topic comes from
// Options.Topic (default: the message's Topic). [FromWatermill] inverts the mapping: a round trip
// loses nothing (times come back in UTC, and empty headers as nil).
//
// Headers must not use the reserved keys; a message whose headers do fails to publish with an
// error wrapping [outbox.ErrInvalid] (the relay parks it, for an operator to see), rather than
// losing a header or a field.
//
// # Ordering and batches
//
// The messages of one topic in a batch go to watermill in one Publish call, in batch order, so
// per-key order holds within a topic as far as the watermill driver keeps it (Kafka's does per
// partition: partition on [MetadataKey] to keep it per key). Publish stops at the first failing
// call; the relay then publishes the batch's messages one by one, so only the failing ones are
// retried and eventually parked; the messages of the topics published before the failing call go
// out again then (delivery is at least once: consumers deduplicate on the UUID).
package watermillpub

import (
	"context"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
)

// Metadata keys the adapter reserves for the message fields that are not headers.
const (
	// MetadataName holds Message.Name, what consumers dispatch on.
	MetadataName = "ddd-name"
	// MetadataKey holds Message.Key, the ordering key (usually the aggregate ID); use it as the
	// partition key of brokers that partition.
	MetadataKey = "ddd-key"
	// MetadataCreatedAt holds Message.CreatedAt in UTC, formatted as RFC 3339 with nanoseconds.
	MetadataCreatedAt = "ddd-created-at"
	// MetadataDeliverAfter holds Message.DeliverAfter like MetadataCreatedAt; it is absent for
	// messages that were not delayed.
	MetadataDeliverAfter = "ddd-deliver-after"
)

func reserved(k string) bool {
	return k == MetadataName || k == MetadataKey || k == MetadataCreatedAt || k == MetadataDeliverAfter
}

// Options tune a [Publisher]. Nil, and nil fields, mean the defaults.
type Options struct {
	// Topic returns the watermill topic of a message; nil means the message's Topic. A message
	// whose topic is "" fails with an error wrapping [outbox.ErrInvalid].
	Topic func(uow.Message) string
	// Metadata, when set, adjusts the metadata of each watermill message after the default
	// mapping (headers plus the reserved keys): add broker-specific keys, rename or drop
	// headers. Changing the reserved keys makes [FromWatermill] lossy. It must be safe for
	// concurrent use.
	Metadata func(m uow.Message, md message.Metadata)
}

// Publisher publishes outbox messages through a watermill publisher. It is safe for concurrent
// use when the watermill publisher is (watermill requires it); it has no useful zero value: use
// [New]. It does not close the watermill publisher.
type Publisher struct {
	pub      message.Publisher
	topic    func(uow.Message) string
	metadata func(uow.Message, message.Metadata)
}

var _ outbox.Publisher = (*Publisher)(nil)

// New returns a Publisher that publishes through pub; nil opts means the defaults.
func New(pub message.Publisher, opts *Options) *Publisher {
	p := &Publisher{pub: pub, topic: func(m uow.Message) string { return m.Topic }}
	if opts != nil {
		if opts.Topic != nil {
			p.topic = opts.Topic
		}
		p.metadata = opts.Metadata
	}
	return p
}

// Publish converts msgs to watermill messages carrying ctx and publishes them, one watermill
// Publish call per topic, in order. It returns nil when every call succeeded. Before publishing
// anything it checks every message: one with no ID, no topic, or a header that uses a reserved
// metadata key makes it fail with an error wrapping [outbox.ErrInvalid]. A failing watermill call
// stops it; its error is wrapped, so errors.Is and errors.As see the driver's error.
func (p *Publisher) Publish(ctx context.Context, msgs []uow.Message) error {
	type group struct {
		topic string
		msgs  []*message.Message
	}
	var groups []group
	index := map[string]int{}
	for _, m := range msgs {
		topic := p.topic(m)
		if topic == "" {
			return fmt.Errorf("watermillpub: %w: message %s %s has no topic", outbox.ErrInvalid, m.Name, m.ID)
		}
		wm, err := ToWatermill(ctx, m)
		if err != nil {
			return err
		}
		if p.metadata != nil {
			p.metadata(m, wm.Metadata)
		}
		i, ok := index[topic]
		if !ok {
			i = len(groups)
			index[topic] = i
			groups = append(groups, group{topic: topic})
		}
		groups[i].msgs = append(groups[i].msgs, wm)
	}
	for _, g := range groups {
		if err := p.pub.Publish(g.topic, g.msgs...); err != nil {
			return fmt.Errorf("watermillpub: publishing %d messages to %q: %w", len(g.msgs), g.topic, err)
		}
	}
	return nil
}

// ToWatermill converts m to a watermill message with context ctx, as [Publisher] does before
// Options.Metadata: UUID = m.ID, Payload = m.Payload (shared, not copied), Metadata = m.Headers
// plus the reserved keys. A message with no ID, or with a header that uses a reserved key, is
// an error wrapping [outbox.ErrInvalid].
func ToWatermill(ctx context.Context, m uow.Message) (*message.Message, error) {
	if m.ID == "" {
		return nil, fmt.Errorf("watermillpub: %w: message %s has no ID", outbox.ErrInvalid, m.Name)
	}
	md := make(message.Metadata, len(m.Headers)+4)
	for k, v := range m.Headers {
		if reserved(k) {
			return nil, fmt.Errorf("watermillpub: %w: message %s %s has a header %q, a reserved metadata key",
				outbox.ErrInvalid, m.Name, m.ID, k)
		}
		md[k] = v
	}
	md[MetadataName] = m.Name
	md[MetadataKey] = m.Key
	if !m.CreatedAt.IsZero() {
		md[MetadataCreatedAt] = formatTime(m.CreatedAt)
	}
	if !m.DeliverAfter.IsZero() {
		md[MetadataDeliverAfter] = formatTime(m.DeliverAfter)
	}
	wm := message.NewMessageWithContext(ctx, m.ID, m.Payload)
	wm.Metadata = md
	return wm, nil
}

// FromWatermill converts a watermill message back into an outbox message of the given topic
// ("" means the topic a watermill router received it from, [message.SubscribeTopicFromCtx]).
// Headers are the metadata without the reserved keys (nil when none is left); a missing or
// malformed time is the zero time. The payload is shared, not copied.
func FromWatermill(msg *message.Message, topic string) uow.Message {
	if topic == "" {
		topic = message.SubscribeTopicFromCtx(msg.Context())
	}
	m := uow.Message{
		ID:           msg.UUID,
		Topic:        topic,
		Key:          msg.Metadata[MetadataKey],
		Name:         msg.Metadata[MetadataName],
		Payload:      msg.Payload,
		CreatedAt:    parseTime(msg.Metadata[MetadataCreatedAt]),
		DeliverAfter: parseTime(msg.Metadata[MetadataDeliverAfter]),
	}
	for k, v := range msg.Metadata {
		if reserved(k) {
			continue
		}
		if m.Headers == nil {
			m.Headers = make(map[string]string, len(msg.Metadata))
		}
		m.Headers[k] = v
	}
	return m
}

// HandlerFunc returns a watermill handler, for [message.Router.AddConsumerHandler], that runs h
// on each message converted by [FromWatermill] with topic, under the message's context. The
// router acks the message when h returns nil, so with [outbox.Idempotent] the ack follows the
// commit of the handler's unit of work (inbox mark included), and nacks it (redelivery) when h
// fails; the error wraps h's.
func HandlerFunc(h outbox.Handler, topic string) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		m := FromWatermill(msg, topic)
		if err := h(msg.Context(), m); err != nil {
			return fmt.Errorf("watermillpub: handling %s %s: %w", m.Name, m.ID, err)
		}
		return nil
	}
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

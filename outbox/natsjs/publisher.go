package natsjs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
)

// The NATS headers that carry the fields of an [uow.Message] besides its ID (which travels
// as [jetstream.MsgIDHeader], Nats-Msg-Id), its headers (which travel under their own names)
// and its payload (the message data).
const (
	HeaderName      = "ddd-name"
	HeaderTopic     = "ddd-topic"
	HeaderKey       = "ddd-key"
	HeaderCreatedAt = "ddd-created-at" // RFC 3339 with nanoseconds
)

// The errors of this package.
var (
	// ErrInvalid: a message that cannot be published (no ID, or an empty subject), or a nil
	// argument.
	ErrInvalid = errors.New("natsjs: invalid argument")
)

// PublishError is the failure of one message of a batch: the stream did not confirm it.
// Publish returns it (joined with the others of the batch); find it with errors.As. Err is
// the cause, such as [jetstream.ErrNoStreamResponse] (no stream on the subject), a JetStream
// API error, [ErrInvalid] or the context's error.
type PublishError struct {
	// ID and Name are the message's, Subject where it was published.
	ID, Name, Subject string
	// Err is the cause.
	Err error
}

// Error names the message and the cause.
func (e *PublishError) Error() string {
	return fmt.Sprintf("natsjs: publishing %s %s to %q: %v", e.Name, e.ID, e.Subject, e.Err)
}

// Unwrap returns Err.
func (e *PublishError) Unwrap() error { return e.Err }

// Options tune a [Publisher]. Nil or zero fields mean the defaults.
type Options struct {
	// Prefix is put before the topic in the default subject: with "events." a message of
	// topic "orders" goes to "events.orders". It is not applied to a Subject func's result.
	Prefix string
	// Subject maps a message to the subject it is published on; nil means Prefix + Topic.
	// The subject must belong to a stream, or the message fails with
	// [jetstream.ErrNoStreamResponse].
	Subject func(uow.Message) string
}

// Publisher publishes outbox messages to JetStream streams: an [outbox.Publisher] for an
// [outbox.Relay]. Each message goes to the subject of its topic (see [Options]) with its ID
// as the Nats-Msg-Id header, so the server drops a copy published again within the stream's
// duplicate window (a relay that crashed between publish and ack publishes its batch again).
// A Publisher is safe for concurrent use; make one with [NewPublisher].
type Publisher struct {
	js jetstream.JetStream
	o  Options
}

var _ outbox.Publisher = (*Publisher)(nil)

// NewPublisher returns a Publisher over js; nil opts means the defaults.
func NewPublisher(js jetstream.JetStream, opts *Options) *Publisher {
	p := &Publisher{js: js}
	if opts != nil {
		p.o = *opts
	}
	return p
}

// Subject returns the subject m is published on.
func (p *Publisher) Subject(m uow.Message) string {
	if p.o.Subject != nil {
		return p.o.Subject(m)
	}
	return p.o.Prefix + m.Topic
}

// Msg returns the NATS message Publish sends for m: its subject, m's payload as data, and as
// headers Nats-Msg-Id (m.ID), m.Headers under their own names, and [HeaderName],
// [HeaderTopic], [HeaderKey] and [HeaderCreatedAt] when those fields are set. A message
// header named like one of these, or starting with "Nats-", is not carried: those names
// belong to this package and to the server. A message without an ID or with an empty subject
// is an error wrapping [ErrInvalid].
func (p *Publisher) Msg(m uow.Message) (*nats.Msg, error) {
	subject := p.Subject(m)
	if m.ID == "" || subject == "" {
		return nil, &PublishError{ID: m.ID, Name: m.Name, Subject: subject,
			Err: fmt.Errorf("%w: a message needs an ID and a subject", ErrInvalid)}
	}
	h := make(nats.Header, len(m.Headers)+5)
	for k, v := range m.Headers {
		if !reserved(k) {
			h.Set(k, v)
		}
	}
	h.Set(jetstream.MsgIDHeader, m.ID)
	set := func(k, v string) {
		if v != "" {
			h.Set(k, v)
		}
	}
	set(HeaderName, m.Name)
	set(HeaderTopic, m.Topic)
	set(HeaderKey, m.Key)
	if !m.CreatedAt.IsZero() {
		h.Set(HeaderCreatedAt, m.CreatedAt.UTC().Format(time.RFC3339Nano))
	}
	return &nats.Msg{Subject: subject, Header: h, Data: m.Payload}, nil
}

// reserved reports whether a header name belongs to this package or to the NATS server.
func reserved(k string) bool {
	switch strings.ToLower(k) {
	case HeaderName, HeaderTopic, HeaderKey, HeaderCreatedAt:
		return true
	}
	return len(k) >= 5 && strings.EqualFold(k[:5], "nats-")
}

// Publish publishes msgs asynchronously, all at once, and then waits until the stream has
// confirmed every one (a duplicate dropped by the server counts as confirmed) or ctx is done.
// It returns nil only when every message was confirmed; otherwise the joined
// [*PublishError]s of the failed messages (when ctx ends first, one error naming the first
// unconfirmed message and wrapping ctx's error). The relay then publishes the batch one
// message at a time; the server deduplicates what was stored already.
//
// A publication whose ack never comes keeps its slot in js's async window until js gives up
// on it: create js with [jetstream.WithPublishAsyncTimeout] to bound that.
func (p *Publisher) Publish(ctx context.Context, msgs []uow.Message) error {
	if p.js == nil {
		return fmt.Errorf("%w: publisher without a JetStream", ErrInvalid)
	}
	out := make([]*nats.Msg, len(msgs))
	for i, m := range msgs {
		nm, err := p.Msg(m)
		if err != nil {
			return err
		}
		out[i] = nm
	}
	futures := make([]jetstream.PubAckFuture, 0, len(out))
	for i, nm := range out {
		f, err := p.js.PublishMsgAsync(nm)
		if err != nil {
			return &PublishError{ID: msgs[i].ID, Name: msgs[i].Name, Subject: nm.Subject, Err: err}
		}
		futures = append(futures, f)
	}
	var errs []error
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			errs = append(errs, &PublishError{ID: msgs[i].ID, Name: msgs[i].Name, Subject: out[i].Subject, Err: err})
		case <-ctx.Done():
			errs = append(errs, &PublishError{ID: msgs[i].ID, Name: msgs[i].Name, Subject: out[i].Subject,
				Err: fmt.Errorf("%d of %d messages unconfirmed: %w", len(futures)-i, len(futures), ctx.Err())})
			return errors.Join(errs...)
		}
	}
	return errors.Join(errs...)
}

// FromMsg turns a NATS message published by a [Publisher] back into the outbox message: ID
// from Nats-Msg-Id, Name, Key and CreatedAt from their headers, Topic from [HeaderTopic] or
// else the subject, the payload from the data, and the other headers (but the Nats-* ones)
// as Headers (the first value of each). DeliverAfter is not carried: the message was due
// when it was published.
func FromMsg(msg *nats.Msg) uow.Message {
	m := uow.Message{
		ID:      msg.Header.Get(jetstream.MsgIDHeader),
		Name:    msg.Header.Get(HeaderName),
		Topic:   msg.Header.Get(HeaderTopic),
		Key:     msg.Header.Get(HeaderKey),
		Payload: msg.Data,
	}
	if m.Topic == "" {
		m.Topic = msg.Subject
	}
	if t, err := time.Parse(time.RFC3339Nano, msg.Header.Get(HeaderCreatedAt)); err == nil {
		m.CreatedAt = t
	}
	for k, v := range msg.Header {
		if reserved(k) || len(v) == 0 {
			continue
		}
		if m.Headers == nil {
			m.Headers = make(map[string]string, len(msg.Header))
		}
		m.Headers[k] = v[0]
	}
	return m
}

package driver

import (
	"encoding/json"
	"fmt"
	"time"
)

// Message is an outbox message: written in a unit's transaction, published by a relay after
// commit, at least once and in order per Key. Applications know it as uow.Message.
type Message struct {
	// ID identifies the message (a UUIDv7); consumers deduplicate on it.
	ID string
	// Topic is where the message is published: the stable topic its event type or emitter
	// declared, never one derived from a Go type name.
	Topic string
	// Key orders delivery: messages with one key are published in the order their units
	// committed. Events use their aggregate's ID. To keep that promise the drivers serialise
	// the last step of commits (from their message inserts to COMMIT) that store messages of
	// one key, so a key every unit writes to, a constant, makes commits queue there: give
	// messages keys that partition the work, such as the ID of the aggregate concerned.
	Key string
	// Name is the message's name, the key consumers dispatch on (Event.EventName for events).
	Name string
	// Payload is the message body, JSON.
	Payload []byte
	// Headers carry metadata: correlation and causation IDs, trace context, aggregate type and
	// version (see the Header constants of package uow).
	Headers map[string]string
	// CreatedAt is when the message was recorded or emitted.
	CreatedAt time.Time
	// DeliverAfter delays publication until that time (a saga timeout, say); the zero time
	// means at once.
	DeliverAfter time.Time
}

// Decode unmarshals the message's JSON payload into v, a pointer (to the event type the
// message's Name stands for). Fields of the payload that v does not declare are ignored, so that
// a consumer keeps decoding messages written by a newer version of their producer. An error
// names the message and wraps the json package's error.
func (m Message) Decode(v any) error {
	if err := json.Unmarshal(m.Payload, v); err != nil {
		return fmt.Errorf("uow: decoding message %s %q into %T: %w", m.ID, m.Name, v, err)
	}
	return nil
}

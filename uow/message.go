package uow

import "time"

// Message is an outbox message: written in the unit's transaction, published by a relay after
// commit, at least once and in order per Key.
type Message struct {
	// ID identifies the message (a UUIDv7); consumers deduplicate on it.
	ID string
	// Topic is where the message is published. Events of an aggregate default to the aggregate
	// type name.
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
	// version (see the Header constants).
	Headers map[string]string
	// CreatedAt is when the message was recorded or emitted.
	CreatedAt time.Time
	// DeliverAfter delays publication until that time (a saga timeout, say); the zero time
	// means at once.
	DeliverAfter time.Time
}

// Header names the unit of work sets on messages.
const (
	HeaderCorrelationID = "correlation-id"
	HeaderCausationID   = "causation-id"
	HeaderAggregateType = "aggregate-type"
	HeaderAggregateID   = "aggregate-id"
	HeaderVersion       = "aggregate-version"
)

package aggregate

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Event is a domain event: a fact, named in the past tense, that an aggregate records when its
// state changes. Any type with a name will do; it is stored and published as JSON, so its
// exported fields (or its MarshalJSON) must carry everything a consumer needs.
//
//	type AccountDebited struct {
//		Account AccountID   `json:"account"`
//		Amount  money.Money `json:"amount"`
//	}
//
//	func (AccountDebited) EventName() string { return "bank.AccountDebited" }
type Event interface {
	// EventName returns the event's stable name, the key consumers dispatch on. Keep it stable
	// across renames of the Go type.
	EventName() string
}

// Envelope is an event ready for storage and transport: the payload as JSON with the metadata the
// outbox stores beside it. It is a plain value; its JSON form uses the field names in the tags.
type Envelope struct {
	// ID is the message ID, a UUIDv7: consumers deduplicate on it.
	ID string `json:"id"`
	// Name is the event's name, from Event.EventName.
	Name string `json:"name"`
	// AggregateType is the recording aggregate's stable type name, from Aggregate.AggregateType.
	AggregateType string `json:"aggregateType"`
	// AggregateID is the recording aggregate's ID; the outbox orders delivery per aggregate.
	AggregateID string `json:"aggregateId"`
	// Version is the aggregate's version once the commit that stores the event succeeds.
	Version int64 `json:"version"`
	// OccurredAt is when the event happened.
	OccurredAt time.Time `json:"occurredAt"`
	// CorrelationID ties together every message of one business transaction.
	CorrelationID string `json:"correlationId,omitempty"`
	// CausationID is the ID of the message (command or event) that caused this one.
	CausationID string `json:"causationId,omitempty"`
	// Payload is the event encoded as JSON.
	Payload json.RawMessage `json:"payload"`
}

// Metadata is what the caller adds to the events it seals: tracing IDs and the time.
type Metadata struct {
	// CorrelationID and CausationID are copied to every envelope.
	CorrelationID, CausationID string
	// OccurredAt is the events' time; the zero time means time.Now().
	OccurredAt time.Time
}

// NewEnvelope encodes e as JSON and wraps it with a new message ID and the given metadata. An
// event with an empty name, or whose JSON encoding fails, is an error wrapping [ErrInvalidEvent].
func NewEnvelope(aggregateType, aggregateID string, version int64, e Event, md Metadata) (Envelope, error) {
	if e == nil {
		return Envelope{}, fmt.Errorf("%w: nil event", ErrInvalidEvent)
	}
	name := e.EventName()
	if name == "" {
		return Envelope{}, fmt.Errorf("%w: %T has an empty name", ErrInvalidEvent, e)
	}
	payload, err := json.Marshal(e)
	if err != nil {
		return Envelope{}, fmt.Errorf("%w: %s: %v", ErrInvalidEvent, name, err)
	}
	at := md.OccurredAt
	if at.IsZero() {
		at = time.Now()
	}
	return Envelope{
		ID:            uuid.Must(uuid.NewV7()).String(),
		Name:          name,
		AggregateType: aggregateType,
		AggregateID:   aggregateID,
		Version:       version,
		OccurredAt:    at.UTC(),
		CorrelationID: md.CorrelationID,
		CausationID:   md.CausationID,
		Payload:       payload,
	}, nil
}

// Seal wraps every event a has recorded and not yet committed, oldest first, at the version a
// will have once they are committed (Version()+1). It leaves the events in a: the unit of work
// drops them when the commit succeeds. Errors are those of [NewEnvelope].
func Seal(a Aggregate, md Metadata) ([]Envelope, error) {
	events := a.bookkeeping().events
	if len(events) == 0 {
		return nil, nil
	}
	if md.OccurredAt.IsZero() {
		md.OccurredAt = time.Now()
	}
	typ, id, version := a.AggregateType(), a.AggregateID(), a.Version()+1
	out := make([]Envelope, 0, len(events))
	for _, e := range events {
		env, err := NewEnvelope(typ, id, version, e, md)
		if err != nil {
			return nil, err
		}
		out = append(out, env)
	}
	return out, nil
}

// Decode decodes the payload into v, a pointer to the event type.
func (e Envelope) Decode(v any) error {
	if err := json.Unmarshal(e.Payload, v); err != nil {
		return fmt.Errorf("%w: decoding %s %s: %v", ErrInvalidEvent, e.Name, e.ID, err)
	}
	return nil
}

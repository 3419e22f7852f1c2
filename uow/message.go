package uow

import "github.com/dddkit/ddd/uow/driver"

// Message is an outbox message: written in the unit's transaction, published by a relay after
// commit, at least once and in order per Key. Events become messages at commit; [Unit.Emit]
// writes others (commands, delayed timeouts). Consumers decode the payload with Message.Decode
// or dispatch on Name with [On]. It is the one message type of the library: package outbox
// publishes it and package saga reacts to it.
type Message = driver.Message

// Header names the unit of work sets on messages.
const (
	HeaderCorrelationID = "correlation-id"
	HeaderCausationID   = "causation-id"
	HeaderAggregateType = "aggregate-type"
	HeaderAggregateID   = "aggregate-id"
	HeaderVersion       = "aggregate-version"
)

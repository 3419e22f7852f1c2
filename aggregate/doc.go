// Package aggregate holds the building blocks of a domain model: the aggregate [Root] with its ID,
// version and recorded events, typed IDs, business-rule errors and partner-activity tracking. It
// does no I/O and takes no context: domain code stays pure, and the unit of work stores it.
//
// # Aggregates
//
// An aggregate embeds [Root] with its own ID type, names itself with a stable AggregateType, gets
// its root from [NewRoot] in a constructor that validates everything, and records an [Event] for
// every state change:
//
//	type AccountID string
//
//	type Account struct {
//		aggregate.Root[AccountID]
//		Balance money.Money `json:"balance"`
//	}
//
//	// AggregateType is the stable name: storage kind, default topic and header of the events.
//	func (*Account) AggregateType() string { return "Account" }
//
//	func (a *Account) Withdraw(amount money.Money) error {
//		// check the rules, change state, then:
//		a.Record(Withdrawn{Account: a.ID(), Amount: amount})
//		return nil
//	}
//
// The unit of work takes the recorded events at commit ([Seal] wraps them in [Envelope]s for the
// outbox) and sets the stored version; domain code has no way to set a version by hand.
// [RestoreRoot] is for storage code that maps an aggregate to its own tables.
//
// # IDs
//
// Declare one string type per aggregate ID (type TransferID string): the compiler then keeps IDs
// of different aggregates apart, and they encode as plain strings. [NewID] makes a UUIDv7 of any
// such type; [ParseID] validates one.
//
// # Business rules
//
// A broken business rule is a [*RuleError], declared once per rule with [NewRule] and matched
// with errors.Is; every rule error also matches [ErrRule]. Keep the two kinds apart: rule errors
// are shown to users, every other error is a technical failure.
//
// # Partner activities
//
// [Activities] and [SequencedActivities] let an aggregate remember which activities of each
// partner it has seen, so a duplicate or late message has no second effect: the uncertainty of
// messaging is modelled in the domain rather than hidden in infrastructure.
//
// # Testing
//
// Package [github.com/dddkit/ddd/aggregate/aggregatetest] runs given-when-then scenarios against
// aggregates.
package aggregate

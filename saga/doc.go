// Package saga coordinates aggregates and bounded contexts that no single transaction spans:
// persisted process managers with durable timeouts and compensation, and choreography at the
// edge of a context.
//
// # Process managers
//
// A process manager (seed 003) is a state machine that reacts to its partners' messages, sends
// them commands, tolerates duplicates and out-of-order arrivals by modelling them, and gives up
// on a timeout the business chose. Declare one with a Spec and check it with Define:
//
//   - Initial, the state of a new instance; the transitions from it name the messages that
//     start the saga;
//   - Correlate, for every message the saga handles, how it finds its instance: a key taken
//     from the message (ByField, ByHeader);
//   - Transitions: in state From, on message (or timeout) On, run Do and move to one of To.
//     Do changes the instance's data, sends messages (Step.Send), schedules or cancels
//     timeouts and registers compensations;
//   - Terminal, the final states and their outcome: Completed, Failed or Compensated;
//   - Timeouts and Compensations, by name.
//
// Define rejects what cannot work, listing every problem: unreachable states, messages or
// timeouts no transition handles, terminal states with outgoing transitions, states that lead
// nowhere. Definition.Mermaid draws the state diagram.
//
// A Manager runs a definition's instances on a uow.Store. Each instance is stored like an
// aggregate (a JSON document of kind "saga", ID "<saga>/<key>", on every driver, no table to
// create), so a message's transition, the instance's new state, the messages it sends and the
// message's inbox mark commit together under the instance's version compare-and-set:
//
//   - a message delivered twice has no second effect (the inbox);
//   - news a partner sends twice, or a message that comes too late, finds a state with no
//     transition for it and is ignored; model what may arrive out of order as transitions
//     (seed 003: the uncertainty belongs in the model, not in resequencing);
//   - concurrent messages for one instance conflict on its version, and the loser is retried;
//   - a finished instance ignores everything.
//
// Subscribe the manager to the bus (Manager.Subscribe) or call Manager.Handle from any
// consumer, such as a JetStream durable consumer.
//
// # Timeouts
//
// Step.Schedule writes a delayed outbox message (DeliverAfter) in the transition's unit of work,
// on the saga's own topic and under a key of its own, so it holds back no other message and
// survives restarts: whichever relay runs when it comes due delivers it. The instance keeps the
// ID of each pending timeout; a timeout that was cancelled (Step.Cancel), scheduled again, or
// whose instance finished, is ignored when it fires. A timeout never fires into a finished saga.
//
// # Compensation
//
// Step.OnCompensate registers a compensating action (a name from Spec.Compensations and an
// argument) with the step that made it necessary. A transition into a Compensated state runs
// them, newest first, one per unit of work, each recording its progress on the instance and
// handing on to the next through the outbox, before the instance enters that state; meanwhile
// its status is Compensating and it ignores other messages. A failing action is recorded on the
// instance (attempts, last error: Manager.Get and Manager.List show them) and retried by the
// relay with backoff, then parked, where the outbox's Operator lists and unparks it. An action
// that only writes through its unit runs once; one that calls out may run again after a crash
// and must be idempotent there (Compensation.IdempotencyKey).
//
// # Choreography
//
// React wires a message to a command handler at the edge of a context (seed 003: events become
// commands at the boundary): it translates the message into a uow.Command and runs it with the
// inbox mark in one unit of work, and turns a business-rule rejection into a final outcome the
// context can announce (a failure event) instead of a message retried forever. Translate builds
// the translation from typed ones (On), each decoding its messages into the event type whose
// EventName they carry, and says explicitly what happens to the other names.
//
// # Testing
//
// Package github.com/dddkit/ddd/saga/sagatest runs given-when-then scenarios against a
// definition with a fake clock, and AdvanceTime to fire due timeouts.
package saga

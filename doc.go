// Package ddd is a toolkit of domain-driven-design building blocks for Go services that move
// money: correct under concurrency and failure, fast, and plain to read. This package holds only
// this overview; the building blocks are its subpackages, and users import just the ones they
// need.
//
// # How the pieces fit
//
// A command arrives at the application. It loads aggregates, calls their domain methods, and
// commits once. The domain methods check business rules and record events; amounts in them are
// [github.com/dddkit/ddd/money.Money], exact decimals that never round silently.
//
//   - [github.com/dddkit/ddd/money]: the Money value object: ISO 4217 and custom currencies,
//     explicit rounding modes, allocation that loses no minor unit, JSON and SQL encodings.
//   - [github.com/dddkit/ddd/aggregate]: the aggregate Root embedded by every aggregate (ID,
//     version, recorded events), event envelopes in the shape the outbox stores, typed IDs
//     (UUIDv7), business-rule errors, and partner-activity tracking for duplicate and
//     out-of-order messages.
//   - [github.com/dddkit/ddd/aggregate/aggregatetest]: given-when-then scenarios for aggregates.
//   - [github.com/dddkit/ddd/uow]: the unit of work. Generic repositories load aggregates
//     (identity map, optimistic or pessimistic locking, keyed locks); one commit writes every
//     changed aggregate with a version compare-and-set, their events to the transactional outbox
//     and the inbox marks of handled messages. [github.com/dddkit/ddd/uow.Do] retries conflicts.
//   - [github.com/dddkit/ddd/uow/memuow]: the in-memory storage driver, for tests and demos.
//   - [github.com/dddkit/ddd/uow/uowtest]: the conformance suite of storage drivers.
//   - [github.com/dddkit/ddd/uow/sqliteuow], [github.com/dddkit/ddd/uow/pguow] and
//     [github.com/dddkit/ddd/uow/mysqluow]: the SQL drivers (SQLite as the embedded default,
//     PostgreSQL on pgx, MySQL and MariaDB), one shared implementation parameterised by dialect.
//   - [github.com/dddkit/ddd/outbox]: the relay that publishes committed messages at least once and
//     in order per key, an in-process bus, and idempotent consumers. NATS JetStream, watermill and
//     OpenTelemetry have packages of their own: [github.com/dddkit/ddd/outbox/natsjs],
//     [github.com/dddkit/ddd/outbox/watermillpub] and [github.com/dddkit/ddd/outbox/outboxotel].
//   - [github.com/dddkit/ddd/saga]: process managers persisted through the unit of work, with
//     durable timeouts (delayed outbox messages) and compensation, validated definitions drawn
//     as Mermaid diagrams, and React for choreography at a context's edge;
//     [github.com/dddkit/ddd/saga/sagatest] tests them given-when-then with a fake clock.
//
// Reference domains live under examples/: [github.com/dddkit/ddd/examples/transfer] (seed 000's
// bank: every rule always on, the four concurrency strategies measured, relational tables
// through Mappers, a Finder read side, and the bank command: demo, HTTP API, benchmark) and
// [github.com/dddkit/ddd/examples/budget] (seed 004's budget aggregate and its summary
// projection) and [github.com/dddkit/ddd/examples/crowdfunding] (seed 002's bounded contexts
// talking only through messages, with a donation choreography and a payout saga).
// Dependencies flow one way: money, aggregate and uow import nothing beyond the standard library,
// shopspring/decimal and google/uuid.
//
// # Errors
//
// Every package declares prefixed sentinel errors ("money: currency mismatch") and returns them
// wrapped with detail; test them with errors.Is and errors.As, never by message. A broken
// business rule is an [github.com/dddkit/ddd/aggregate.RuleError], shown to users; everything
// else is a technical failure.
//
// Run the bank demo with go run ./examples/transfer/cmd/bank demo; examples/tour is a shorter
// program using money and aggregate alone.
package ddd

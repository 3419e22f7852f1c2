// Package transfer is the reference bank of ddd: money transfers between accounts with every
// rule always on, meant to be copied into a new module.
//
// # The model
//
// An Account (a 12-digit AccountNumber, a balance as money.Money in one currency, and its
// lifetime sums: every deposit, credit and debit it ever had) changes only through its methods,
// which record events. A Transfer (a TransferID, the client's TransferNumber, the debited and
// credited accounts, the amount and the creation date) is immutable once posted. A transfer's
// outcome is TransferCompleted, an "event of events": the AccountDebited, the AccountCredited
// and the TransferPosted in one message, so no consumer sees half a transfer. Deposits bring
// money in from outside.
//
// The rules are never skipped: the amount is positive and in both accounts' currency, the
// accounts differ and exist, no debit goes below zero (under the strong strategies), no balance
// goes beyond ±(2^63-1) minor units (what every store keeps exactly), transfer numbers are well
// formed and unique, and a retried request with the same transfer number returns the first
// outcome instead of transferring twice. Each refusal is a sentinel *aggregate.RuleError
// (ErrInsufficientFunds, ErrCurrencyMismatch, ErrSameAccount, ErrUnknownAccount,
// ErrDuplicateTransfer, ErrInvalidInput ...): test them with errors.Is.
//
// # Strategies
//
// Bank is the application service. Each transfer runs with one of the four classic concurrency
// strategies, chosen per bank (Options.Strategy) or per call: Optimistic (version
// compare-and-set, the whole command retried on a conflict), Pessimistic (both accounts locked
// FOR UPDATE in number order), Keyed (a lock per account number, across processes on PostgreSQL
// and MySQL) and Eventual (the domain returns Changes, the database adds them to the balances,
// the funds check is best effort and an overdraft is reported in the outcome). The example's
// README has the measured trade-offs.
//
// # Storage
//
// On the SQLite, PostgreSQL and MySQL/MariaDB drivers the bank keeps relational tables,
// account, transfer and deposit, through uow.Mappers: the unit of work still keeps the identity
// map, the version compare-and-set and the outbox in the same transaction. An account row keeps
// its lifetime sums in columns that cannot overflow (NUMERIC on PostgreSQL, DECIMAL(65,0) on
// MySQL and MariaDB, decimal text on SQLite). Migrate creates the tables, and adds and fills the
// lifetime sums in tables an earlier version of the example created. On any other driver
// (memuow) it keeps JSON documents.
//
// # Reading
//
// Finder is the read side: queries straight on the store returning view structs, never domain
// objects: balances, transfers over an amount, an account statement, the ledger, totals per
// currency and the reconciliation, each costing what the accounts do however long the history,
// and an audit of the accounts against every movement, which costs what the history does.
//
// The command examples/transfer/cmd/bank runs the demo, the HTTP API and the benchmark.
package transfer

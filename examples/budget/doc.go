// Package budget is the reference budget (seed 004): one aggregate, the Budget, guarding its
// invariants across its pots and expenses for a period, then frozen; its events published through
// the outbox to a summarisation read model.
//
// # The model
//
// A Budget is opened for a period (a first and a last day, in the future by an injectable clock)
// in one currency. Pots, the expense categories, are allocated in it; expenses are recorded
// against pots, or reversed; from the day before its end the budget can be closed, and then it
// and everything in it is immutable. The rules:
//
//   - every change needs an open budget;
//   - opening: the period starts today at the earliest (a monthly budget is opened on its first
//     day) and ends after it starts;
//   - closing: from the day before the end date on, and only once;
//   - allocating a pot: the allocation is not negative, in the budget's currency, and no other
//     pot of the budget has the name;
//   - deallocating a pot: only when it has no active (non-reversed) expenses;
//   - recording an expense: its date is inside the period, its amount is positive and in the
//     budget's currency, its ID is new to the budget;
//   - reversing an expense: it exists and is not reversed already.
//
// An expense's amount is positive, not merely non-negative as the seed has it: a zero expense
// records nothing, and money coming back is a reversal of what was spent, not a negative
// expense. What remains of a pot's allocation is computed (PotView.Remaining), never stored (seed
// 004's "fake invariant"), so it cannot drift from the expenses. Overspending a pot is allowed
// and reported (PotView.Overspent): an expense is a fact, and a budget that refused to record
// money already spent would only be wrong.
//
// # The aggregate boundary
//
// Seed 004 weighs three alternatives: a Budget aggregate apart from a Pot-with-expenses
// aggregate; Budget, Pot and Expense each apart; and one Budget aggregate holding its pots and
// expenses. Split ones cannot keep the rules that span them (no expense in a closed budget, no
// expense outside the period, no deallocating a pot with expenses) without services that read
// several aggregates and hope nothing changed meanwhile. One aggregate keeps every rule inside
// the root, checked against the whole state in one transaction, and it stays small: a dozen pots
// of at most a hundred expenses a month. So one aggregate wins here; the unit of work stores it
// as one JSON document on every driver, with no SQL to write (Budget encodes itself, keeping its
// fields unexported so only the root changes them).
//
// # Events and the summary
//
// Every change records an event in the root (BudgetOpened, PotAllocated, PotDeallocated,
// ExpenseRecorded, ExpenseReversed, BudgetClosed); the unit of work writes them to the outbox
// with the budget. Summarise is the summarisation context's projection: it consumes the events
// idempotently (inbox), through an outbox.Router with a typed handler per event, and keeps a
// Summary per budget, including the savings at closing, which the seed moved out of the
// aggregate.
//
// The commands (OpenBudget, AllocatePot, ...) are the application layer: run them with a
// uow.Executor.
package budget

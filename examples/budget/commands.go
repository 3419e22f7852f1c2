package budget

import (
	"context"
	"errors"
	"fmt"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/uow"
)

// ErrUnknownBudget: no budget has that ID.
var ErrUnknownBudget = aggregate.NewRule("unknown_budget", "no budget has that ID")

// The application layer: one task-based command per use case, run by a uow.Executor. Each loads
// the budget whole through the default JSON document repository (no SQL to write, on every
// driver), calls one method of the root and commits; the events it recorded go to the outbox in
// the same transaction. "Today" is the store's clock (uow.Options.Clock), so tests and demos
// choose it.

// OpenBudget opens a budget.
type OpenBudget struct {
	Budget     BudgetID
	Currency   string // an ISO 4217 code
	Start, End Date
}

// Handle implements uow.Command.
func (c OpenBudget) Handle(ctx context.Context, u *uow.Unit) error {
	cur, err := money.Lookup(c.Currency)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	b, err := Open(c.Budget, cur, c.Start, c.End, today(u))
	if err != nil {
		return err
	}
	return uow.Repo[Budget, BudgetID](u).Add(ctx, b)
}

// AllocatePot adds a pot to a budget.
type AllocatePot struct {
	Budget     BudgetID
	Pot        string
	Allocation money.Money
}

// Handle implements uow.Command.
func (c AllocatePot) Handle(ctx context.Context, u *uow.Unit) error {
	return change(ctx, u, c.Budget, func(b *Budget) error { return b.AllocatePot(c.Pot, c.Allocation) })
}

// DeallocatePot removes a pot with no active expenses.
type DeallocatePot struct {
	Budget BudgetID
	Pot    string
}

// Handle implements uow.Command.
func (c DeallocatePot) Handle(ctx context.Context, u *uow.Unit) error {
	return change(ctx, u, c.Budget, func(b *Budget) error { return b.DeallocatePot(c.Pot) })
}

// RecordExpense records an expense. The caller chooses the expense's ID (aggregate.NewID), so a
// retried request is rejected as a duplicate instead of recorded twice.
type RecordExpense struct {
	Budget      BudgetID
	Pot         string
	Expense     ExpenseID
	Amount      money.Money
	Date        Date
	Description string
}

// Handle implements uow.Command.
func (c RecordExpense) Handle(ctx context.Context, u *uow.Unit) error {
	return change(ctx, u, c.Budget, func(b *Budget) error {
		return b.RecordExpense(c.Pot, c.Expense, c.Amount, c.Date, c.Description)
	})
}

// ReverseExpense reverses an expense.
type ReverseExpense struct {
	Budget  BudgetID
	Expense ExpenseID
}

// Handle implements uow.Command.
func (c ReverseExpense) Handle(ctx context.Context, u *uow.Unit) error {
	return change(ctx, u, c.Budget, func(b *Budget) error { return b.ReverseExpense(c.Expense) })
}

// CloseBudget closes a budget, from the day before its end on.
type CloseBudget struct {
	Budget BudgetID
}

// Handle implements uow.Command.
func (c CloseBudget) Handle(ctx context.Context, u *uow.Unit) error {
	return change(ctx, u, c.Budget, func(b *Budget) error { return b.Close(today(u)) })
}

// change loads the budget, applies fn, and leaves the commit to the unit.
func change(ctx context.Context, u *uow.Unit, id BudgetID, fn func(*Budget) error) error {
	b, err := uow.Repo[Budget, BudgetID](u).Get(ctx, id)
	if errors.Is(err, uow.ErrNotFound) {
		return fmt.Errorf("%w: %s", ErrUnknownBudget, id)
	}
	if err != nil {
		return err
	}
	return fn(b)
}

func today(u *uow.Unit) Date { return DateOf(u.Now()) }

package budget

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
)

// Summary is seed 004's summarisation context: a read model of one budget, built from the
// budget's events by the projection Summarise returns, never by the budget itself. It holds what
// the screens show: per pot and in total, the allocation and what was spent, and once the budget
// is closed, what was saved. It is stored as a JSON document of kind "BudgetSummary".
type Summary struct {
	aggregate.Root[BudgetID]
	Currency  string       `json:"currency"`
	Start     Date         `json:"start"`
	End       Date         `json:"end"`
	Pots      []PotSummary `json:"pots"`
	Allocated money.Money  `json:"allocated"`
	Spent     money.Money  `json:"spent"`
	// Expenses counts the active (not reversed) expenses.
	Expenses int  `json:"expenses"`
	Closed   bool `json:"closed"`
	// Saved is Allocated - Spent at closing (negative when overspent); zero before.
	Saved money.Money `json:"saved"`
}

// PotSummary is one pot of a Summary.
type PotSummary struct {
	Name      string      `json:"name"`
	Allocated money.Money `json:"allocated"`
	Spent     money.Money `json:"spent"`
}

// AggregateType names the kind summaries are stored under.
func (*Summary) AggregateType() string { return "BudgetSummary" }

// SummaryConsumer is the projection's name in the inbox.
const SummaryConsumer = "budget-summary"

// Summarise returns the projection that keeps Summaries up to date: a handler for the budget's
// events (topic "Budget" on the bus or any broker) that applies each in a unit of work of store
// with its inbox mark, so a redelivered event changes nothing. It relies on the outbox's order per
// key (a budget's events arrive in the order they were recorded); messages that are not budget
// events are ignored.
func Summarise(store *uow.Store) outbox.Handler {
	return outbox.Idempotent(store, SummaryConsumer, func(ctx context.Context, u *uow.Unit, m uow.Message) error {
		return project(ctx, u, m)
	}, nil)
}

func project(ctx context.Context, u *uow.Unit, m uow.Message) error {
	repo := uow.Repo[Summary, BudgetID](u)
	decode := func(v any) error {
		if err := json.Unmarshal(m.Payload, v); err != nil {
			return fmt.Errorf("%w: %s %s: %w", ErrInvalid, m.Name, m.ID, err)
		}
		return nil
	}
	if m.Name == (BudgetOpened{}).EventName() {
		var e BudgetOpened
		if err := decode(&e); err != nil {
			return err
		}
		cur, err := money.Lookup(e.Currency)
		if err != nil {
			return fmt.Errorf("%w: %s %s: %w", ErrInvalid, m.Name, m.ID, err)
		}
		root, err := aggregate.NewRoot(e.Budget)
		if err != nil {
			return err
		}
		zero := money.Zero(cur)
		return repo.Add(ctx, &Summary{Root: root, Currency: e.Currency, Start: e.Start, End: e.End,
			Pots: []PotSummary{}, Allocated: zero, Spent: zero, Saved: zero})
	}
	var head struct {
		Budget BudgetID `json:"budget"`
	}
	if !slices.Contains(budgetEvents, m.Name) {
		return nil
	}
	if err := decode(&head); err != nil {
		return err
	}
	s, err := repo.Get(ctx, head.Budget)
	if err != nil {
		return fmt.Errorf("budget summary of %s: %w", head.Budget, err)
	}
	return s.apply(m.Name, decode)
}

var budgetEvents = []string{
	PotAllocated{}.EventName(), PotDeallocated{}.EventName(), ExpenseRecorded{}.EventName(),
	ExpenseReversed{}.EventName(), BudgetClosed{}.EventName(),
}

// apply updates the summary with one event (decoded by decode).
func (s *Summary) apply(name string, decode func(any) error) error {
	var err error
	switch name {
	case PotAllocated{}.EventName():
		var e PotAllocated
		if err := decode(&e); err != nil {
			return err
		}
		s.Pots = append(s.Pots, PotSummary{Name: e.Pot, Allocated: e.Allocation, Spent: money.Zero(e.Allocation.Currency())})
		s.Allocated, err = s.Allocated.Add(e.Allocation)
	case PotDeallocated{}.EventName():
		var e PotDeallocated
		if err := decode(&e); err != nil {
			return err
		}
		i := s.pot(e.Pot)
		if i < 0 {
			return fmt.Errorf("budget summary of %s: %w: pot %q", s.ID(), ErrCorrupt, e.Pot)
		}
		s.Allocated, err = s.Allocated.Sub(s.Pots[i].Allocated)
		s.Pots = slices.Delete(s.Pots, i, i+1)
	case ExpenseRecorded{}.EventName(), ExpenseReversed{}.EventName():
		var e ExpenseRecorded // ExpenseReversed's fields are a subset
		if err := decode(&e); err != nil {
			return err
		}
		amount, delta := e.Amount, 1
		if name == (ExpenseReversed{}).EventName() {
			amount, delta = amount.Neg(), -1
		}
		i := s.pot(e.Pot)
		if i < 0 {
			return fmt.Errorf("budget summary of %s: %w: pot %q", s.ID(), ErrCorrupt, e.Pot)
		}
		if s.Pots[i].Spent, err = s.Pots[i].Spent.Add(amount); err != nil {
			return err
		}
		s.Spent, err = s.Spent.Add(amount)
		s.Expenses += delta
	case BudgetClosed{}.EventName():
		s.Closed = true
		s.Saved, err = s.Allocated.Sub(s.Spent)
	}
	return err
}

func (s *Summary) pot(name string) int {
	return slices.IndexFunc(s.Pots, func(p PotSummary) bool { return p.Name == name })
}

// SummaryOf reads the summary of the budget with the given ID; a budget the projection has not
// seen is an error wrapping ErrUnknownBudget.
func SummaryOf(ctx context.Context, store *uow.Store, id BudgetID) (*Summary, error) {
	var s *Summary
	err := uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
		var err error
		s, err = uow.Repo[Summary, BudgetID](u).Get(ctx, id)
		if errors.Is(err, uow.ErrNotFound) {
			return fmt.Errorf("%w: %s has no summary", ErrUnknownBudget, id)
		}
		return err
	}, nil)
	return s, err
}

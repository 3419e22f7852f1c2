package budget

import (
	"context"
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
// key (a budget's events arrive in the order they were recorded). It handles every budget event
// and rejects any other name (outbox.RejectUnknown): an event the projection does not know yet
// fails, and the relay retries it and then parks it, instead of the summary silently missing it.
// An error is the router's, from a route this code got wrong.
func Summarise(store *uow.Store) (outbox.Handler, error) {
	r, err := outbox.NewRouter(outbox.RejectUnknown,
		outbox.On(open),
		outbox.On(func(ctx context.Context, u *uow.Unit, e PotAllocated, _ uow.Message) error {
			return update(ctx, u, e.Budget, func(s *Summary) error { return s.allocate(e) })
		}),
		outbox.On(func(ctx context.Context, u *uow.Unit, e PotDeallocated, _ uow.Message) error {
			return update(ctx, u, e.Budget, func(s *Summary) error { return s.deallocate(e) })
		}),
		outbox.On(func(ctx context.Context, u *uow.Unit, e ExpenseRecorded, _ uow.Message) error {
			return update(ctx, u, e.Budget, func(s *Summary) error { return s.spend(e.Pot, e.Amount, 1) })
		}),
		outbox.On(func(ctx context.Context, u *uow.Unit, e ExpenseReversed, _ uow.Message) error {
			return update(ctx, u, e.Budget, func(s *Summary) error { return s.spend(e.Pot, e.Amount.Neg(), -1) })
		}),
		outbox.On(func(ctx context.Context, u *uow.Unit, e BudgetClosed, _ uow.Message) error {
			return update(ctx, u, e.Budget, (*Summary).close)
		}),
	)
	if err != nil {
		return nil, err
	}
	return r.Idempotent(store, SummaryConsumer, nil), nil
}

// open starts the summary of a budget opened.
func open(ctx context.Context, u *uow.Unit, e BudgetOpened, m uow.Message) error {
	cur, err := money.Lookup(e.Currency)
	if err != nil {
		return fmt.Errorf("%w: %s %s: %w", ErrInvalid, m.Name, m.ID, err)
	}
	root, err := aggregate.NewRoot(e.Budget)
	if err != nil {
		return err
	}
	zero := money.Zero(cur)
	return uow.Repo[Summary, BudgetID](u).Add(ctx, &Summary{Root: root, Currency: e.Currency, Start: e.Start, End: e.End,
		Pots: []PotSummary{}, Allocated: zero, Spent: zero, Saved: zero})
}

// update applies change to the summary of budget id.
func update(ctx context.Context, u *uow.Unit, id BudgetID, change func(s *Summary) error) error {
	s, err := uow.Repo[Summary, BudgetID](u).Get(ctx, id)
	if err != nil {
		return fmt.Errorf("budget summary of %s: %w", id, err)
	}
	return change(s)
}

func (s *Summary) allocate(e PotAllocated) error {
	s.Pots = append(s.Pots, PotSummary{Name: e.Pot, Allocated: e.Allocation, Spent: money.Zero(e.Allocation.Currency())})
	var err error
	s.Allocated, err = s.Allocated.Add(e.Allocation)
	return err
}

func (s *Summary) deallocate(e PotDeallocated) error {
	i, err := s.pot(e.Pot)
	if err != nil {
		return err
	}
	s.Allocated, err = s.Allocated.Sub(s.Pots[i].Allocated)
	s.Pots = slices.Delete(s.Pots, i, i+1)
	return err
}

// spend adds amount (negative for a reversal) to what pot spent, and n to the count of expenses.
func (s *Summary) spend(pot string, amount money.Money, n int) error {
	i, err := s.pot(pot)
	if err != nil {
		return err
	}
	if s.Pots[i].Spent, err = s.Pots[i].Spent.Add(amount); err != nil {
		return err
	}
	s.Spent, err = s.Spent.Add(amount)
	s.Expenses += n
	return err
}

func (s *Summary) close() error {
	var err error
	s.Closed = true
	s.Saved, err = s.Allocated.Sub(s.Spent)
	return err
}

// pot returns the index of the named pot; a pot the summary does not know is an error wrapping
// ErrCorrupt.
func (s *Summary) pot(name string) (int, error) {
	if i := slices.IndexFunc(s.Pots, func(p PotSummary) bool { return p.Name == name }); i >= 0 {
		return i, nil
	}
	return -1, fmt.Errorf("budget summary of %s: %w: pot %q", s.ID(), ErrCorrupt, name)
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

package budget

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/money"
)

// BudgetID identifies a budget.
type BudgetID string

// ExpenseID identifies an expense within its budget.
type ExpenseID string

// ErrInvalid: input that is malformed rather than against a rule (an empty pot name, a date that
// is not a day). It is a business-rule error too, shown to the user.
var ErrInvalid = aggregate.NewRule("invalid_input", "invalid input")

// The business rules of a budget. Each is an *aggregate.RuleError: errors.Is(err,
// aggregate.ErrRule) tells them from technical failures.
var (
	ErrClosed           = aggregate.NewRule("budget_closed", "the budget is closed")
	ErrPeriod           = aggregate.NewRule("invalid_period", "a budget opens in the future and ends after it starts")
	ErrTooEarlyToClose  = aggregate.NewRule("too_early_to_close", "a budget closes from the day before its end")
	ErrNegativeAlloc    = aggregate.NewRule("negative_allocation", "an allocation cannot be negative")
	ErrDuplicatePot     = aggregate.NewRule("duplicate_pot", "the budget already has a pot with that name")
	ErrUnknownPot       = aggregate.NewRule("unknown_pot", "the budget has no pot with that name")
	ErrPotHasExpenses   = aggregate.NewRule("pot_has_expenses", "a pot with active expenses cannot be deallocated")
	ErrOutsidePeriod    = aggregate.NewRule("outside_period", "the expense's date is outside the budget's period")
	ErrNonPositive      = aggregate.NewRule("non_positive_expense", "an expense's amount must be positive")
	ErrCurrencyMismatch = aggregate.NewRule("currency_mismatch", "the amount is not in the budget's currency")
	ErrUnknownExpense   = aggregate.NewRule("unknown_expense", "the budget has no expense with that ID")
	ErrAlreadyReversed  = aggregate.NewRule("already_reversed", "the expense is already reversed")
	ErrDuplicateExpense = aggregate.NewRule("duplicate_expense", "the budget already has an expense with that ID")
)

// ErrCorrupt: a stored budget document, or an event the summary projection applies, breaks the
// budget's invariants. It is a technical failure, not a business rule: someone wrote the data
// around the root.
var ErrCorrupt = errors.New("budget: stored document is inconsistent")

// Budget is the aggregate root (seed 004): a period with a currency, the pots allocated in it and
// the expenses recorded against them. Every change goes through the root, which checks every
// rule, including the ones that span pots and expenses (an expense's date inside the period, no
// deallocating a pot with active expenses, nothing changes once closed). A Budget is not safe for
// concurrent use; the unit of work gives each command its own.
type Budget struct {
	aggregate.Root[BudgetID]
	currency   money.Currency
	start, end Date
	pots       []pot
	closed     bool
}

// AggregateType is Budget's stable name: its storage kind and the topic of its events.
func (*Budget) AggregateType() string { return "Budget" }

type pot struct {
	name       string
	allocation money.Money
	expenses   []expense
}

type expense struct {
	id          ExpenseID
	amount      money.Money
	date        Date
	description string
	reversed    bool
}

// Open opens a budget for the days start to end (inclusive) in currency, on day today: the period
// must lie in the future, starting today at the earliest (a monthly budget is opened on its first
// day), and end after it starts. It records BudgetOpened.
func Open(id BudgetID, currency money.Currency, start, end, today Date) (*Budget, error) {
	if currency.IsZero() || start.IsZero() || end.IsZero() || today.IsZero() {
		return nil, fmt.Errorf("%w: a budget needs a currency, a start, an end and today's date", ErrInvalid)
	}
	if start.Before(today) {
		return nil, fmt.Errorf("%w: it starts %s, before today %s", ErrPeriod, start, today)
	}
	if !end.After(start) {
		return nil, fmt.Errorf("%w: it ends %s, not after its start %s", ErrPeriod, end, start)
	}
	root, err := aggregate.NewRoot(id)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	b := &Budget{Root: root, currency: currency, start: start, end: end}
	b.Record(BudgetOpened{Budget: id, Currency: currency.Code(), Start: start, End: end})
	return b, nil
}

// Currency returns the budget's currency.
func (b *Budget) Currency() money.Currency { return b.currency }

// Period returns the budget's first and last day.
func (b *Budget) Period() (start, end Date) { return b.start, b.end }

// Closed reports whether the budget is closed, and so immutable.
func (b *Budget) Closed() bool { return b.closed }

// open checks the rule every change needs: the budget is open.
func (b *Budget) open() error {
	if b.closed {
		return fmt.Errorf("%w: budget %s", ErrClosed, b.ID())
	}
	return nil
}

func (b *Budget) sameCurrency(m money.Money) error {
	if m.Currency() != b.currency {
		return fmt.Errorf("%w: %s in a %s budget", ErrCurrencyMismatch, m, b.currency.Code())
	}
	return nil
}

// potIndex finds a pot by name, trimmed as AllocatePot trims it; -1 if there is none.
func (b *Budget) potIndex(name string) int {
	name = strings.TrimSpace(name)
	return slices.IndexFunc(b.pots, func(p pot) bool { return p.name == name })
}

// AllocatePot adds a pot (an expense category) named name with allocation: a non-negative
// amount in the budget's currency, under a name no other pot of the budget has (names are
// trimmed; an empty one is invalid). It records PotAllocated.
func (b *Budget) AllocatePot(name string, allocation money.Money) error {
	if err := b.open(); err != nil {
		return err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return fmt.Errorf("%w: a pot needs a name", ErrInvalid)
	}
	if err := b.sameCurrency(allocation); err != nil {
		return err
	}
	if allocation.IsNegative() {
		return fmt.Errorf("%w: %s", ErrNegativeAlloc, allocation)
	}
	if b.potIndex(name) >= 0 {
		return fmt.Errorf("%w: %q", ErrDuplicatePot, name)
	}
	b.pots = append(b.pots, pot{name: name, allocation: allocation})
	b.Record(PotAllocated{Budget: b.ID(), Pot: name, Allocation: allocation})
	return nil
}

// DeallocatePot removes the pot named name, which must have no active (non-reversed) expenses.
// Its reversed expenses go with it. It records PotDeallocated.
func (b *Budget) DeallocatePot(name string) error {
	if err := b.open(); err != nil {
		return err
	}
	i := b.potIndex(name)
	if i < 0 {
		return fmt.Errorf("%w: %q", ErrUnknownPot, name)
	}
	if n := b.pots[i].active(); n > 0 {
		return fmt.Errorf("%w: %q has %d", ErrPotHasExpenses, name, n)
	}
	name = b.pots[i].name
	b.pots = slices.Delete(b.pots, i, i+1)
	b.Record(PotDeallocated{Budget: b.ID(), Pot: name})
	return nil
}

func (p *pot) active() int {
	n := 0
	for _, e := range p.expenses {
		if !e.reversed {
			n++
		}
	}
	return n
}

// RecordExpense records an expense against the pot named potName: a positive amount in the
// budget's currency (a zero expense records nothing, and money coming back is a reversal, not a
// negative expense), on a day inside the budget's period, under an ID no expense of the budget
// has (the expenses of a deallocated pot, all reversed, leave with it, and so do their IDs).
// It may take the pot past its allocation: an expense is a fact, and a budget that refused to
// record what was spent would only lie; Remaining then goes negative, and Overspent says so. It
// records ExpenseRecorded.
func (b *Budget) RecordExpense(potName string, id ExpenseID, amount money.Money, date Date, description string) error {
	if err := b.open(); err != nil {
		return err
	}
	if id == "" || date.IsZero() {
		return fmt.Errorf("%w: an expense needs an ID and a date", ErrInvalid)
	}
	i := b.potIndex(potName)
	if i < 0 {
		return fmt.Errorf("%w: %q", ErrUnknownPot, potName)
	}
	if err := b.sameCurrency(amount); err != nil {
		return err
	}
	if !amount.IsPositive() {
		return fmt.Errorf("%w: %s", ErrNonPositive, amount)
	}
	if date.Before(b.start) || date.After(b.end) {
		return fmt.Errorf("%w: %s is not within %s to %s", ErrOutsidePeriod, date, b.start, b.end)
	}
	if _, _, found := b.findExpense(id); found {
		return fmt.Errorf("%w: %s", ErrDuplicateExpense, id)
	}
	b.pots[i].expenses = append(b.pots[i].expenses, expense{id: id, amount: amount, date: date, description: description})
	b.Record(ExpenseRecorded{Budget: b.ID(), Pot: b.pots[i].name, Expense: id, Amount: amount, Date: date, Description: description})
	return nil
}

func (b *Budget) findExpense(id ExpenseID) (potIdx, expIdx int, found bool) {
	for i := range b.pots {
		for j := range b.pots[i].expenses {
			if b.pots[i].expenses[j].id == id {
				return i, j, true
			}
		}
	}
	return -1, -1, false
}

// ReverseExpense reverses the expense with the given ID, which must exist and not be reversed
// already: it stays in the pot, marked reversed, and no longer counts. It records
// ExpenseReversed.
func (b *Budget) ReverseExpense(id ExpenseID) error {
	if err := b.open(); err != nil {
		return err
	}
	i, j, found := b.findExpense(id)
	if !found {
		return fmt.Errorf("%w: %s", ErrUnknownExpense, id)
	}
	e := &b.pots[i].expenses[j]
	if e.reversed {
		return fmt.Errorf("%w: %s", ErrAlreadyReversed, id)
	}
	e.reversed = true
	b.Record(ExpenseReversed{Budget: b.ID(), Pot: b.pots[i].name, Expense: id, Amount: e.amount})
	return nil
}

// Close closes the budget on day today, from the day before its end date on; a closed budget
// cannot be closed again, nor changed at all. It records BudgetClosed.
func (b *Budget) Close(today Date) error {
	if err := b.open(); err != nil {
		return err
	}
	if today.IsZero() {
		return fmt.Errorf("%w: closing needs today's date", ErrInvalid)
	}
	if today.Before(b.end.AddDays(-1)) {
		return fmt.Errorf("%w: it ends %s, today is %s", ErrTooEarlyToClose, b.end, today)
	}
	b.closed = true
	b.Record(BudgetClosed{Budget: b.ID(), On: today})
	return nil
}

// PotView is what the budget shows of one pot. Remaining is computed from the allocation and the
// active expenses every time, never stored (seed 004's "fake invariant"): it cannot drift.
type PotView struct {
	Name       string
	Allocation money.Money
	Spent      money.Money
	Remaining  money.Money
	Expenses   []ExpenseView
}

// Overspent reports whether the pot's active expenses exceed its allocation.
func (p PotView) Overspent() bool { return p.Remaining.IsNegative() }

// ExpenseView is one expense of a pot.
type ExpenseView struct {
	ID          ExpenseID
	Amount      money.Money
	Date        Date
	Description string
	Reversed    bool
}

// Pots returns the budget's pots in the order they were allocated.
func (b *Budget) Pots() []PotView {
	out := make([]PotView, 0, len(b.pots))
	for _, p := range b.pots {
		out = append(out, b.view(p))
	}
	return out
}

// Pot returns the pot named name, and whether the budget has it.
func (b *Budget) Pot(name string) (PotView, bool) {
	i := b.potIndex(name)
	if i < 0 {
		return PotView{}, false
	}
	return b.view(b.pots[i]), true
}

func (b *Budget) view(p pot) PotView {
	spent := money.Zero(b.currency)
	v := PotView{Name: p.name, Allocation: p.allocation}
	for _, e := range p.expenses {
		v.Expenses = append(v.Expenses, ExpenseView{e.id, e.amount, e.date, e.description, e.reversed})
		if !e.reversed {
			// Same currency by construction: RecordExpense checks it.
			spent, _ = spent.Add(e.amount)
		}
	}
	v.Spent = spent
	v.Remaining, _ = p.allocation.Sub(spent)
	return v
}

// budgetDoc is the budget's stored JSON document.
type budgetDoc struct {
	Currency string   `json:"currency"`
	Start    Date     `json:"start"`
	End      Date     `json:"end"`
	Closed   bool     `json:"closed,omitempty"`
	Pots     []potDoc `json:"pots"`
}

type potDoc struct {
	Name       string       `json:"name"`
	Allocation money.Money  `json:"allocation"`
	Expenses   []expenseDoc `json:"expenses,omitempty"`
}

type expenseDoc struct {
	ID          ExpenseID   `json:"id"`
	Amount      money.Money `json:"amount"`
	Date        Date        `json:"date"`
	Description string      `json:"description,omitempty"`
	Reversed    bool        `json:"reversed,omitempty"`
}

// MarshalJSON encodes the budget for the unit of work's document repository; its fields stay
// unexported, so only the root's methods change them.
func (b *Budget) MarshalJSON() ([]byte, error) {
	doc := budgetDoc{Currency: b.currency.Code(), Start: b.start, End: b.end, Closed: b.closed, Pots: []potDoc{}}
	for _, p := range b.pots {
		pd := potDoc{Name: p.name, Allocation: p.allocation}
		for _, e := range p.expenses {
			pd.Expenses = append(pd.Expenses, expenseDoc{e.id, e.amount, e.date, e.description, e.reversed})
		}
		doc.Pots = append(doc.Pots, pd)
	}
	return json.Marshal(doc)
}

// UnmarshalJSON decodes what MarshalJSON writes and checks the invariants the root keeps (period,
// currencies, unique pot names and expense IDs, allocations not negative, expenses positive and
// inside the period); a document that breaks one is a technical error, not a rule error, and
// leaves b unchanged.
func (b *Budget) UnmarshalJSON(data []byte) error {
	var doc budgetDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	c, err := money.Lookup(doc.Currency)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if doc.Start.IsZero() || !doc.End.After(doc.Start) {
		return fmt.Errorf("%w: period %s to %s", ErrCorrupt, doc.Start, doc.End)
	}
	pots := make([]pot, 0, len(doc.Pots))
	names, ids := map[string]bool{}, map[ExpenseID]bool{}
	for _, pd := range doc.Pots {
		if pd.Name == "" || names[pd.Name] || pd.Allocation.Currency() != c || pd.Allocation.IsNegative() {
			return fmt.Errorf("%w: pot %q allocated %s", ErrCorrupt, pd.Name, pd.Allocation)
		}
		names[pd.Name] = true
		p := pot{name: pd.Name, allocation: pd.Allocation}
		for _, e := range pd.Expenses {
			if e.ID == "" || ids[e.ID] || e.Amount.Currency() != c || !e.Amount.IsPositive() ||
				e.Date.Before(doc.Start) || e.Date.After(doc.End) {
				return fmt.Errorf("%w: expense %q of %s on %s", ErrCorrupt, e.ID, e.Amount, e.Date)
			}
			ids[e.ID] = true
			p.expenses = append(p.expenses, expense{e.ID, e.Amount, e.Date, e.Description, e.Reversed})
		}
		pots = append(pots, p)
	}
	b.currency, b.start, b.end, b.closed, b.pots = c, doc.Start, doc.End, doc.Closed, pots
	return nil
}

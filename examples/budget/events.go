package budget

import "github.com/dddkit/ddd/money"

// The budget's domain events, recorded in the root for every change and published through the
// outbox (topic "Budget", key the budget's ID, so a budget's events arrive in order).

// BudgetOpened: a budget was opened for a period in a currency.
type BudgetOpened struct {
	Budget   BudgetID `json:"budget"`
	Currency string   `json:"currency"`
	Start    Date     `json:"start"`
	End      Date     `json:"end"`
}

// PotAllocated: a pot was added with its allocation.
type PotAllocated struct {
	Budget     BudgetID    `json:"budget"`
	Pot        string      `json:"pot"`
	Allocation money.Money `json:"allocation"`
}

// PotDeallocated: a pot with no active expenses was removed.
type PotDeallocated struct {
	Budget BudgetID `json:"budget"`
	Pot    string   `json:"pot"`
}

// ExpenseRecorded: an expense was recorded against a pot.
type ExpenseRecorded struct {
	Budget      BudgetID    `json:"budget"`
	Pot         string      `json:"pot"`
	Expense     ExpenseID   `json:"expense"`
	Amount      money.Money `json:"amount"`
	Date        Date        `json:"date"`
	Description string      `json:"description,omitempty"`
}

// ExpenseReversed: an expense was reversed and no longer counts.
type ExpenseReversed struct {
	Budget  BudgetID    `json:"budget"`
	Pot     string      `json:"pot"`
	Expense ExpenseID   `json:"expense"`
	Amount  money.Money `json:"amount"`
}

// BudgetClosed: the budget was closed and is immutable from now on.
type BudgetClosed struct {
	Budget BudgetID `json:"budget"`
	On     Date     `json:"on"`
}

// EventName implements aggregate.Event.
func (BudgetOpened) EventName() string { return "budget.BudgetOpened" }

// EventName implements aggregate.Event.
func (PotAllocated) EventName() string { return "budget.PotAllocated" }

// EventName implements aggregate.Event.
func (PotDeallocated) EventName() string { return "budget.PotDeallocated" }

// EventName implements aggregate.Event.
func (ExpenseRecorded) EventName() string { return "budget.ExpenseRecorded" }

// EventName implements aggregate.Event.
func (ExpenseReversed) EventName() string { return "budget.ExpenseReversed" }

// EventName implements aggregate.Event.
func (BudgetClosed) EventName() string { return "budget.BudgetClosed" }

package budget_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/aggregate/aggregatetest"
	"github.com/dddkit/ddd/examples/budget"
	"github.com/dddkit/ddd/money"
)

// The fixed budget of the scenarios: March 2026 in dollars, opened on its first day.
const scenarioID budget.BudgetID = "budget-2026-03"

var (
	dollar      = money.MustLookup("USD")
	euro        = money.MustLookup("EUR")
	periodStart = ymd(2026, time.March, 1)
	periodEnd   = ymd(2026, time.March, 31)
	midPeriod   = ymd(2026, time.March, 15)
)

func dollars(s string) money.Money { return money.MustParse(s + " USD") }

func euros(s string) money.Money { return money.MustParse(s + " EUR") }

// budgetStep is one command of a given state.
type budgetStep func(*budget.Budget) error

// givenBudget returns a deterministic build for aggregatetest.Given: the scenario budget,
// opened on its first day, after steps.
func givenBudget(steps ...budgetStep) func() (*budget.Budget, error) {
	return func() (*budget.Budget, error) {
		b, err := budget.Open(scenarioID, dollar, periodStart, periodEnd, periodStart)
		if err != nil {
			return nil, err
		}
		for _, step := range steps {
			if err := step(b); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
}

func givenPot(name, allocation string) budgetStep {
	return func(b *budget.Budget) error { return b.AllocatePot(name, dollars(allocation)) }
}

func givenExpense(pot string, id budget.ExpenseID, amount string, on budget.Date) budgetStep {
	return func(b *budget.Budget) error { return b.RecordExpense(pot, id, dollars(amount), on, "") }
}

func givenReversal(id budget.ExpenseID) budgetStep {
	return func(b *budget.Budget) error { return b.ReverseExpense(id) }
}

func givenClose(on budget.Date) budgetStep {
	return func(b *budget.Budget) error { return b.Close(on) }
}

// budgetCase is one given-when-then case of a rule: with err nil the command must succeed and
// record exactly want (then check, if set, looks at the state); otherwise it must fail with err,
// record nothing and change nothing.
type budgetCase struct {
	name  string
	given func() (*budget.Budget, error)
	when  func(*budget.Budget) error
	want  []aggregate.Event
	err   error
	check func(t *testing.T, b *budget.Budget)
}

func runBudgetCases(t *testing.T, cases []budgetCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			outcome := aggregatetest.Given(t, tc.given).When(tc.when)
			if tc.err == nil {
				b := outcome.Then(tc.want...)
				if tc.check != nil {
					tc.check(t, b)
				}
				return
			}
			outcome.ThenError(tc.err)

			// Every broken rule is a business-rule error, told from technical failures by ErrRule.
			b, err := tc.given()
			require.NoError(t, err)
			err = tc.when(b)
			assert.ErrorIs(t, err, aggregate.ErrRule)
			var rule *aggregate.RuleError
			if assert.ErrorAs(t, err, &rule) {
				assert.NotEmpty(t, rule.Code)
			}
		})
	}
}

// potOf returns the pot named name, failing the test if the budget has none.
func potOf(t *testing.T, b *budget.Budget, name string) budget.PotView {
	t.Helper()
	p, ok := b.Pot(name)
	require.True(t, ok, "no pot %q", name)
	return p
}

// assertAmount asserts that got is the same amount in the same currency as want.
func assertAmount(t *testing.T, want, got money.Money, what string) {
	t.Helper()
	assert.True(t, want.Equal(got), "%s: want %s, got %s", what, want, got)
}

// assertPotsEqual compares two views of pots, amounts with Money.Equal.
func assertPotsEqual(t *testing.T, want, got []budget.PotView) {
	t.Helper()
	require.Len(t, got, len(want))
	for i, w := range want {
		g := got[i]
		assert.Equal(t, w.Name, g.Name, "pot %d", i)
		assertAmount(t, w.Allocation, g.Allocation, w.Name+" allocation")
		assertAmount(t, w.Spent, g.Spent, w.Name+" spent")
		assertAmount(t, w.Remaining, g.Remaining, w.Name+" remaining")
		require.Len(t, g.Expenses, len(w.Expenses), "%s expenses", w.Name)
		for j, we := range w.Expenses {
			ge := g.Expenses[j]
			assert.Equal(t, we.ID, ge.ID)
			assertAmount(t, we.Amount, ge.Amount, fmt.Sprintf("%s amount", we.ID))
			assert.True(t, we.Date == ge.Date, "%s date: want %s, got %s", we.ID, we.Date, ge.Date)
			assert.Equal(t, we.Description, ge.Description)
			assert.Equal(t, we.Reversed, ge.Reversed)
		}
	}
}

func TestBudgetOpen(t *testing.T) {
	cases := []struct {
		name            string
		id              budget.BudgetID
		currency        money.Currency
		start, end, day budget.Date // day is today
		err             error
	}{
		{name: "starts today", id: scenarioID, currency: dollar, start: periodStart, end: periodEnd, day: periodStart},
		{name: "starts after today", id: scenarioID, currency: dollar, start: periodStart, end: periodEnd, day: periodStart.AddDays(-10)},
		{name: "one-day-long period", id: scenarioID, currency: dollar, start: periodStart, end: periodStart.AddDays(1), day: periodStart},
		{name: "other currency", id: "budget-eur", currency: euro, start: periodStart, end: periodEnd, day: periodStart},
		{name: "starts before today", id: scenarioID, currency: dollar, start: periodStart, end: periodEnd, day: periodStart.AddDays(1), err: budget.ErrPeriod},
		{name: "ends on its start", id: scenarioID, currency: dollar, start: periodStart, end: periodStart, day: periodStart, err: budget.ErrPeriod},
		{name: "ends before its start", id: scenarioID, currency: dollar, start: periodStart, end: periodStart.AddDays(-1), day: periodStart, err: budget.ErrPeriod},
		{name: "no currency", id: scenarioID, start: periodStart, end: periodEnd, day: periodStart, err: budget.ErrInvalid},
		{name: "no start", id: scenarioID, currency: dollar, end: periodEnd, day: periodStart, err: budget.ErrInvalid},
		{name: "no end", id: scenarioID, currency: dollar, start: periodStart, day: periodStart, err: budget.ErrInvalid},
		{name: "no today", id: scenarioID, currency: dollar, start: periodStart, end: periodEnd, err: budget.ErrInvalid},
		{name: "no ID", currency: dollar, start: periodStart, end: periodEnd, day: periodStart, err: budget.ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := budget.Open(tc.id, tc.currency, tc.start, tc.end, tc.day)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				assert.ErrorIs(t, err, aggregate.ErrRule)
				assert.Nil(t, b)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, []aggregate.Event{budget.BudgetOpened{
				Budget: tc.id, Currency: tc.currency.Code(), Start: tc.start, End: tc.end,
			}}, b.Recorded())
			assert.Equal(t, tc.id, b.ID())
			assert.Equal(t, int64(0), b.Version())
			assert.Equal(t, tc.currency, b.Currency())
			start, end := b.Period()
			assert.True(t, start == tc.start && end == tc.end, "period %s to %s", start, end)
			assert.False(t, b.Closed())
			assert.Empty(t, b.Pots())
		})
	}
}

// TestBudgetClosedChangesNothing: every change needs an open budget. Each command that succeeds
// on the open budget fails with ErrClosed once it is closed.
func TestBudgetClosedChangesNothing(t *testing.T) {
	history := []budgetStep{
		givenPot("food", "300.00"),
		givenPot("gifts", "0.00"),
		givenExpense("food", "e1", "40.00", midPeriod),
	}
	open := givenBudget(history...)
	closed := givenBudget(append(slices.Clone(history), givenClose(periodEnd.AddDays(-1)))...)

	commands := []struct {
		name   string
		when   func(*budget.Budget) error
		onOpen aggregate.Event
	}{
		{
			name:   "AllocatePot",
			when:   func(b *budget.Budget) error { return b.AllocatePot("travel", dollars("50.00")) },
			onOpen: budget.PotAllocated{Budget: scenarioID, Pot: "travel", Allocation: dollars("50.00")},
		},
		{
			name:   "DeallocatePot",
			when:   func(b *budget.Budget) error { return b.DeallocatePot("gifts") },
			onOpen: budget.PotDeallocated{Budget: scenarioID, Pot: "gifts"},
		},
		{
			name: "RecordExpense",
			when: func(b *budget.Budget) error {
				return b.RecordExpense("food", "e2", dollars("10.00"), midPeriod, "bread")
			},
			onOpen: budget.ExpenseRecorded{Budget: scenarioID, Pot: "food", Expense: "e2", Amount: dollars("10.00"), Date: midPeriod, Description: "bread"},
		},
		{
			name:   "ReverseExpense",
			when:   func(b *budget.Budget) error { return b.ReverseExpense("e1") },
			onOpen: budget.ExpenseReversed{Budget: scenarioID, Pot: "food", Expense: "e1", Amount: dollars("40.00")},
		},
		{
			name:   "Close",
			when:   func(b *budget.Budget) error { return b.Close(periodEnd) },
			onOpen: budget.BudgetClosed{Budget: scenarioID, On: periodEnd},
		},
	}
	var cases []budgetCase
	for _, c := range commands {
		cases = append(cases,
			budgetCase{name: c.name + " on the open budget", given: open, when: c.when, want: []aggregate.Event{c.onOpen}},
			budgetCase{name: c.name + " on a closed budget", given: closed, when: c.when, err: budget.ErrClosed},
		)
	}
	runBudgetCases(t, cases)
}

func TestBudgetClose(t *testing.T) {
	isClosed := func(t *testing.T, b *budget.Budget) { assert.True(t, b.Closed()) }
	runBudgetCases(t, []budgetCase{
		{
			name:  "on the day before the end",
			given: givenBudget(givenPot("food", "300.00")),
			when:  func(b *budget.Budget) error { return b.Close(periodEnd.AddDays(-1)) },
			want:  []aggregate.Event{budget.BudgetClosed{Budget: scenarioID, On: periodEnd.AddDays(-1)}},
			check: isClosed,
		},
		{
			name:  "on the end day",
			given: givenBudget(),
			when:  func(b *budget.Budget) error { return b.Close(periodEnd) },
			want:  []aggregate.Event{budget.BudgetClosed{Budget: scenarioID, On: periodEnd}},
			check: isClosed,
		},
		{
			name:  "after the end",
			given: givenBudget(),
			when:  func(b *budget.Budget) error { return b.Close(periodEnd.AddDays(40)) },
			want:  []aggregate.Event{budget.BudgetClosed{Budget: scenarioID, On: periodEnd.AddDays(40)}},
			check: isClosed,
		},
		{
			name:  "two days before the end",
			given: givenBudget(),
			when:  func(b *budget.Budget) error { return b.Close(periodEnd.AddDays(-2)) },
			err:   budget.ErrTooEarlyToClose,
		},
		{
			name:  "on the first day",
			given: givenBudget(),
			when:  func(b *budget.Budget) error { return b.Close(periodStart) },
			err:   budget.ErrTooEarlyToClose,
		},
		{
			name:  "a second time",
			given: givenBudget(givenClose(periodEnd)),
			when:  func(b *budget.Budget) error { return b.Close(periodEnd.AddDays(1)) },
			err:   budget.ErrClosed,
		},
	})
}

func TestBudgetAllocatePot(t *testing.T) {
	withFood := givenBudget(givenPot("food", "300.00"))
	runBudgetCases(t, []budgetCase{
		{
			name:  "positive allocation",
			given: givenBudget(),
			when:  func(b *budget.Budget) error { return b.AllocatePot("food", dollars("300.00")) },
			want:  []aggregate.Event{budget.PotAllocated{Budget: scenarioID, Pot: "food", Allocation: dollars("300.00")}},
			check: func(t *testing.T, b *budget.Budget) {
				p := potOf(t, b, "food")
				assertAmount(t, dollars("300.00"), p.Allocation, "allocation")
				assertAmount(t, money.Zero(dollar), p.Spent, "spent")
				assertAmount(t, dollars("300.00"), p.Remaining, "remaining")
				assert.False(t, p.Overspent())
				assert.Empty(t, p.Expenses)
			},
		},
		{
			name:  "zero allocation",
			given: withFood,
			when:  func(b *budget.Budget) error { return b.AllocatePot("gifts", dollars("0.00")) },
			want:  []aggregate.Event{budget.PotAllocated{Budget: scenarioID, Pot: "gifts", Allocation: dollars("0.00")}},
			check: func(t *testing.T, b *budget.Budget) {
				assert.Equal(t, []string{"food", "gifts"}, potNames(b), "pots in the order allocated")
			},
		},
		{
			name:  "name trimmed",
			given: withFood,
			when:  func(b *budget.Budget) error { return b.AllocatePot("  rent\t", dollars("900.00")) },
			want:  []aggregate.Event{budget.PotAllocated{Budget: scenarioID, Pot: "rent", Allocation: dollars("900.00")}},
			check: func(t *testing.T, b *budget.Budget) { potOf(t, b, "rent") },
		},
		{
			name:  "negative allocation",
			given: withFood,
			when:  func(b *budget.Budget) error { return b.AllocatePot("gifts", dollars("-0.01")) },
			err:   budget.ErrNegativeAlloc,
		},
		{
			name:  "duplicate name",
			given: withFood,
			when:  func(b *budget.Budget) error { return b.AllocatePot("food", dollars("10.00")) },
			err:   budget.ErrDuplicatePot,
		},
		{
			name:  "duplicate name but for surrounding spaces",
			given: withFood,
			when:  func(b *budget.Budget) error { return b.AllocatePot(" food  ", dollars("10.00")) },
			err:   budget.ErrDuplicatePot,
		},
		{
			name:  "empty name",
			given: withFood,
			when:  func(b *budget.Budget) error { return b.AllocatePot("", dollars("10.00")) },
			err:   budget.ErrInvalid,
		},
		{
			name:  "blank name",
			given: withFood,
			when:  func(b *budget.Budget) error { return b.AllocatePot(" \t\n", dollars("10.00")) },
			err:   budget.ErrInvalid,
		},
		{
			name:  "other currency",
			given: withFood,
			when:  func(b *budget.Budget) error { return b.AllocatePot("travel", euros("10.00")) },
			err:   budget.ErrCurrencyMismatch,
		},
		{
			name:  "zero Money in no currency",
			given: withFood,
			when:  func(b *budget.Budget) error { return b.AllocatePot("travel", money.Money{}) },
			err:   budget.ErrCurrencyMismatch,
		},
	})
}

func potNames(b *budget.Budget) []string {
	var names []string
	for _, p := range b.Pots() {
		names = append(names, p.Name)
	}
	return names
}

func TestBudgetDeallocatePot(t *testing.T) {
	runBudgetCases(t, []budgetCase{
		{
			name:  "empty pot",
			given: givenBudget(givenPot("food", "300.00"), givenPot("gifts", "0.00")),
			when:  func(b *budget.Budget) error { return b.DeallocatePot("gifts") },
			want:  []aggregate.Event{budget.PotDeallocated{Budget: scenarioID, Pot: "gifts"}},
			check: func(t *testing.T, b *budget.Budget) {
				_, ok := b.Pot("gifts")
				assert.False(t, ok)
				assert.Equal(t, []string{"food"}, potNames(b))
			},
		},
		{
			name: "pot whose expenses are all reversed",
			given: givenBudget(
				givenPot("food", "300.00"),
				givenExpense("food", "e1", "40.00", midPeriod),
				givenExpense("food", "e2", "60.00", midPeriod),
				givenReversal("e1"),
				givenReversal("e2"),
			),
			when: func(b *budget.Budget) error { return b.DeallocatePot("food") },
			want: []aggregate.Event{budget.PotDeallocated{Budget: scenarioID, Pot: "food"}},
			check: func(t *testing.T, b *budget.Budget) {
				assert.Empty(t, b.Pots())
				// The reversed expenses went with the pot: their IDs are free again.
				require.NoError(t, b.AllocatePot("food", dollars("1.00")))
				require.ErrorIs(t, b.ReverseExpense("e1"), budget.ErrUnknownExpense)
			},
		},
		{
			name:  "pot with an active expense",
			given: givenBudget(givenPot("food", "300.00"), givenExpense("food", "e1", "40.00", midPeriod)),
			when:  func(b *budget.Budget) error { return b.DeallocatePot("food") },
			err:   budget.ErrPotHasExpenses,
		},
		{
			name: "pot with a reversed and an active expense",
			given: givenBudget(
				givenPot("food", "300.00"),
				givenExpense("food", "e1", "40.00", midPeriod),
				givenExpense("food", "e2", "60.00", midPeriod),
				givenReversal("e1"),
			),
			when: func(b *budget.Budget) error { return b.DeallocatePot("food") },
			err:  budget.ErrPotHasExpenses,
		},
		{
			name:  "unknown pot",
			given: givenBudget(givenPot("food", "300.00")),
			when:  func(b *budget.Budget) error { return b.DeallocatePot("travel") },
			err:   budget.ErrUnknownPot,
		},
	})
}

func TestBudgetRecordExpense(t *testing.T) {
	withPots := givenBudget(givenPot("food", "300.00"), givenPot("rent", "900.00"))
	withExpense := givenBudget(
		givenPot("food", "300.00"),
		givenPot("rent", "900.00"),
		givenExpense("food", "e1", "40.00", midPeriod),
	)
	record := func(pot string, id budget.ExpenseID, amount money.Money, on budget.Date) func(*budget.Budget) error {
		return func(b *budget.Budget) error { return b.RecordExpense(pot, id, amount, on, "groceries") }
	}
	recorded := func(pot string, id budget.ExpenseID, amount money.Money, on budget.Date) []aggregate.Event {
		return []aggregate.Event{budget.ExpenseRecorded{
			Budget: scenarioID, Pot: pot, Expense: id, Amount: amount, Date: on, Description: "groceries",
		}}
	}
	runBudgetCases(t, []budgetCase{
		{
			name:  "on the first day",
			given: withPots,
			when:  record("food", "e1", dollars("40.00"), periodStart),
			want:  recorded("food", "e1", dollars("40.00"), periodStart),
			check: func(t *testing.T, b *budget.Budget) {
				p := potOf(t, b, "food")
				assertAmount(t, dollars("40.00"), p.Spent, "spent")
				assertAmount(t, dollars("260.00"), p.Remaining, "remaining")
				require.Len(t, p.Expenses, 1)
				e := p.Expenses[0]
				assert.Equal(t, budget.ExpenseID("e1"), e.ID)
				assertAmount(t, dollars("40.00"), e.Amount, "amount")
				assert.True(t, e.Date == periodStart)
				assert.Equal(t, "groceries", e.Description)
				assert.False(t, e.Reversed)
			},
		},
		{
			name:  "on the last day",
			given: withPots,
			when:  record("food", "e1", dollars("40.00"), periodEnd),
			want:  recorded("food", "e1", dollars("40.00"), periodEnd),
		},
		{
			name:  "the smallest amount",
			given: withPots,
			when:  record("rent", "r1", dollars("0.01"), midPeriod),
			want:  recorded("rent", "r1", dollars("0.01"), midPeriod),
		},
		{
			name:  "overspending",
			given: withExpense,
			when:  record("food", "e2", dollars("300.00"), midPeriod),
			want:  recorded("food", "e2", dollars("300.00"), midPeriod),
			check: func(t *testing.T, b *budget.Budget) {
				p := potOf(t, b, "food")
				assert.True(t, p.Overspent())
				assertAmount(t, dollars("340.00"), p.Spent, "spent")
				assertAmount(t, dollars("-40.00"), p.Remaining, "remaining")
				assert.True(t, p.Remaining.IsNegative())
				assert.False(t, potOf(t, b, "rent").Overspent(), "other pots are unaffected")
			},
		},
		{
			name:  "spending exactly the allocation",
			given: withExpense,
			when:  record("food", "e2", dollars("260.00"), midPeriod),
			want:  recorded("food", "e2", dollars("260.00"), midPeriod),
			check: func(t *testing.T, b *budget.Budget) {
				p := potOf(t, b, "food")
				assert.False(t, p.Overspent())
				assertAmount(t, dollars("0.00"), p.Remaining, "remaining")
			},
		},
		{
			name:  "day before the start",
			given: withPots,
			when:  record("food", "e1", dollars("40.00"), periodStart.AddDays(-1)),
			err:   budget.ErrOutsidePeriod,
		},
		{
			name:  "day after the end",
			given: withPots,
			when:  record("food", "e1", dollars("40.00"), periodEnd.AddDays(1)),
			err:   budget.ErrOutsidePeriod,
		},
		{
			name:  "zero amount",
			given: withPots,
			when:  record("food", "e1", dollars("0.00"), midPeriod),
			err:   budget.ErrNonPositive,
		},
		{
			name:  "negative amount",
			given: withPots,
			when:  record("food", "e1", dollars("-5.00"), midPeriod),
			err:   budget.ErrNonPositive,
		},
		{
			name:  "other currency",
			given: withPots,
			when:  record("food", "e1", euros("5.00"), midPeriod),
			err:   budget.ErrCurrencyMismatch,
		},
		{
			name:  "unknown pot",
			given: withPots,
			when:  record("travel", "e1", dollars("5.00"), midPeriod),
			err:   budget.ErrUnknownPot,
		},
		{
			name:  "duplicate expense ID in the same pot",
			given: withExpense,
			when:  record("food", "e1", dollars("5.00"), midPeriod),
			err:   budget.ErrDuplicateExpense,
		},
		{
			name:  "duplicate expense ID in another pot",
			given: withExpense,
			when:  record("rent", "e1", dollars("5.00"), midPeriod),
			err:   budget.ErrDuplicateExpense,
		},
		{
			name:  "ID of a reversed expense",
			given: givenBudget(givenPot("food", "300.00"), givenExpense("food", "e1", "40.00", midPeriod), givenReversal("e1")),
			when:  record("food", "e1", dollars("5.00"), midPeriod),
			err:   budget.ErrDuplicateExpense,
		},
		{
			name:  "empty ID",
			given: withPots,
			when:  record("food", "", dollars("5.00"), midPeriod),
			err:   budget.ErrInvalid,
		},
		{
			name:  "zero date",
			given: withPots,
			when:  record("food", "e1", dollars("5.00"), budget.Date{}),
			err:   budget.ErrInvalid,
		},
	})
}

func TestBudgetReverseExpense(t *testing.T) {
	withExpenses := givenBudget(
		givenPot("food", "300.00"),
		givenPot("rent", "900.00"),
		givenExpense("food", "e1", "40.00", midPeriod),
		givenExpense("food", "e2", "60.00", midPeriod),
		givenExpense("rent", "r1", "900.00", periodStart),
	)
	runBudgetCases(t, []budgetCase{
		{
			name:  "active expense",
			given: withExpenses,
			when:  func(b *budget.Budget) error { return b.ReverseExpense("e1") },
			want:  []aggregate.Event{budget.ExpenseReversed{Budget: scenarioID, Pot: "food", Expense: "e1", Amount: dollars("40.00")}},
			check: func(t *testing.T, b *budget.Budget) {
				p := potOf(t, b, "food")
				assertAmount(t, dollars("60.00"), p.Spent, "spent")
				assertAmount(t, dollars("240.00"), p.Remaining, "remaining")
				require.Len(t, p.Expenses, 2, "a reversed expense stays in its pot")
				assert.True(t, p.Expenses[0].Reversed)
				assert.False(t, p.Expenses[1].Reversed)
				assertAmount(t, dollars("0.00"), potOf(t, b, "rent").Remaining, "other pots are unaffected")
			},
		},
		{
			name:  "expense of another pot",
			given: withExpenses,
			when:  func(b *budget.Budget) error { return b.ReverseExpense("r1") },
			want:  []aggregate.Event{budget.ExpenseReversed{Budget: scenarioID, Pot: "rent", Expense: "r1", Amount: dollars("900.00")}},
			check: func(t *testing.T, b *budget.Budget) {
				p := potOf(t, b, "rent")
				assertAmount(t, dollars("0.00"), p.Spent, "spent")
				assertAmount(t, dollars("900.00"), p.Remaining, "remaining")
			},
		},
		{
			name:  "unknown expense",
			given: withExpenses,
			when:  func(b *budget.Budget) error { return b.ReverseExpense("e9") },
			err:   budget.ErrUnknownExpense,
		},
		{
			name:  "empty ID",
			given: withExpenses,
			when:  func(b *budget.Budget) error { return b.ReverseExpense("") },
			err:   budget.ErrUnknownExpense,
		},
		{
			name:  "twice",
			given: givenBudget(givenPot("food", "300.00"), givenExpense("food", "e1", "40.00", midPeriod), givenReversal("e1")),
			when:  func(b *budget.Budget) error { return b.ReverseExpense("e1") },
			err:   budget.ErrAlreadyReversed,
		},
	})
}

// TestBudgetRemaining: Remaining is computed, never stored, so after any mix of allocations,
// expenses and reversals every pot's Spent is the sum of its active expenses and Remaining its
// allocation minus that.
func TestBudgetRemaining(t *testing.T) {
	b, err := givenBudget(
		givenPot("food", "300.00"),
		givenPot("rent", "1000.00"),
		givenPot("fun", "50.00"),
		givenPot("gifts", "0.00"),
		givenPot("travel", "200.00"),
		givenExpense("food", "e1", "120.50", periodStart),
		givenExpense("food", "e2", "80.00", midPeriod),
		givenExpense("food", "e3", "99.50", periodEnd),
		givenExpense("rent", "r1", "1000.00", periodStart),
		givenExpense("fun", "f1", "75.00", midPeriod),
		givenExpense("travel", "t1", "180.00", midPeriod),
		givenReversal("e2"),
		givenReversal("t1"),
	)()
	require.NoError(t, err)

	want := []struct {
		pot              string
		spent, remaining string
		overspent        bool
	}{
		{pot: "food", spent: "220.00", remaining: "80.00"},
		{pot: "rent", spent: "1000.00", remaining: "0.00"},
		{pot: "fun", spent: "75.00", remaining: "-25.00", overspent: true},
		{pot: "gifts", spent: "0.00", remaining: "0.00"},
		{pot: "travel", spent: "0.00", remaining: "200.00"},
	}
	pots := b.Pots()
	require.Len(t, pots, len(want))
	for i, w := range want {
		t.Run(w.pot, func(t *testing.T) {
			p := pots[i]
			require.Equal(t, w.pot, p.Name)
			assertAmount(t, dollars(w.spent), p.Spent, "spent")
			assertAmount(t, dollars(w.remaining), p.Remaining, "remaining")
			assert.Equal(t, w.overspent, p.Overspent())
			assertComputed(t, p)
			single, ok := b.Pot(p.Name)
			require.True(t, ok)
			assertPotsEqual(t, []budget.PotView{p}, []budget.PotView{single})
		})
	}
}

// assertComputed checks one pot's Spent and Remaining against its own expenses.
func assertComputed(t require.TestingT, p budget.PotView) {
	active := money.Zero(p.Allocation.Currency())
	for _, e := range p.Expenses {
		if !e.Reversed {
			var err error
			active, err = active.Add(e.Amount)
			require.NoError(t, err)
		}
	}
	remaining, err := p.Allocation.Sub(active)
	require.NoError(t, err)
	require.True(t, active.Equal(p.Spent), "%s: spent %s, active expenses sum to %s", p.Name, p.Spent, active)
	require.True(t, remaining.Equal(p.Remaining), "%s: remaining %s, want %s", p.Name, p.Remaining, remaining)
	require.Equal(t, remaining.IsNegative(), p.Overspent(), "%s: overspent", p.Name)
}

// TestBudgetRemainingProperty runs random commands against a budget and a model of its pots:
// after each, the pots are the model's, and every pot's Spent and Remaining are computed from its
// active expenses. A command that fails breaks a business rule and changes nothing.
func TestBudgetRemainingProperty(t *testing.T) {
	type modelExpense struct {
		id       budget.ExpenseID
		amount   money.Money
		reversed bool
	}
	type modelPot struct {
		name       string
		allocation money.Money
		expenses   []modelExpense
	}
	names := []string{"food", "rent", "fun", " food ", "nope"}
	ids := []budget.ExpenseID{"e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7"}

	rapid.Check(t, func(rt *rapid.T) {
		b, err := givenBudget()()
		require.NoError(rt, err)
		var model []modelPot
		find := func(name string) int { // pot names are trimmed wherever they are given
			return slices.IndexFunc(model, func(p modelPot) bool { return p.name == strings.TrimSpace(name) })
		}
		amount := func(label string, lo, hi int64) money.Money {
			m, err := money.FromMinorUnits(rapid.Int64Range(lo, hi).Draw(rt, label), dollar)
			require.NoError(rt, err)
			return m
		}

		steps := rapid.IntRange(1, 60).Draw(rt, "steps")
		for range steps {
			var err error
			var apply func()
			switch rapid.IntRange(0, 3).Draw(rt, "command") {
			case 0:
				name := rapid.SampledFrom(names).Draw(rt, "pot")
				alloc := amount("allocation", -1000, 100000)
				err = b.AllocatePot(name, alloc)
				apply = func() { model = append(model, modelPot{name: strings.TrimSpace(name), allocation: alloc}) }
			case 1:
				name := rapid.SampledFrom(names).Draw(rt, "pot")
				id := rapid.SampledFrom(ids).Draw(rt, "id")
				m := amount("amount", -100, 50000)
				on := periodStart.AddDays(rapid.IntRange(-2, 32).Draw(rt, "day"))
				err = b.RecordExpense(name, id, m, on, "")
				apply = func() {
					i := find(name)
					model[i].expenses = append(model[i].expenses, modelExpense{id: id, amount: m})
				}
			case 2:
				id := rapid.SampledFrom(ids).Draw(rt, "id")
				err = b.ReverseExpense(id)
				apply = func() {
					for i := range model {
						for j := range model[i].expenses {
							if model[i].expenses[j].id == id {
								model[i].expenses[j].reversed = true
							}
						}
					}
				}
			case 3:
				name := rapid.SampledFrom(names).Draw(rt, "pot")
				err = b.DeallocatePot(name)
				apply = func() { model = slices.Delete(model, find(name), find(name)+1) }
			}
			if err != nil {
				require.ErrorIs(rt, err, aggregate.ErrRule)
			} else {
				apply()
			}

			pots := b.Pots()
			require.Len(rt, pots, len(model))
			for i, mp := range model {
				p := pots[i]
				require.Equal(rt, mp.name, p.Name)
				require.True(rt, mp.allocation.Equal(p.Allocation), "%s allocation", p.Name)
				require.Len(rt, p.Expenses, len(mp.expenses), "%s expenses", p.Name)
				spent := money.Zero(dollar)
				for j, me := range mp.expenses {
					require.Equal(rt, me.id, p.Expenses[j].ID)
					require.Equal(rt, me.reversed, p.Expenses[j].Reversed, "%s reversed", me.id)
					if !me.reversed {
						spent, err = spent.Add(me.amount)
						require.NoError(rt, err)
					}
				}
				remaining, err := mp.allocation.Sub(spent)
				require.NoError(rt, err)
				require.True(rt, spent.Equal(p.Spent), "%s: spent %s, want %s", p.Name, p.Spent, spent)
				require.True(rt, remaining.Equal(p.Remaining), "%s: remaining %s, want %s", p.Name, p.Remaining, remaining)
				assertComputed(rt, p)
			}
		}
	})
}

// TestBudgetRuleErrors: every rule of the budget is a *aggregate.RuleError with its own code, so
// errors.Is(err, aggregate.ErrRule) tells it, wrapped or not, from a technical failure.
func TestBudgetRuleErrors(t *testing.T) {
	rules := map[string]error{
		"ErrInvalid":          budget.ErrInvalid,
		"ErrClosed":           budget.ErrClosed,
		"ErrPeriod":           budget.ErrPeriod,
		"ErrTooEarlyToClose":  budget.ErrTooEarlyToClose,
		"ErrNegativeAlloc":    budget.ErrNegativeAlloc,
		"ErrDuplicatePot":     budget.ErrDuplicatePot,
		"ErrUnknownPot":       budget.ErrUnknownPot,
		"ErrPotHasExpenses":   budget.ErrPotHasExpenses,
		"ErrOutsidePeriod":    budget.ErrOutsidePeriod,
		"ErrNonPositive":      budget.ErrNonPositive,
		"ErrCurrencyMismatch": budget.ErrCurrencyMismatch,
		"ErrUnknownExpense":   budget.ErrUnknownExpense,
		"ErrAlreadyReversed":  budget.ErrAlreadyReversed,
		"ErrDuplicateExpense": budget.ErrDuplicateExpense,
	}
	codes := map[string]string{}
	for name, rule := range rules {
		t.Run(name, func(t *testing.T) {
			assert.True(t, errors.Is(rule, aggregate.ErrRule))
			assert.True(t, errors.Is(fmt.Errorf("%w: detail", rule), aggregate.ErrRule), "wrapped")
			var re *aggregate.RuleError
			require.True(t, errors.As(fmt.Errorf("%w: detail", rule), &re))
			assert.NotEmpty(t, re.Code)
			assert.NotEmpty(t, re.Message)
			if other, dup := codes[re.Code]; dup {
				t.Errorf("%s and %s share the code %q", name, other, re.Code)
			}
			codes[re.Code] = name
			for otherName, other := range rules {
				if otherName != name {
					assert.False(t, errors.Is(rule, other), "%s matches %s", name, otherName)
				}
			}
		})
	}
}

func TestBudgetJSON(t *testing.T) {
	t.Run("round trip", func(t *testing.T) {
		b, err := givenBudget(
			givenPot("food", "300.00"),
			givenPot("rent", "1000.00"),
			givenPot("gifts", "0.00"),
			givenExpense("food", "e1", "40.00", periodStart),
			givenExpense("food", "e2", "60.25", midPeriod),
			givenExpense("rent", "r1", "1000.00", periodEnd),
			func(b *budget.Budget) error {
				return b.RecordExpense("food", "e3", dollars("12.00"), midPeriod, "market, \"organic\"")
			},
			givenReversal("e1"),
			givenClose(periodEnd),
		)()
		require.NoError(t, err)

		data, err := json.Marshal(b)
		require.NoError(t, err)
		got := new(budget.Budget)
		require.NoError(t, json.Unmarshal(data, got))

		assertPotsEqual(t, b.Pots(), got.Pots())
		wantStart, wantEnd := b.Period()
		gotStart, gotEnd := got.Period()
		assert.True(t, gotStart == wantStart && gotEnd == wantEnd, "period %s to %s", gotStart, gotEnd)
		assert.Equal(t, b.Currency(), got.Currency())
		assert.True(t, got.Closed())
		assert.Empty(t, got.Recorded(), "decoding records nothing")

		again, err := json.Marshal(got)
		require.NoError(t, err)
		assert.JSONEq(t, string(data), string(again))
	})

	t.Run("round trip of an open budget without pots", func(t *testing.T) {
		b, err := givenBudget()()
		require.NoError(t, err)
		data, err := json.Marshal(b)
		require.NoError(t, err)
		got := new(budget.Budget)
		require.NoError(t, json.Unmarshal(data, got))
		assert.Empty(t, got.Pots())
		assert.False(t, got.Closed())
		assert.Equal(t, dollar, got.Currency())
		start, end := got.Period()
		assert.True(t, start == periodStart && end == periodEnd)
	})

	bad := []struct {
		name string
		doc  string
	}{
		{
			name: "pot allocation in another currency",
			doc: `{"currency":"USD","start":"2026-03-01","end":"2026-03-31",
				"pots":[{"name":"food","allocation":{"amount":"300.00","currency":"EUR"}}]}`,
		},
		{
			name: "expense in another currency",
			doc: `{"currency":"USD","start":"2026-03-01","end":"2026-03-31",
				"pots":[{"name":"food","allocation":{"amount":"300.00","currency":"USD"},
				"expenses":[{"id":"e1","amount":{"amount":"4.00","currency":"EUR"},"date":"2026-03-15"}]}]}`,
		},
		{
			name: "unknown currency",
			doc:  `{"currency":"ZZZ","start":"2026-03-01","end":"2026-03-31","pots":[]}`,
		},
		{
			name: "no currency",
			doc:  `{"start":"2026-03-01","end":"2026-03-31","pots":[]}`,
		},
		{
			name: "malformed date",
			doc:  `{"currency":"USD","start":"2026-3-1","end":"2026-03-31","pots":[]}`,
		},
		{
			name: "wrong type",
			doc:  `{"currency":"USD","start":"2026-03-01","end":"2026-03-31","pots":{}}`,
		},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			err := json.Unmarshal([]byte(tc.doc), new(budget.Budget))
			require.Error(t, err)
		})
	}
}

package budget_test

import (
	"encoding/json"
	"errors"
	"flag"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/examples/budget"
	"github.com/dddkit/ddd/money"
)

// This file is a model-based test of the Budget aggregate: rapid opens a budget over a random
// period and draws sequences of commands (allocate and deallocate pots, record and reverse
// expenses, close), valid and deliberately invalid, and every outcome is compared with a model
// that predicts it: the exact rule error, or the one event an accepted command records. The
// model keeps amounts in int64 minor units and days as offsets from the start, in plain slices.

var (
	smUSD = money.MustLookup("USD")
	smEUR = money.MustLookup("EUR")
)

const smBudget budget.BudgetID = "budget-1"

// The pools commands draw from: small, so that names and IDs collide.
var (
	smPotNames     = []string{"food", "rent", "fun", "travel"}
	smExpenseIDs   = []budget.ExpenseID{"e1", "e2", "e3", "e4", "e5", "e6"}
	smDescriptions = []string{"", "groceries", "bus ticket"}
)

// smRules are every rule a command may break: a rejected command must match exactly the one the
// model predicts.
var smRules = []*aggregate.RuleError{
	budget.ErrInvalid, budget.ErrClosed, budget.ErrPeriod, budget.ErrTooEarlyToClose,
	budget.ErrNegativeAlloc, budget.ErrDuplicatePot, budget.ErrUnknownPot, budget.ErrPotHasExpenses,
	budget.ErrOutsidePeriod, budget.ErrNonPositive, budget.ErrCurrencyMismatch,
	budget.ErrUnknownExpense, budget.ErrAlreadyReversed, budget.ErrDuplicateExpense,
}

type smExpense struct {
	id          budget.ExpenseID
	units       int64
	day         int // days after the start
	description string
	reversed    bool
}

type smPot struct {
	name       string
	allocation int64
	expenses   []smExpense
}

// active is the number of the pot's expenses that are not reversed.
func (p *smPot) active() int {
	n := 0
	for _, e := range p.expenses {
		if !e.reversed {
			n++
		}
	}
	return n
}

// spent is the sum of the pot's active expenses.
func (p *smPot) spent() int64 {
	var n int64
	for _, e := range p.expenses {
		if !e.reversed {
			n += e.units
		}
	}
	return n
}

type smBudgetMachine struct {
	b      *budget.Budget
	start  budget.Date
	days   int      // the period is start to start+days, both included
	pots   []*smPot // in allocation order
	closed bool
	events []aggregate.Event         // every event the budget must have recorded, in order
	used   map[budget.ExpenseID]bool // every expense ID ever recorded, for the stats
	stats  map[string]int            // outcomes reached, "Action: ok" or "Action: rule_code"
}

func (m *smBudgetMachine) pot(name string) *smPot {
	for _, p := range m.pots {
		if p.name == name {
			return p
		}
	}
	return nil
}

// expense returns the pot holding the expense with ID id, and its index there.
func (m *smBudgetMachine) expense(id budget.ExpenseID) (*smPot, int) {
	for _, p := range m.pots {
		for i, e := range p.expenses {
			if e.id == id {
				return p, i
			}
		}
	}
	return nil, -1
}

func (m *smBudgetMachine) potNames() []string {
	var names []string
	for _, p := range m.pots {
		names = append(names, p.name)
	}
	return names
}

func (m *smBudgetMachine) expenseIDs() []budget.ExpenseID {
	var ids []budget.ExpenseID
	for _, p := range m.pots {
		for _, e := range p.expenses {
			ids = append(ids, e.id)
		}
	}
	return ids
}

func (m *smBudgetMachine) date(day int) budget.Date { return m.start.AddDays(day) }

func smMoney(t *rapid.T, units int64, c money.Currency) money.Money {
	v, err := money.FromMinorUnits(units, c)
	if err != nil {
		t.Fatalf("FromMinorUnits(%d, %s): %v", units, c, err)
	}
	return v
}

// smDrawAmount draws units minor units from lo to hi: one time in eight from lo to 0, otherwise
// positive (rapid draws half of the integers of a range across zero below it, far too many for
// a budget to get anywhere). The currency is USD, or EUR one time in eight.
func smDrawAmount(t *rapid.T, label string, lo, hi int) (units int64, c money.Currency) {
	if rapid.IntRange(0, 7).Draw(t, label+" not positive") == 0 {
		units = int64(rapid.IntRange(lo, 0).Draw(t, label))
	} else {
		units = int64(rapid.IntRange(1, hi).Draw(t, label))
	}
	if rapid.IntRange(0, 7).Draw(t, label+" in EUR") == 0 {
		return units, smEUR
	}
	return units, smUSD
}

// smDrawExpenseID draws an ID of the pool, or the empty ID one time in ten.
func smDrawExpenseID(t *rapid.T) budget.ExpenseID {
	if rapid.IntRange(0, 9).Draw(t, "blank id") == 0 {
		return ""
	}
	return rapid.SampledFrom(smExpenseIDs).Draw(t, "id")
}

// apply runs cmd on the budget and checks its outcome against the model's prediction: want is
// the rule cmd must break (then it records nothing and changes nothing), or nil, and then cmd
// must record exactly event. The caller updates the model when apply reports acceptance.
func (m *smBudgetMachine) apply(t *rapid.T, action string, want *aggregate.RuleError, event aggregate.Event, cmd func() error) bool {
	before := len(m.b.Recorded())
	doc, err := json.Marshal(m.b)
	require.NoError(t, err)

	err = cmd()

	if want != nil {
		m.stats[action+": "+want.Code]++
		if !errors.Is(err, want) || !errors.Is(err, aggregate.ErrRule) {
			t.Fatalf("%s returned %v, want %s (a rule error)", action, err, want.Code)
		}
		for _, r := range smRules {
			if r != want && errors.Is(err, r) {
				t.Fatalf("%s returned %v, matching %s as well as %s", action, err, r.Code, want.Code)
			}
		}
		if n := len(m.b.Recorded()); n != before {
			t.Fatalf("%s rejected with %v recorded %d events", action, err, n-before)
		}
		after, merr := json.Marshal(m.b)
		require.NoError(t, merr)
		if string(after) != string(doc) {
			t.Fatalf("%s rejected with %v changed the budget:\n%s\nto\n%s", action, err, doc, after)
		}
		return false
	}

	m.stats[action+": ok"]++
	require.NoError(t, err, "%s", action)
	got := m.b.Recorded()
	require.Len(t, got, before+1, "%s accepted must record one event", action)
	smRequireEvent(t, event, got[before])
	m.events = append(m.events, event)
	return true
}

// smRequireEvent checks that got is want: same type, same fields (amounts compared with Equal).
func smRequireEvent(t *rapid.T, want, got aggregate.Event) {
	same := false
	switch w := want.(type) {
	case budget.BudgetOpened:
		g, ok := got.(budget.BudgetOpened)
		same = ok && g == w
	case budget.PotAllocated:
		g, ok := got.(budget.PotAllocated)
		same = ok && g.Budget == w.Budget && g.Pot == w.Pot && g.Allocation.Equal(w.Allocation)
	case budget.PotDeallocated:
		g, ok := got.(budget.PotDeallocated)
		same = ok && g == w
	case budget.ExpenseRecorded:
		g, ok := got.(budget.ExpenseRecorded)
		same = ok && g.Budget == w.Budget && g.Pot == w.Pot && g.Expense == w.Expense &&
			g.Amount.Equal(w.Amount) && g.Date == w.Date && g.Description == w.Description
	case budget.ExpenseReversed:
		g, ok := got.(budget.ExpenseReversed)
		same = ok && g.Budget == w.Budget && g.Pot == w.Pot && g.Expense == w.Expense && g.Amount.Equal(w.Amount)
	case budget.BudgetClosed:
		g, ok := got.(budget.BudgetClosed)
		same = ok && g == w
	default:
		t.Fatalf("model event %T not handled", want)
	}
	if !same {
		t.Fatalf("recorded %T %+v, want %T %+v", got, got, want, want)
	}
}

// smDrawPotName draws a pot name of the pool; one time in ten it is blank, one time in ten padded
// with spaces (the budget trims names).
func smDrawPotName(t *rapid.T) string {
	switch rapid.IntRange(0, 9).Draw(t, "name kind") {
	case 0:
		return rapid.SampledFrom([]string{"", "   "}).Draw(t, "blank name")
	case 1:
		return " " + rapid.SampledFrom(smPotNames).Draw(t, "padded name") + " "
	default:
		return rapid.SampledFrom(smPotNames).Draw(t, "name")
	}
}

func (m *smBudgetMachine) allocatePot(t *rapid.T) {
	name := smDrawPotName(t)
	units, c := smDrawAmount(t, "allocation", -500, 5000)
	allocation := smMoney(t, units, c)

	trimmed := strings.TrimSpace(name)
	var want *aggregate.RuleError
	switch {
	case m.closed:
		want = budget.ErrClosed
	case trimmed == "":
		want = budget.ErrInvalid
	case c != smUSD:
		want = budget.ErrCurrencyMismatch
	case units < 0:
		want = budget.ErrNegativeAlloc
	case m.pot(trimmed) != nil:
		want = budget.ErrDuplicatePot
	}
	event := budget.PotAllocated{Budget: smBudget, Pot: trimmed, Allocation: smMoney(t, units, smUSD)}
	if m.apply(t, "AllocatePot", want, event, func() error { return m.b.AllocatePot(name, allocation) }) {
		m.pots = append(m.pots, &smPot{name: trimmed, allocation: units})
	}
}

func (m *smBudgetMachine) deallocatePot(t *rapid.T) {
	name := smDrawPotName(t)

	var want *aggregate.RuleError
	var event aggregate.Event
	p := m.pot(strings.TrimSpace(name))
	switch {
	case m.closed:
		want = budget.ErrClosed
	case p == nil:
		want = budget.ErrUnknownPot
	case p.active() > 0:
		want = budget.ErrPotHasExpenses
	default:
		event = budget.PotDeallocated{Budget: smBudget, Pot: p.name}
	}
	if m.apply(t, "DeallocatePot", want, event, func() error { return m.b.DeallocatePot(name) }) {
		// Its reversed expenses go with it, and with them their IDs: budget.go lets a later
		// expense reuse them, although RecordExpense's doc asks for "an ID the budget has not
		// used" (the stats count how often a run does).
		for i, q := range m.pots {
			if q == p {
				m.pots = append(m.pots[:i:i], m.pots[i+1:]...)
				break
			}
		}
	}
}

func (m *smBudgetMachine) recordExpense(t *rapid.T) {
	// Mostly one of the budget's pots, else any name of the pool: deallocations keep the budget
	// short of pots, and an expense needs one.
	potName := smDrawPotName(t)
	if len(m.pots) > 0 && rapid.IntRange(0, 3).Draw(t, "existing pot") != 0 {
		potName = rapid.SampledFrom(m.potNames()).Draw(t, "pot")
	}
	id := smDrawExpenseID(t)
	units, c := smDrawAmount(t, "amount", -100, 3000)
	amount := smMoney(t, units, c)
	day := rapid.IntRange(0, m.days).Draw(t, "day")
	if rapid.IntRange(0, 7).Draw(t, "outside the period") == 0 {
		day = rapid.SampledFrom([]int{-3, -2, -1, m.days + 1, m.days + 2, m.days + 3}).Draw(t, "day outside")
	}
	date := m.date(day)
	zeroDate := rapid.IntRange(0, 19).Draw(t, "no date") == 0
	if zeroDate {
		date = budget.Date{}
	}
	description := rapid.SampledFrom(smDescriptions).Draw(t, "description")

	var want *aggregate.RuleError
	p := m.pot(strings.TrimSpace(potName))
	owner, _ := m.expense(id)
	switch {
	case m.closed:
		want = budget.ErrClosed
	case id == "" || zeroDate:
		want = budget.ErrInvalid
	case p == nil:
		want = budget.ErrUnknownPot
	case c != smUSD:
		want = budget.ErrCurrencyMismatch
	case units <= 0:
		want = budget.ErrNonPositive
	case day < 0 || day > m.days:
		want = budget.ErrOutsidePeriod
	case owner != nil:
		want = budget.ErrDuplicateExpense
	}
	var event aggregate.Event
	if want == nil {
		event = budget.ExpenseRecorded{
			Budget: smBudget, Pot: p.name, Expense: id, Amount: smMoney(t, units, smUSD),
			Date: m.date(day), Description: description,
		}
	}
	if m.apply(t, "RecordExpense", want, event, func() error {
		return m.b.RecordExpense(potName, id, amount, date, description)
	}) {
		p.expenses = append(p.expenses, smExpense{id: id, units: units, day: day, description: description})
		if m.used[id] {
			m.stats["RecordExpense: ok, reusing the ID of a deallocated expense"]++
		}
		m.used[id] = true
	}
}

func (m *smBudgetMachine) reverseExpense(t *rapid.T) {
	// Half the time one of the budget's expenses, else any ID of the pool.
	id := smDrawExpenseID(t)
	if ids := m.expenseIDs(); len(ids) > 0 && rapid.Bool().Draw(t, "existing expense") {
		id = rapid.SampledFrom(ids).Draw(t, "expense")
	}

	var want *aggregate.RuleError
	p, i := m.expense(id)
	var event aggregate.Event
	switch {
	case m.closed:
		want = budget.ErrClosed
	case p == nil:
		want = budget.ErrUnknownExpense
	case p.expenses[i].reversed:
		want = budget.ErrAlreadyReversed
	default:
		event = budget.ExpenseReversed{Budget: smBudget, Pot: p.name, Expense: id, Amount: smMoney(t, p.expenses[i].units, smUSD)}
	}
	if m.apply(t, "ReverseExpense", want, event, func() error { return m.b.ReverseExpense(id) }) {
		p.expenses[i].reversed = true
	}
}

func (m *smBudgetMachine) close(t *rapid.T) {
	day := rapid.IntRange(0, m.days+4).Draw(t, "today") - 2 // from start-2 to end+2
	today := m.date(day)
	noDate := rapid.IntRange(0, 19).Draw(t, "no date") == 0
	if noDate {
		today = budget.Date{}
	}

	var want *aggregate.RuleError
	switch {
	case m.closed:
		want = budget.ErrClosed
	case noDate: // closing needs a day
		want = budget.ErrInvalid
	case day < m.days-1: // it closes from the day before its end
		want = budget.ErrTooEarlyToClose
	}
	event := budget.BudgetClosed{Budget: smBudget, On: today}
	if m.apply(t, "Close", want, event, func() error { return m.b.Close(today) }) {
		m.closed = true
	}
}

// check compares the whole budget with the model and checks the invariants that hold whatever
// the model says. Its loops run after every step, so they test with plain ifs: testify's
// assertions cost a stack walk each, even when they pass.
func (m *smBudgetMachine) check(t *rapid.T) {
	b := m.b
	start, end := b.Period()
	require.Equal(t, m.start, start)
	require.Equal(t, m.date(m.days), end)
	require.Equal(t, smUSD, b.Currency())
	require.Equal(t, m.closed, b.Closed())

	recorded := b.Recorded()
	require.Len(t, recorded, len(m.events))
	for i := range recorded {
		smRequireEvent(t, m.events[i], recorded[i])
	}

	m.checkPots(t, "budget", b.Pots(), start, end)

	for _, name := range smPotNames {
		v, ok := b.Pot(name)
		if ok != (m.pot(name) != nil) || ok && v.Name != name {
			t.Fatalf("Pot(%q) = %q, %t; model has it: %t", name, v.Name, ok, m.pot(name) != nil)
		}
	}

	// The stored document decodes to the same budget.
	doc, err := json.Marshal(b)
	require.NoError(t, err)
	var decoded budget.Budget
	require.NoError(t, json.Unmarshal(doc, &decoded))
	again, err := json.Marshal(&decoded)
	require.NoError(t, err)
	require.Equal(t, string(doc), string(again))
	require.Equal(t, m.closed, decoded.Closed())
	ds, de := decoded.Period()
	require.True(t, ds == start && de == end, "decoded period %s to %s", ds, de)
	m.checkPots(t, "decoded budget", decoded.Pots(), start, end)
}

// checkPots compares the pots a budget shows with the model's, and checks their invariants.
func (m *smBudgetMachine) checkPots(t *rapid.T, what string, views []budget.PotView, start, end budget.Date) {
	require.Len(t, views, len(m.pots))
	names := map[string]bool{}
	ids := map[budget.ExpenseID]bool{}
	for i, v := range views {
		p := m.pots[i]
		if v.Name != p.name {
			t.Fatalf("%s: pot %d is %q, want %q", what, i, v.Name, p.name)
		}
		if names[v.Name] {
			t.Fatalf("%s: two pots named %q", what, v.Name)
		}
		names[v.Name] = true
		if !v.Allocation.Equal(smMoney(t, p.allocation, smUSD)) {
			t.Fatalf("%s: pot %q allocation %s, want %d minor units", what, v.Name, v.Allocation, p.allocation)
		}

		if len(v.Expenses) != len(p.expenses) {
			t.Fatalf("%s: pot %q has %d expenses, want %d", what, v.Name, len(v.Expenses), len(p.expenses))
		}
		var active int64
		for j, e := range v.Expenses {
			w := p.expenses[j]
			if e.ID != w.id || !e.Amount.Equal(smMoney(t, w.units, smUSD)) || e.Date != m.date(w.day) ||
				e.Description != w.description || e.Reversed != w.reversed {
				t.Fatalf("%s: pot %q expense %d is %+v, want %+v (day %d after the start)", what, v.Name, j, e, w, w.day)
			}
			if ids[e.ID] {
				t.Fatalf("%s: two expenses with ID %s", what, e.ID)
			}
			ids[e.ID] = true
			if e.Amount.Currency() != smUSD || !e.Amount.IsPositive() {
				t.Fatalf("%s: expense %s amount %s: want a positive amount in USD", what, e.ID, e.Amount)
			}
			if e.Date.Before(start) || e.Date.After(end) {
				t.Fatalf("%s: expense %s on %s, outside %s to %s", what, e.ID, e.Date, start, end)
			}
			if !e.Reversed {
				active += w.units
			}
		}
		if active != p.spent() {
			t.Fatalf("%s: model of pot %q: spent %d, active expenses %d", what, v.Name, p.spent(), active)
		}

		if !v.Spent.Equal(smMoney(t, active, smUSD)) {
			t.Fatalf("%s: pot %q spent %s, want %d minor units", what, v.Name, v.Spent, active)
		}
		if !v.Remaining.Equal(smMoney(t, p.allocation-active, smUSD)) {
			t.Fatalf("%s: pot %q remaining %s, want %d minor units", what, v.Name, v.Remaining, p.allocation-active)
		}
		diff, err := v.Allocation.Sub(v.Spent)
		if err != nil || !v.Remaining.Equal(diff) {
			t.Fatalf("%s: pot %q: remaining %s is not %s - %s (%v)", what, v.Name, v.Remaining, v.Allocation, v.Spent, err)
		}
		if v.Overspent() != (p.allocation-active < 0) {
			t.Fatalf("%s: pot %q overspent %t with allocation %s and spent %s", what, v.Name, v.Overspent(), v.Allocation, v.Spent)
		}
	}
}

func TestBudgetStateMachine(t *testing.T) {
	today, err := budget.NewDate(2028, time.February, 20) // periods run across a leap day
	require.NoError(t, err)
	stats := map[string]int{}

	rapid.Check(t, func(t *rapid.T) {
		startIn := rapid.IntRange(0, 5).Draw(t, "start in days")
		days := rapid.IntRange(1, 40).Draw(t, "period length in days")
		start := today.AddDays(startIn)
		end := start.AddDays(days)

		b, err := budget.Open(smBudget, smUSD, start, end, today)
		require.NoError(t, err)
		m := &smBudgetMachine{
			b: b, start: start, days: days, stats: stats, used: map[budget.ExpenseID]bool{},
			events: []aggregate.Event{budget.BudgetOpened{Budget: smBudget, Currency: "USD", Start: start, End: end}},
		}

		actions := map[string]func(*rapid.T){
			"AllocatePot":    m.allocatePot,
			"DeallocatePot":  m.deallocatePot,
			"RecordExpense":  m.recordExpense,
			"ReverseExpense": m.reverseExpense,
			"":               m.check,
		}
		// Two rounds of Repeat (~30 steps each by default): the budget's life, then the same
		// with Close, so that most runs build up pots and expenses before they close (a short
		// period is easily closed) and then try every command on the closed budget.
		t.Repeat(actions)
		actions["Close"] = m.close
		t.Repeat(actions)
	})

	t.Logf("outcomes: %v", stats)
	if t.Failed() || testing.Short() || smBudgetFlag("rapid.checks") < 100 || smBudgetFlag("rapid.steps") < 30 {
		return // too few steps to count on the rarer outcomes
	}
	// Every outcome of every command must be reached: zero means the generator no longer
	// explores it.
	for _, outcome := range []string{
		"AllocatePot: ok", "AllocatePot: budget_closed", "AllocatePot: invalid_input",
		"AllocatePot: currency_mismatch", "AllocatePot: negative_allocation", "AllocatePot: duplicate_pot",
		"DeallocatePot: ok", "DeallocatePot: budget_closed", "DeallocatePot: unknown_pot", "DeallocatePot: pot_has_expenses",
		"RecordExpense: ok", "RecordExpense: budget_closed", "RecordExpense: invalid_input", "RecordExpense: unknown_pot",
		"RecordExpense: currency_mismatch", "RecordExpense: non_positive_expense", "RecordExpense: outside_period",
		"RecordExpense: duplicate_expense",
		"ReverseExpense: ok", "ReverseExpense: budget_closed", "ReverseExpense: unknown_expense", "ReverseExpense: already_reversed",
		"Close: ok", "Close: budget_closed", "Close: invalid_input", "Close: too_early_to_close",
	} {
		if stats[outcome] == 0 {
			t.Errorf("no run reached %s", outcome)
		}
	}
}

// smBudgetFlag returns the value of one of rapid's integer flags.
func smBudgetFlag(name string) int {
	f := flag.Lookup(name)
	if f == nil {
		return 0
	}
	n, _ := strconv.Atoi(f.Value.String())
	return n
}

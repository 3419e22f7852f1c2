package budget_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/dddkit/ddd/examples/budget"
	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
)

// Example runs a month of a budget: commands through the unit of work, the events relayed to
// the summarisation projection, and the rules refusing what breaks them.
func Example() {
	ctx := context.Background()
	d := memuow.New(nil)
	clock := memuow.NewClock(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
	store := uow.NewStore(d, &uow.Options{Clock: clock})
	exec, err := uow.NewExecutor(store, &uow.ExecutorOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	var bus outbox.Bus
	summarise, err := budget.Summarise(store)
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := bus.Subscribe("Budget", budget.SummaryConsumer, summarise); err != nil {
		fmt.Println(err)
		return
	}
	relay := outbox.NewRelay(d, &bus, &outbox.RelayOptions{Clock: clock, Logger: slog.New(slog.DiscardHandler)})

	date := func(s string) budget.Date { d, _ := budget.ParseDate(s); return d }
	eur := func(s string) money.Money { return money.MustParse(s + " EUR") }
	id := budget.BudgetID("march")
	run := func(cmd uow.Command) {
		if err := exec.Execute(ctx, cmd); err != nil {
			fmt.Println("refused:", err)
		}
	}
	run(budget.OpenBudget{Budget: id, Currency: "EUR", Start: date("2026-03-01"), End: date("2026-03-31")})
	run(budget.AllocatePot{Budget: id, Pot: "groceries", Allocation: eur("300")})
	run(budget.AllocatePot{Budget: id, Pot: "books", Allocation: eur("40")})
	run(budget.RecordExpense{Budget: id, Pot: "groceries", Expense: "x1", Amount: eur("82.40"), Date: date("2026-03-02")})
	run(budget.RecordExpense{Budget: id, Pot: "books", Expense: "x2", Amount: eur("55"), Date: date("2026-03-05")})
	run(budget.RecordExpense{Budget: id, Pot: "books", Expense: "x3", Amount: eur("9"), Date: date("2026-04-02")})
	run(budget.DeallocatePot{Budget: id, Pot: "books"})
	run(budget.CloseBudget{Budget: id})
	clock.Set(time.Date(2026, 3, 30, 20, 0, 0, 0, time.UTC))
	run(budget.CloseBudget{Budget: id})

	for {
		if n, err := relay.Step(ctx); err != nil || n == 0 {
			break
		}
	}
	s, err := budget.SummaryOf(ctx, store, id)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range s.Pots {
		fmt.Printf("%s: allocated %s, spent %s\n", p.Name, p.Allocated, p.Spent)
	}
	fmt.Println("closed:", s.Closed, "saved:", s.Saved)
	// Output:
	// refused: the expense's date is outside the budget's period: 2026-04-02 is not within 2026-03-01 to 2026-03-31
	// refused: a pot with active expenses cannot be deallocated: "books" has 1
	// refused: a budget closes from the day before its end: it ends 2026-03-31, today is 2026-03-01
	// groceries: allocated 300.00 EUR, spent 82.40 EUR
	// books: allocated 40.00 EUR, spent 55.00 EUR
	// closed: true saved: 202.60 EUR
}

package budget_test

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/examples/budget"
	"github.com/dddkit/ddd/internal/testenv"
	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/memuow"
	"github.com/dddkit/ddd/uow/mysqluow"
	"github.com/dddkit/ddd/uow/pguow"
	"github.com/dddkit/ddd/uow/sqliteuow"
)

// drivers open a fresh, migrated driver of each kind, dropped when the test ends.
var drivers = map[string]func(t *testing.T) driver.Driver{
	"memuow": func(*testing.T) driver.Driver { return memuow.New(nil) },
	"sqlite": func(t *testing.T) driver.Driver {
		d, err := sqliteuow.Open(t.Context(), filepath.Join(t.TempDir(), "budget.db"), nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = d.Close() })
		require.NoError(t, d.Migrate(t.Context()))
		return d
	},
	"postgres": func(t *testing.T) driver.Driver {
		schema := testenv.Name("t_")
		d, err := pguow.Open(t.Context(), testenv.Postgres(t), &pguow.Options{Schema: schema})
		require.NoError(t, err)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := d.Pool().Exec(ctx, `DROP SCHEMA IF EXISTS "`+schema+`" CASCADE`)
			d.Close()
			require.NoError(t, err)
		})
		require.NoError(t, d.Migrate(t.Context()))
		return d
	},
	"mariadb": func(t *testing.T) driver.Driver {
		base := testenv.MySQL(t)
		admin, err := sql.Open("mysql", base)
		require.NoError(t, err)
		name := testenv.Name("t_")
		_, err = admin.ExecContext(t.Context(), "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4")
		require.NoError(t, err)
		cfg, err := mysql.ParseDSN(base)
		require.NoError(t, err)
		cfg.DBName = name
		d, err := mysqluow.Open(t.Context(), cfg.FormatDSN(), nil)
		require.NoError(t, err)
		t.Cleanup(func() {
			_ = d.Close()
			_, err := admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS `"+name+"`")
			_ = admin.Close()
			require.NoError(t, err)
		})
		require.NoError(t, d.Migrate(t.Context()))
		return d
	},
}

func day(t testing.TB, s string) budget.Date {
	t.Helper()
	d, err := budget.ParseDate(s)
	require.NoError(t, err)
	return d
}

func usd(s string) money.Money { return money.MustParse(s + " USD") }

// TestFlowOnEveryDriver runs a month of a budget through the application layer on every driver,
// publishes its events through the outbox to the summarisation projection, and checks the budget
// and its summary; a redelivered event changes nothing.
func TestFlowOnEveryDriver(t *testing.T) {
	for name, open := range drivers {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			d := open(t)
			clock := memuow.NewClock(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
			store := uow.NewStore(d, &uow.Options{Clock: clock})
			exec, err := uow.NewExecutor(store, &uow.ExecutorOptions{Logger: slog.New(slog.DiscardHandler)})
			require.NoError(t, err)

			var bus outbox.Bus
			project, err := budget.Summarise(store)
			require.NoError(t, err)
			var delivered []uow.Message
			_, err = bus.Subscribe("Budget", budget.SummaryConsumer, func(ctx context.Context, m uow.Message) error {
				delivered = append(delivered, m)
				return project(ctx, m)
			})
			require.NoError(t, err)
			relay := outbox.NewRelay(d, &bus, &outbox.RelayOptions{Clock: clock, Logger: slog.New(slog.DiscardHandler)})

			id := budget.BudgetID("2026-01")
			for _, cmd := range []uow.Command{
				budget.OpenBudget{Budget: id, Currency: "USD", Start: day(t, "2026-01-01"), End: day(t, "2026-01-31")},
				budget.AllocatePot{Budget: id, Pot: "food", Allocation: usd("400.00")},
				budget.AllocatePot{Budget: id, Pot: "fun", Allocation: usd("100.00")},
				budget.AllocatePot{Budget: id, Pot: "spare", Allocation: usd("50.00")},
				budget.RecordExpense{Budget: id, Pot: "food", Expense: "e1", Amount: usd("120.50"), Date: day(t, "2026-01-03"), Description: "groceries"},
				budget.RecordExpense{Budget: id, Pot: "fun", Expense: "e2", Amount: usd("130.00"), Date: day(t, "2026-01-10"), Description: "concert"},
				budget.RecordExpense{Budget: id, Pot: "food", Expense: "e3", Amount: usd("20.00"), Date: day(t, "2026-01-12")},
				budget.ReverseExpense{Budget: id, Expense: "e3"},
				budget.DeallocatePot{Budget: id, Pot: "spare"},
			} {
				require.NoError(t, exec.Execute(ctx, cmd), "%T", cmd)
			}

			// Rules hold through the application layer, and a rejected command commits nothing.
			err = exec.Execute(ctx, budget.CloseBudget{Budget: id})
			require.ErrorIs(t, err, budget.ErrTooEarlyToClose)
			err = exec.Execute(ctx, budget.RecordExpense{Budget: id, Pot: "food", Expense: "e1", Amount: usd("1.00"), Date: day(t, "2026-01-04")})
			require.ErrorIs(t, err, budget.ErrDuplicateExpense)
			require.ErrorIs(t, exec.Execute(ctx, budget.DeallocatePot{Budget: "nope", Pot: "food"}), budget.ErrUnknownBudget)

			clock.Set(time.Date(2026, 1, 30, 18, 0, 0, 0, time.UTC))
			require.NoError(t, exec.Execute(ctx, budget.CloseBudget{Budget: id}))
			err = exec.Execute(ctx, budget.AllocatePot{Budget: id, Pot: "late", Allocation: usd("1.00")})
			require.ErrorIs(t, err, budget.ErrClosed)

			for {
				n, err := relay.Step(ctx)
				require.NoError(t, err)
				if n == 0 {
					break
				}
			}
			require.Len(t, delivered, 10, "one event per accepted command")

			var b *budget.Budget
			require.NoError(t, uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
				b, err = uow.Repo[budget.Budget, budget.BudgetID](u).Get(ctx, id)
				return err
			}, nil))
			assert.True(t, b.Closed())
			fun, ok := b.Pot("fun")
			require.True(t, ok)
			assert.True(t, fun.Overspent())
			assert.Equal(t, "-30.00 USD", fun.Remaining.String())
			_, ok = b.Pot("spare")
			assert.False(t, ok)

			s, err := budget.SummaryOf(ctx, store, id)
			require.NoError(t, err)
			assert.True(t, s.Closed)
			assert.Equal(t, "500.00 USD", s.Allocated.String())
			assert.Equal(t, "250.50 USD", s.Spent.String())
			assert.Equal(t, "249.50 USD", s.Saved.String())
			assert.Equal(t, 2, s.Expenses)
			require.Len(t, s.Pots, 2)
			assert.Equal(t, "food", s.Pots[0].Name)
			assert.Equal(t, "120.50 USD", s.Pots[0].Spent.String())

			// A redelivery of every event has no second effect.
			version := s.Version()
			for _, m := range delivered {
				require.NoError(t, project(ctx, m))
			}
			again, err := budget.SummaryOf(ctx, store, id)
			require.NoError(t, err)
			assert.Equal(t, version, again.Version())
			assert.Equal(t, s.Spent.String(), again.Spent.String())
		})
	}
}

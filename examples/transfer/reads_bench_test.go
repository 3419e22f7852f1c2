package transfer_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/examples/transfer"
	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/mysqluow"
	"github.com/dddkit/ddd/uow/pguow"
	"github.com/dddkit/ddd/uow/sqliteuow"
)

// BenchmarkReads measures the read side's books as the history grows, on each SQL store: 1,000
// accounts, then 1,000 and 100,000 transfers among them. The histories are written straight into
// the tables (with the accounts' balances and lifetime sums to match), so that a run takes
// minutes, not hours.
//
//   - ledger-query is the query Totals and Reconcile ran before the accounts kept their lifetime
//     sums: per account, the deposits, credits and debits summed from the movement tables, then
//     totalled in Go as Totals did; its cost grows with the transfers.
//
//   - totals and reconcile are Finder.Totals and Finder.Reconcile: the account rows alone.
//
//   - audit is Finder.Audit, which still sums every movement (overflow-safe), on purpose.
//
//     go test ./examples/transfer -run '^$' -bench BenchmarkReads -benchtime 20x
func BenchmarkReads(b *testing.B) {
	for _, name := range []string{"sqlite", "mariadb", "postgres"} {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			d, _ := openDriver(b, name)
			bank, err := transfer.New(uow.NewStore(d, nil), nil)
			require.NoError(b, err)
			f := bank.Finder()
			h := newHistory(b, d, 1000)
			for _, n := range []int{1_000, 100_000} {
				h.grow(b, n)
				audit, err := f.Audit(ctx)
				require.NoError(b, err)
				require.True(b, audit.Clean(), "the history is consistent")
				b.Run(fmt.Sprintf("transfers=%d", n), func(b *testing.B) {
					b.Run("ledger-query", func(b *testing.B) {
						for b.Loop() {
							lines := oldLedger(b, d)
							total := int64(0)
							for _, l := range lines {
								total += l[0]
							}
							require.Equal(b, h.total, total)
						}
					})
					b.Run("totals", func(b *testing.B) {
						for b.Loop() {
							ts, err := f.Totals(ctx)
							require.NoError(b, err)
							require.Len(b, ts, 1)
						}
					})
					b.Run("reconcile", func(b *testing.B) {
						for b.Loop() {
							r, err := f.Reconcile(ctx)
							require.NoError(b, err)
							require.True(b, r.Balanced())
						}
					})
					b.Run("audit", func(b *testing.B) {
						for b.Loop() {
							a, err := f.Audit(ctx)
							require.NoError(b, err)
							require.True(b, a.Clean())
						}
					})
				})
			}
		})
	}
}

// BenchmarkTransfersWhileReading measures transfers on SQLite (one writer, the optimistic
// strategy) with 100,000 transfers of history while 4 readers poll the books, each pausing 50ms
// between reads: with the ledger query Totals ran before, with Finder.Totals, and with no
// readers. One op is one transfer.
//
//	go test ./examples/transfer -run '^$' -bench BenchmarkTransfersWhileReading -benchtime 300x
func BenchmarkTransfersWhileReading(b *testing.B) {
	ctx := context.Background()
	d, _ := openDriver(b, "sqlite")
	bank, err := transfer.New(uow.NewStore(d, nil), nil)
	require.NoError(b, err)
	h := newHistory(b, d, 1000)
	h.grow(b, 100_000)
	reads := map[string]func(){
		"none":         nil,
		"ledger-query": func() { oldLedger(b, d) },
		"totals": func() {
			_, err := bank.Finder().Totals(ctx)
			require.NoError(b, err)
		},
	}
	next := 0
	for _, readers := range []string{"none", "ledger-query", "totals"} {
		b.Run("readers="+readers, func(b *testing.B) {
			done := make(chan struct{})
			var wg sync.WaitGroup
			if read := reads[readers]; read != nil {
				for range 4 {
					wg.Go(func() {
						for {
							read()
							select {
							case <-done:
								return
							case <-time.After(50 * time.Millisecond):
							}
						}
					})
				}
			}
			r := rand.New(rand.NewPCG(3, 4))
			for b.Loop() {
				from := r.IntN(len(h.accounts))
				to := (from + 1 + r.IntN(len(h.accounts)-1)) % len(h.accounts)
				next++
				_, err := bank.Transfer(ctx, transfer.Request{Number: transfer.TransferNumber("while-" + strconv.Itoa(next)),
					From: h.accounts[from], To: h.accounts[to], Amount: usdUnits(b, 1+r.Int64N(1000))}, transfer.Optimistic)
				require.NoError(b, err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transfers/s")
			close(done)
			wg.Wait()
		})
	}
}

// history is a bank's history written straight into its tables.
type history struct {
	d        driver.Driver
	rand     *rand.Rand
	accounts []transfer.AccountNumber
	// per account, in cents: balance, deposited, credited, debited
	books     [][4]int64
	transfers int
	total     int64
}

// newHistory opens accounts of 1,000,000.00 USD each, deposited.
func newHistory(t testing.TB, d driver.Driver, accounts int) *history {
	h := &history{d: d, rand: rand.New(rand.NewPCG(1, 2))}
	const start = 100_000_000
	var rows, deps []string
	var args, depArgs []any
	for i := range accounts {
		n := acct(i + 1)
		h.accounts = append(h.accounts, n)
		h.books = append(h.books, [4]int64{start, start, 0, 0})
		h.total += start
		rows = append(rows, "(?, 'USD', ?, ?, '0', '0', 0, 1)")
		args = append(args, n, int64(start), strconv.Itoa(start))
		deps = append(deps, "(?, ?, ?, 'USD', 0, ?)")
		depArgs = append(depArgs, fmt.Sprintf("open-%s", n), n, int64(start), int64(start))
	}
	rawExec(t, d, "INSERT INTO {account} (number, currency, balance, deposited, credited, debited, opened_at, version) VALUES "+
		strings.Join(rows, ", "), args...)
	rawExec(t, d, "INSERT INTO {deposit} (id, account, amount, currency, made_at, balance) VALUES "+strings.Join(deps, ", "), depArgs...)
	return h
}

// grow adds transfers of 0.01 to 10.00 USD between random accounts until there are n, then
// writes the accounts' balances and lifetime sums.
func (h *history) grow(t testing.TB, n int) {
	t.Helper()
	const batch = 500
	for h.transfers < n {
		var rows []string
		var args []any
		for range min(batch, n-h.transfers) {
			from := h.rand.IntN(len(h.accounts))
			to := (from + 1 + h.rand.IntN(len(h.accounts)-1)) % len(h.accounts)
			amount := 1 + h.rand.Int64N(1000)
			h.books[from][0] -= amount
			h.books[from][3] += amount
			h.books[to][0] += amount
			h.books[to][2] += amount
			number := transfer.TransferNumber("bench-" + strconv.Itoa(h.transfers))
			h.transfers++
			rows = append(rows, "(?, ?, ?, ?, ?, 'USD', ?, ?, ?)")
			args = append(args, transfer.TransferIDOf(number), number, h.accounts[from], h.accounts[to],
				amount, int64(h.transfers), h.books[from][0], h.books[to][0])
		}
		rawExec(t, h.d, "INSERT INTO {transfer} (id, number, debited, credited, amount, currency, created_at, debit_balance, credit_balance)"+
			" VALUES "+strings.Join(rows, ", "), args...)
	}
	for i, n := range h.accounts {
		k := h.books[i]
		rawExec(t, h.d, "UPDATE {account} SET balance = ?, deposited = ?, credited = ?, debited = ? WHERE number = ?",
			k[0], strconv.FormatInt(k[1], 10), strconv.FormatInt(k[2], 10), strconv.FormatInt(k[3], 10), n)
	}
}

// oldLedger runs the ledger query of the example before the accounts kept their lifetime sums,
// as it was, and returns each account's balance, deposits, credits and debits in cents.
func oldLedger(t testing.TB, d driver.Driver) [][4]int64 {
	t.Helper()
	schema := ""
	if p, ok := d.(*pguow.Driver); ok {
		schema = p.Schema()
	}
	q := tableNames("SELECT a.number, a.currency, a.balance,"+
		" COALESCE((SELECT SUM(d.amount) FROM {deposit} d WHERE d.account = a.number), 0),"+
		" COALESCE((SELECT SUM(c.amount) FROM {transfer} c WHERE c.credited = a.number), 0),"+
		" COALESCE((SELECT SUM(b.amount) FROM {transfer} b WHERE b.debited = a.number), 0)"+
		" FROM {account} a ORDER BY a.number", schema)
	var out [][4]int64
	row := func(scan func(...any) error) {
		var number, currency string
		var l [4]int64
		require.NoError(t, scan(&number, &currency, &l[0], &l[1], &l[2], &l[3]))
		// What the old Totals did with each line: money, then a sum per currency.
		for _, units := range l {
			_, err := money.FromMinorUnits(units, money.MustLookup(strings.TrimSpace(currency)))
			require.NoError(t, err)
		}
		out = append(out, l)
	}
	ctx := context.Background()
	switch d := d.(type) {
	case *pguow.Driver:
		rows, err := d.Pool().Query(ctx, q)
		require.NoError(t, err)
		for rows.Next() {
			row(rows.Scan)
		}
		require.NoError(t, rows.Err())
	case *sqliteuow.Driver:
		sqlRows(t, d.DB(), q, row)
	case *mysqluow.Driver:
		sqlRows(t, d.DB(), q, row)
	}
	return out
}

func sqlRows(t testing.TB, db *sql.DB, q string, row func(func(...any) error)) {
	rows, err := db.QueryContext(context.Background(), q)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		row(rows.Scan)
	}
	require.NoError(t, rows.Err())
}

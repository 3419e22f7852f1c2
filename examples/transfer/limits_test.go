package transfer_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/examples/transfer"
	"github.com/dddkit/ddd/examples/transfer/internal/teststore"
	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/mysqluow"
	"github.com/dddkit/ddd/uow/pguow"
	"github.com/dddkit/ddd/uow/sqliteuow"
)

// usdUnits returns units cents.
func usdUnits(t testing.TB, units int64) money.Money {
	t.Helper()
	m, err := money.FromMinorUnits(units, usd)
	require.NoError(t, err)
	return m
}

// TestEventualStorageGuard applies the eventual strategy's changes straight to storage, past
// Plan's check (which, under concurrency, reads a stale balance): a credit or a debit that would
// take a balance beyond 2^63-1 cents either side of zero is refused with ErrInvalidInput by the
// database's guarded update, and nothing is changed; on every store.
func TestEventualStorageGuard(t *testing.T) {
	ctx := context.Background()
	for _, name := range driverNames {
		t.Run(name, func(t *testing.T) {
			b, _ := newBank(t, name, &transfer.Options{Strategy: transfer.Eventual})
			for i := 1; i <= 4; i++ {
				require.NoError(t, b.OpenAccount(ctx, acct(i), usd))
			}
			max := usdUnits(t, math.MaxInt64)
			_, err := b.Deposit(ctx, transfer.DepositRequest{ID: "d-1", Account: acct(1), Amount: usdUnits(t, 1)})
			require.NoError(t, err)
			_, err = b.Deposit(ctx, transfer.DepositRequest{ID: "d-2", Account: acct(2), Amount: max})
			require.NoError(t, err)

			// A credit past the top.
			_, err = transfer.Apply(ctx, b, []transfer.Change{{Account: acct(1), Delta: usdUnits(t, -1)}, {Account: acct(2), Delta: usdUnits(t, 1)}})
			require.ErrorIs(t, err, transfer.ErrInvalidInput)
			assert.Contains(t, err.Error(), acctText(2))
			assertBalances(t, b, map[transfer.AccountNumber]string{acct(1): "0.01 USD", acct(2): "92233720368547758.07 USD",
				acct(3): "0.00 USD", acct(4): "0.00 USD"})

			// Debits past the bottom: the first takes account 1 to 0.01 - max, the second would go
			// below -2^63.
			_, err = transfer.Apply(ctx, b, []transfer.Change{{Account: acct(1), Delta: max.Neg()}, {Account: acct(3), Delta: max}})
			require.NoError(t, err)
			_, err = transfer.Apply(ctx, b, []transfer.Change{{Account: acct(1), Delta: max.Neg()}, {Account: acct(4), Delta: max}})
			require.ErrorIs(t, err, transfer.ErrInvalidInput)
			assert.Contains(t, err.Error(), acctText(1))
			assertBalances(t, b, map[transfer.AccountNumber]string{acct(1): "-92233720368547758.06 USD",
				acct(2): "92233720368547758.07 USD", acct(3): "92233720368547758.07 USD", acct(4): "0.00 USD"})

			// An unknown account is still told apart.
			_, err = transfer.Apply(ctx, b, []transfer.Change{{Account: acct(3), Delta: usdUnits(t, -1)}, {Account: acct(9), Delta: usdUnits(t, 1)}})
			require.ErrorIs(t, err, transfer.ErrUnknownAccount)

			// The accounts kept their sums with their balances (the changes applied alone post no
			// transfer, so there is nothing for an audit to find).
			rec, err := b.Finder().Reconcile(ctx)
			require.NoError(t, err)
			assert.True(t, rec.Balanced(), "%+v", rec)
		})
	}
}

// TestAuditFindsWhatReconcileTrusts loses a credit behind the bank's back on the SQL stores,
// leaving the account row consistent with itself: Reconcile's per-currency checks find it, and
// the audit names the account.
func TestAuditFindsWhatReconcileTrusts(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"sqlite", "postgres", "mariadb"} {
		t.Run(name, func(t *testing.T) {
			b, d := newBank(t, name, nil)
			require.NoError(t, b.OpenAccount(ctx, acct(1), usd))
			require.NoError(t, b.OpenAccount(ctx, acct(2), usd))
			_, err := b.Deposit(ctx, transfer.DepositRequest{ID: "d", Account: acct(1), Amount: usdOf(t, "10.00")})
			require.NoError(t, err)
			_, err = b.Transfer(ctx, transfer.Request{Number: "t", From: acct(1), To: acct(2), Amount: usdOf(t, "4.00")}, transfer.Default)
			require.NoError(t, err)

			// The credit lost: account 2 back to before it, consistent with itself.
			rawExec(t, d, "UPDATE {account} SET balance = 0, credited = '0' WHERE number = ?", acct(2))
			rec, err := b.Finder().Reconcile(ctx)
			require.NoError(t, err)
			assert.Empty(t, rec.Mismatches, "each row is consistent with itself")
			assert.False(t, rec.Balanced(), "but the books no longer balance: %+v", rec.Totals)
			require.Len(t, rec.Totals, 1)
			assert.Equal(t, []string{"0.00 USD", "4.00 USD"}, []string{rec.Totals[0].Credited.String(), rec.Totals[0].Debited.String()})
			audit, err := b.Finder().Audit(ctx)
			require.NoError(t, err)
			require.Len(t, audit.Mismatches, 1)
			assert.Equal(t, acct(2), audit.Mismatches[0].Kept.Account)
			assert.Equal(t, "4.00 USD", audit.Mismatches[0].Moved.Credited.String())
		})
	}
}

// rawExec runs a statement on the store's own connection, behind the bank's back; {account},
// {transfer} and {deposit} name the bank's tables, ? are the placeholders.
func rawExec(t testing.TB, d driver.Driver, q string, args ...any) {
	t.Helper()
	ctx := context.Background()
	var err error
	switch d := d.(type) {
	case *sqliteuow.Driver:
		_, err = d.DB().ExecContext(ctx, tableNames(q, ""), args...)
	case *mysqluow.Driver:
		_, err = d.DB().ExecContext(ctx, tableNames(q, ""), args...)
	case *pguow.Driver:
		var b strings.Builder
		n := 0
		for _, r := range tableNames(q, d.Schema()) {
			if r == '?' {
				n++
				fmt.Fprintf(&b, "$%d", n)
				continue
			}
			b.WriteRune(r)
		}
		q = b.String()
		_, err = d.Pool().Exec(ctx, q, args...)
	default:
		t.Fatalf("no SQL on %T", d)
	}
	require.NoError(t, err, "%.500s", q)
}

func tableNames(q, schema string) string {
	for _, table := range []string{"account", "transfer", "deposit"} {
		name := table
		if schema != "" {
			name = `"` + schema + `".` + table
		}
		q = strings.ReplaceAll(q, "{"+table+"}", name)
	}
	return q
}

// oldTables are the bank's tables as the example made them before accounts kept their lifetime
// sums.
func oldTables(name string) []string {
	if name == "mariadb" {
		opts := " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
		return []string{
			`CREATE TABLE IF NOT EXISTS account (number CHAR(12) NOT NULL PRIMARY KEY, currency CHAR(3) NOT NULL,
				balance BIGINT NOT NULL, opened_at BIGINT NOT NULL, version BIGINT NOT NULL)` + opts,
			`CREATE TABLE IF NOT EXISTS transfer (id CHAR(36) NOT NULL PRIMARY KEY, number VARCHAR(64) NOT NULL UNIQUE,
				debited CHAR(12) NOT NULL, credited CHAR(12) NOT NULL, amount BIGINT NOT NULL, currency CHAR(3) NOT NULL,
				created_at BIGINT NOT NULL, debit_balance BIGINT NOT NULL, credit_balance BIGINT NOT NULL,
				KEY transfer_debited (debited), KEY transfer_credited (credited), KEY transfer_amount (currency, amount),
				FOREIGN KEY (debited) REFERENCES account (number), FOREIGN KEY (credited) REFERENCES account (number))` + opts,
			`CREATE TABLE IF NOT EXISTS deposit (id VARCHAR(64) NOT NULL PRIMARY KEY, account CHAR(12) NOT NULL,
				amount BIGINT NOT NULL, currency CHAR(3) NOT NULL, made_at BIGINT NOT NULL, balance BIGINT NOT NULL,
				KEY deposit_account (account), FOREIGN KEY (account) REFERENCES account (number))` + opts,
		}
	}
	return []string{
		`CREATE TABLE IF NOT EXISTS {account} (number CHAR(12) NOT NULL PRIMARY KEY, currency CHAR(3) NOT NULL,
			balance BIGINT NOT NULL, opened_at BIGINT NOT NULL, version BIGINT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS {transfer} (id CHAR(36) NOT NULL PRIMARY KEY, number VARCHAR(64) NOT NULL UNIQUE,
			debited CHAR(12) NOT NULL REFERENCES {account} (number),
			credited CHAR(12) NOT NULL REFERENCES {account} (number),
			amount BIGINT NOT NULL, currency CHAR(3) NOT NULL, created_at BIGINT NOT NULL,
			debit_balance BIGINT NOT NULL, credit_balance BIGINT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS transfer_debited ON {transfer} (debited)`,
		`CREATE INDEX IF NOT EXISTS transfer_credited ON {transfer} (credited)`,
		`CREATE INDEX IF NOT EXISTS transfer_amount ON {transfer} (currency, amount)`,
		`CREATE TABLE IF NOT EXISTS {deposit} (id VARCHAR(64) NOT NULL PRIMARY KEY,
			account CHAR(12) NOT NULL REFERENCES {account} (number),
			amount BIGINT NOT NULL, currency CHAR(3) NOT NULL, made_at BIGINT NOT NULL, balance BIGINT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS deposit_account ON {deposit} (account)`,
	}
}

// oldBank fills the old tables with a history whose lifetime sums pass 2^63-1 cents: account 1
// took a deposit of the largest balance and moved it to account 2 and back, then to 2 again;
// account 3 took 10.00 and paid 2.50 to account 1.
func oldBank(t *testing.T, d driver.Driver) {
	t.Helper()
	const max = math.MaxInt64
	for i, balance := range []int64{250, max, 750} {
		rawExec(t, d, "INSERT INTO {account} (number, currency, balance, opened_at, version) VALUES (?, 'USD', ?, 0, 5)",
			acct(i+1), balance)
	}
	rawExec(t, d, "INSERT INTO {deposit} (id, account, amount, currency, made_at, balance) VALUES ('d-1', ?, ?, 'USD', 1, ?)",
		acct(1), int64(max), int64(max))
	rawExec(t, d, "INSERT INTO {deposit} (id, account, amount, currency, made_at, balance) VALUES ('d-3', ?, 1000, 'USD', 2, 1000)",
		acct(3))
	for i, tr := range []struct {
		from, to      int
		amount        int64
		debit, credit int64
	}{{1, 2, max, 0, max}, {2, 1, max, 0, max}, {1, 2, max, 0, max}, {3, 1, 250, 750, 250}} {
		number := fmt.Sprintf("t-%d", i+1)
		rawExec(t, d, "INSERT INTO {transfer} (id, number, debited, credited, amount, currency, created_at, debit_balance, credit_balance)"+
			" VALUES (?, ?, ?, ?, ?, 'USD', ?, ?, ?)", transfer.TransferIDOf(transfer.TransferNumber(number)), number,
			acct(tr.from), acct(tr.to), tr.amount, int64(10+i), tr.debit, tr.credit)
	}
}

// TestMigrateAddsLifetimeSums migrates a database made by the example before accounts kept
// their lifetime sums, with a history whose sums pass 2^63-1 cents: Migrate adds and fills
// them, idempotently, also when two processes migrate at once; the books then read and
// reconcile from the accounts alone, and the bank goes on keeping the sums.
func TestMigrateAddsLifetimeSums(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"sqlite", "postgres", "mariadb"} {
		t.Run(name, func(t *testing.T) {
			d, _ := teststore.Open(t, name)
			for _, q := range oldTables(name) {
				rawExec(t, d, q)
			}
			oldBank(t, d)
			if name == "mariadb" { // a migration interrupted after its first step: nullable columns, empty
				rawExec(t, d, "ALTER TABLE account ADD COLUMN deposited DECIMAL(65,0) NULL, ADD COLUMN credited DECIMAL(65,0) NULL")
			}
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i := range errs {
				wg.Go(func() { errs[i] = transfer.Migrate(ctx, d) })
			}
			wg.Wait()
			require.NoError(t, errs[0])
			require.NoError(t, errs[1])
			require.NoError(t, transfer.Migrate(ctx, d), "idempotent")

			b, err := transfer.New(uow.NewStore(d, nil), nil)
			require.NoError(t, err)
			const max, twice = "92233720368547758.07", "184467440737095516.14"
			want := []string{
				acctText(1) + " 2.50 USD: deposited " + max + " USD, credited " + "92233720368547760.57 USD, debited " + twice + " USD",
				acctText(2) + " " + max + " USD: deposited 0.00 USD, credited " + twice + " USD, debited " + max + " USD",
				acctText(3) + " 7.50 USD: deposited 10.00 USD, credited 0.00 USD, debited 2.50 USD",
			}
			ledger, err := b.Finder().Ledger(ctx)
			require.NoError(t, err)
			assert.Equal(t, want, ledgerText(ledger))
			audit, err := b.Finder().Audit(ctx)
			require.NoError(t, err)
			assert.True(t, audit.Clean(), "%+v", audit)
			assert.Equal(t, want, ledgerText(audit.Ledger))
			rec, err := b.Finder().Reconcile(ctx)
			require.NoError(t, err)
			assert.True(t, rec.Balanced(), "%+v", rec)

			// The bank goes on, with every strategy.
			for i, s := range transfer.Strategies() {
				_, err := b.Transfer(ctx, transfer.Request{Number: transfer.TransferNumber(fmt.Sprintf("new-%d", i)),
					From: acct(3), To: acct(1), Amount: usdOf(t, "1.00")}, s)
				require.NoError(t, err, "%s", s)
			}
			ledger, err = b.Finder().Ledger(ctx)
			require.NoError(t, err)
			assert.Equal(t, acctText(3)+" 3.50 USD: deposited 10.00 USD, credited 0.00 USD, debited 6.50 USD", ledgerText(ledger)[2])
			audit, err = b.Finder().Audit(ctx)
			require.NoError(t, err)
			assert.True(t, audit.Clean(), "%+v", audit)
		})
	}
}

func ledgerText(lines []transfer.LedgerLine) []string {
	var out []string
	for _, l := range lines {
		out = append(out, fmt.Sprintf("%s %s: deposited %s, credited %s, debited %s", l.Account, l.Balance, l.Deposited, l.Credited, l.Debited))
	}
	return out
}

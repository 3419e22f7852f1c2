package transfer_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/examples/transfer"
	"github.com/dddkit/ddd/money"
)

// TestRulesAlwaysOn checks every rule of the bank, with every strategy on every driver: a
// refused command is a business error and changes nothing.
func TestRulesAlwaysOn(t *testing.T) {
	eur := money.MustLookup("EUR")
	for _, name := range driverNames {
		for _, s := range transfer.Strategies() {
			t.Run(name+"/"+s.String(), func(t *testing.T) {
				ctx := context.Background()
				b, _ := newBank(t, name, &transfer.Options{Strategy: s})
				alice, bob, carol := acct(1), acct(2), acct(3)
				require.NoError(t, b.OpenAccount(ctx, alice, usd))
				require.NoError(t, b.OpenAccount(ctx, bob, usd))
				require.NoError(t, b.OpenAccount(ctx, carol, eur))
				_, err := b.Deposit(ctx, transfer.DepositRequest{ID: "d-1", Account: alice, Amount: usdOf(t, "50.00")})
				require.NoError(t, err)
				tenEUR, err := money.FromString("10.00", eur)
				require.NoError(t, err)

				cases := []struct {
					name string
					req  transfer.Request
					want error
				}{
					{"same account", transfer.Request{Number: "r-1", From: alice, To: alice, Amount: usdOf(t, "1.00")}, transfer.ErrSameAccount},
					{"negative amount", transfer.Request{Number: "r-2", From: alice, To: bob, Amount: usdOf(t, "-1.00")}, transfer.ErrInvalidInput},
					{"zero amount", transfer.Request{Number: "r-3", From: alice, To: bob, Amount: usdOf(t, "0.00")}, transfer.ErrInvalidInput},
					{"no amount", transfer.Request{Number: "r-4", From: alice, To: bob}, transfer.ErrInvalidInput},
					{"malformed account", transfer.Request{Number: "r-5", From: "12345", To: bob, Amount: usdOf(t, "1.00")}, transfer.ErrInvalidInput},
					{"malformed number", transfer.Request{Number: "no spaces", From: alice, To: bob, Amount: usdOf(t, "1.00")}, transfer.ErrInvalidInput},
					{"unknown debited", transfer.Request{Number: "r-6", From: acct(9), To: bob, Amount: usdOf(t, "1.00")}, transfer.ErrUnknownAccount},
					{"unknown credited", transfer.Request{Number: "r-7", From: alice, To: acct(9), Amount: usdOf(t, "1.00")}, transfer.ErrUnknownAccount},
					{"currency of the credited account", transfer.Request{Number: "r-8", From: alice, To: carol, Amount: usdOf(t, "1.00")}, transfer.ErrCurrencyMismatch},
					{"currency of both", transfer.Request{Number: "r-9", From: alice, To: bob, Amount: tenEUR}, transfer.ErrCurrencyMismatch},
					{"insufficient funds", transfer.Request{Number: "r-10", From: alice, To: bob, Amount: usdOf(t, "50.01")}, transfer.ErrInsufficientFunds},
					{"empty account", transfer.Request{Number: "r-11", From: bob, To: alice, Amount: usdOf(t, "0.01")}, transfer.ErrInsufficientFunds},
				}
				for _, c := range cases {
					_, err := b.Transfer(ctx, c.req, transfer.Default)
					require.ErrorIs(t, err, c.want, c.name)
					require.ErrorIs(t, err, aggregate.ErrRule, c.name)
				}
				assertBalances(t, b, map[transfer.AccountNumber]string{alice: "50.00 USD", bob: "0.00 USD", carol: "0.00 EUR"})

				// A transfer, then its retry: the first outcome, nothing moved twice.
				req := transfer.Request{Number: "T-100", From: alice, To: bob, Amount: usdOf(t, "20.00")}
				first, err := b.Transfer(ctx, req, transfer.Default)
				require.NoError(t, err)
				assert.False(t, first.Replayed)
				assert.Equal(t, "30.00 USD", first.Debited.Balance.String())
				assert.Equal(t, "20.00 USD", first.Credited.Balance.String())
				again, err := b.Transfer(ctx, req, transfer.Default)
				require.NoError(t, err)
				assert.True(t, again.Replayed)
				assert.Equal(t, first.TransferCompleted.Posted.Transfer, again.Posted.Transfer)
				assert.Equal(t, first.Debited.Balance.String(), again.Debited.Balance.String())
				assert.True(t, first.Posted.At.Equal(again.Posted.At))
				// The same number for another transfer is refused.
				other := req
				other.Amount = usdOf(t, "1.00")
				_, err = b.Transfer(ctx, other, transfer.Default)
				require.ErrorIs(t, err, transfer.ErrDuplicateTransfer)
				assertBalances(t, b, map[transfer.AccountNumber]string{alice: "30.00 USD", bob: "20.00 USD", carol: "0.00 EUR"})

				// Accounts and deposits.
				require.ErrorIs(t, b.OpenAccount(ctx, alice, usd), transfer.ErrAccountExists)
				require.ErrorIs(t, b.OpenAccount(ctx, "0001", usd), transfer.ErrInvalidInput)
				_, err = b.Deposit(ctx, transfer.DepositRequest{ID: "d-2", Account: carol, Amount: usdOf(t, "1.00")})
				require.ErrorIs(t, err, transfer.ErrCurrencyMismatch)
				_, err = b.Deposit(ctx, transfer.DepositRequest{ID: "d-3", Account: acct(9), Amount: usdOf(t, "1.00")})
				require.ErrorIs(t, err, transfer.ErrUnknownAccount)
				_, err = b.Deposit(ctx, transfer.DepositRequest{ID: "d-4", Account: bob, Amount: usdOf(t, "-1.00")})
				require.ErrorIs(t, err, transfer.ErrInvalidInput)
				replay, err := b.Deposit(ctx, transfer.DepositRequest{ID: "d-1", Account: alice, Amount: usdOf(t, "50.00")})
				require.NoError(t, err)
				assert.True(t, replay.Replayed)
				assert.Equal(t, "50.00 USD", replay.Balance.String())
				_, err = b.Deposit(ctx, transfer.DepositRequest{ID: "d-1", Account: bob, Amount: usdOf(t, "50.00")})
				require.ErrorIs(t, err, transfer.ErrDuplicateDeposit)
				assertBalances(t, b, map[transfer.AccountNumber]string{alice: "30.00 USD", bob: "20.00 USD", carol: "0.00 EUR"})

				rec, err := b.Finder().Reconcile(ctx)
				require.NoError(t, err)
				assert.True(t, rec.Balanced(), "%+v", rec)
			})
		}
	}
}

// TestRacingRetriesPostOnce sends one transfer request from many goroutines at once: it is
// posted once and every caller gets its outcome.
func TestRacingRetriesPostOnce(t *testing.T) {
	for _, name := range driverNames {
		for _, s := range transfer.Strategies() {
			t.Run(name+"/"+s.String(), func(t *testing.T) {
				ctx := context.Background()
				b, _ := newBank(t, name, &transfer.Options{Strategy: s})
				require.NoError(t, b.OpenAccount(ctx, acct(1), usd))
				require.NoError(t, b.OpenAccount(ctx, acct(2), usd))
				_, err := b.Deposit(ctx, transfer.DepositRequest{ID: "d", Account: acct(1), Amount: usdOf(t, "10.00")})
				require.NoError(t, err)
				req := transfer.Request{Number: "once", From: acct(1), To: acct(2), Amount: usdOf(t, "7.00")}
				const n = 6
				outs := make([]transfer.Outcome, n)
				errs := make([]error, n)
				start := make(chan struct{})
				done := make(chan int)
				for i := range n {
					go func() {
						<-start
						outs[i], errs[i] = b.Transfer(ctx, req, transfer.Default)
						done <- i
					}()
				}
				close(start)
				for range n {
					<-done
				}
				posted := 0
				for i := range n {
					require.NoError(t, errs[i])
					if !outs[i].Replayed {
						posted++
					}
					assert.Equal(t, "3.00 USD", outs[i].Debited.Balance.String())
				}
				assert.Equal(t, 1, posted)
				assertBalances(t, b, map[transfer.AccountNumber]string{acct(1): "3.00 USD", acct(2): "7.00 USD"})
			})
		}
	}
}

// TestEventualReportsOverdraft shows the eventual strategy's trade-off deterministically: a
// check made on a balance that another transfer drained before the delta landed. Two transfers
// plan on the same read; both deltas apply; the second reports the overdraft.
func TestEventualReportsOverdraft(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"sqlite", "postgres", "mariadb"} {
		t.Run(name, func(t *testing.T) {
			b, _ := newBank(t, name, &transfer.Options{Strategy: transfer.Eventual})
			require.NoError(t, b.OpenAccount(ctx, acct(1), usd))
			require.NoError(t, b.OpenAccount(ctx, acct(2), usd))
			_, err := b.Deposit(ctx, transfer.DepositRequest{ID: "d", Account: acct(1), Amount: usdOf(t, "10.00")})
			require.NoError(t, err)
			overdrawn := false
			for i := range 200 { // concurrent pairs until one overdraws, as it does under load
				errs := make(chan error, 2)
				outs := make(chan transfer.Outcome, 2)
				for j := range 2 {
					go func() {
						o, err := b.Transfer(ctx, transfer.Request{Number: transfer.TransferNumber(fmt.Sprintf("p-%d-%d", i, j)),
							From: acct(1), To: acct(2), Amount: usdOf(t, "6.00")}, transfer.Default)
						outs <- o
						errs <- err
					}()
				}
				for range 2 {
					if err := <-errs; err != nil && !errors.Is(err, transfer.ErrInsufficientFunds) {
						require.NoError(t, err)
					}
					if (<-outs).Overdrawn {
						overdrawn = true
					}
				}
				rec, err := b.Finder().Reconcile(ctx)
				require.NoError(t, err)
				require.True(t, rec.Balanced())
				if overdrawn {
					t.Logf("overdrawn after %d pairs", i+1)
					require.NotEmpty(t, rec.Overdrawn)
					assert.True(t, rec.Overdrawn[0].Balance.IsNegative())
					return
				}
				// Put the money back for the next pair.
				bal, err := b.Finder().Balances(ctx)
				require.NoError(t, err)
				if back := bal[1].Balance; back.IsPositive() {
					_, err := b.Transfer(ctx, transfer.Request{Number: transfer.TransferNumber(fmt.Sprintf("back-%d", i)),
						From: acct(2), To: acct(1), Amount: back}, transfer.Default)
					require.NoError(t, err)
				}
			}
			t.Fatal("no overdraft in 200 racing pairs")
		})
	}
}

// assertBalances checks the balances the Finder reads.
func assertBalances(t *testing.T, b *transfer.Bank, want map[transfer.AccountNumber]string) {
	t.Helper()
	got, err := b.Finder().Balances(context.Background())
	require.NoError(t, err)
	m := map[transfer.AccountNumber]string{}
	for _, g := range got {
		m[g.Account] = g.Balance.String()
	}
	assert.Equal(t, want, m)
}

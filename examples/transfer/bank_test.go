package transfer_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/examples/transfer"
	"github.com/dddkit/ddd/money"
)

var usd = money.MustLookup("USD")

func usdOf(t testing.TB, s string) money.Money {
	t.Helper()
	m, err := money.Parse(s + " USD")
	require.NoError(t, err)
	return m
}

func acct(i int) transfer.AccountNumber { return transfer.AccountNumber(acctText(i)) }

// acctText is the text of acct(i), for the messages that name it.
func acctText(i int) string { return fmt.Sprintf("%012d", i) }

// TestConcurrentTransfersKeepMoney runs many concurrent transfers among few accounts with each
// strategy on each driver: money is conserved, the ledger reconciles, and no balance is negative
// under the strong strategies.
func TestConcurrentTransfersKeepMoney(t *testing.T) {
	for _, name := range driverNames {
		for _, s := range transfer.Strategies() {
			t.Run(name+"/"+s.String(), func(t *testing.T) {
				ctx := context.Background()
				b, _ := newBank(t, name, &transfer.Options{Strategy: s})
				const accounts, workers, each = 5, 8, 25
				for i := range accounts {
					require.NoError(t, b.OpenAccount(ctx, acct(i), usd))
					_, err := b.Deposit(ctx, transfer.DepositRequest{ID: transfer.DepositID(fmt.Sprint("d", i)), Account: acct(i), Amount: usdOf(t, "100.00")})
					require.NoError(t, err)
				}
				var wg sync.WaitGroup
				for w := range workers {
					wg.Go(func() {
						r := rand.New(rand.NewPCG(uint64(w), 1))
						for i := range each {
							from := r.IntN(accounts)
							to := (from + 1 + r.IntN(accounts-1)) % accounts
							_, err := b.Transfer(ctx, transfer.Request{Number: transfer.TransferNumber(fmt.Sprintf("t-%d-%d", w, i)),
								From: acct(from), To: acct(to), Amount: usdOf(t, fmt.Sprintf("%d.%02d", r.IntN(40), r.IntN(100)+1))}, transfer.Default)
							if err != nil {
								assert.ErrorIs(t, err, transfer.ErrInsufficientFunds)
							}
						}
					})
				}
				wg.Wait()
				rec, err := b.Finder().Reconcile(ctx)
				require.NoError(t, err)
				assert.True(t, rec.Balanced(), "%+v", rec)
				assert.Equal(t, accounts, rec.Accounts)
				require.Len(t, rec.Totals, 1)
				assert.Equal(t, "500.00 USD", rec.Totals[0].Balance.String())
				if s != transfer.Eventual {
					assert.Empty(t, rec.Overdrawn)
				}
			})
		}
	}
}

package crowdfunding_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/examples/crowdfunding"
	"github.com/dddkit/ddd/examples/crowdfunding/accounting"
	"github.com/dddkit/ddd/examples/crowdfunding/campaigns"
	"github.com/dddkit/ddd/examples/crowdfunding/dashboard"
	"github.com/dddkit/ddd/examples/crowdfunding/payouts"
	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/uow/memuow"
)

func usd(t testing.TB, s string) money.Money {
	t.Helper()
	m, err := money.FromString(s, money.MustLookup("USD"))
	require.NoError(t, err)
	return m
}

// TestFlows runs a donation, a bounced donation, a paid withdrawal, a declined one and one that
// times out, on memuow with a fake clock.
func TestFlows(t *testing.T) {
	ctx := context.Background()
	clock := memuow.NewClock(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC))
	provider := payouts.NewFakeProvider()
	sys, err := crowdfunding.New(crowdfunding.Memory(), provider, &crowdfunding.Options{Clock: clock,
		Payouts: &payouts.Options{PaymentTimeout: time.Minute, PayWait: 20 * time.Millisecond}})
	require.NoError(t, err)
	for _, a := range []string{"alice", "bob", "carol"} {
		require.NoError(t, accounting.OpenAccount(ctx, sys.Accounting, accounting.AccountID(a), a, money.MustLookup("USD")))
	}
	require.NoError(t, accounting.Deposit(ctx, sys.Accounting, "d1", "alice", usd(t, "100.00")))
	require.NoError(t, campaigns.Create(ctx, sys.Campaigns, "c1", "bob", "Bob's node", usd(t, "500.00")))
	require.NoError(t, campaigns.Donate(ctx, sys.Campaigns, "c1", "k1", "alice", usd(t, "30.00")))
	require.NoError(t, campaigns.Donate(ctx, sys.Campaigns, "c1", "k2", "carol", usd(t, "5.00"))) // carol has nothing
	require.ErrorIs(t, campaigns.Donate(ctx, sys.Campaigns, "c1", "k3", "bob", usd(t, "1.00")), campaigns.ErrOwnCampaign)
	require.NoError(t, sys.Drain(ctx))

	cs, err := campaigns.Campaigns(ctx, sys.Campaigns)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	assert.Equal(t, "30.00 USD", cs[0].Raised.String())
	assert.Equal(t, campaigns.Confirmed, cs[0].Donations["k1"].Status)
	assert.Equal(t, campaigns.Failed, cs[0].Donations["k2"].Status)
	carol, err := dashboard.Get(ctx, sys.Dashboard, "carol")
	require.NoError(t, err)
	assert.Equal(t, "failed", carol.Donations["c1/k2"].Status)
	assert.Contains(t, carol.Donations["c1/k2"].Reason, "insufficient funds")
	bob, err := dashboard.Get(ctx, sys.Dashboard, "bob")
	require.NoError(t, err)
	assert.Equal(t, "30.00 USD", bob.Campaigns["c1"].Raised.String())
	assert.Equal(t, "30.00 USD", bob.Balance.String())

	// Withdrawals: paid, declined (refunded), hanging (cancelled after the timeout, refunded).
	provider.Set("w2", payouts.Declines)
	provider.Set("w3", payouts.Hangs)
	for _, w := range []string{"w1", "w2", "w3"} {
		require.NoError(t, payouts.Request(ctx, sys.Payouts, w, "bob", "lnbc1...", usd(t, "10.00")))
	}
	require.NoError(t, payouts.Request(ctx, sys.Payouts, "w4", "carol", "lnbc1...", usd(t, "10.00"))) // rejected
	for range 20 {
		require.NoError(t, sys.Drain(ctx))
		clock.Advance(2 * time.Second) // relay retries of the hanging payment
	}
	clock.Advance(time.Minute)
	for range 10 {
		require.NoError(t, sys.Drain(ctx))
		clock.Advance(2 * time.Second)
	}
	for id, want := range map[string]string{"w1": "paid", "w2": "refunded", "w3": "refunded", "w4": "rejected"} {
		info, err := sys.Withdrawals.Manager.Get(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, want, string(info.State), id)
	}
	accs, err := accounting.Accounts(ctx, sys.Accounting)
	require.NoError(t, err)
	bal := map[accounting.AccountID]string{}
	for _, a := range accs {
		bal[a.ID()] = a.Balance.String()
	}
	assert.Equal(t, map[accounting.AccountID]string{"alice": "70.00 USD", "bob": "20.00 USD", "carol": "0.00 USD"}, bal)
	assert.Len(t, provider.Paid(), 1)
	bob, err = dashboard.Get(ctx, sys.Dashboard, "bob")
	require.NoError(t, err)
	assert.Equal(t, "20.00 USD", bob.Balance.String())
	assert.Equal(t, "refunded", bob.Withdrawals["w3"].Status)
}

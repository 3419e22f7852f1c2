package crowdfunding_test

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/dddkit/ddd/examples/crowdfunding"
	"github.com/dddkit/ddd/examples/crowdfunding/accounting"
	"github.com/dddkit/ddd/examples/crowdfunding/campaigns"
	"github.com/dddkit/ddd/examples/crowdfunding/dashboard"
	"github.com/dddkit/ddd/examples/crowdfunding/payouts"
	"github.com/dddkit/ddd/money"
)

// The whole system on memuow: alice funds bob's campaign, carol's donation bounces and she sees
// why on her dashboard, and bob withdraws twice: one payout is paid, the provider declines the
// other and accounting refunds it. The relays run in Drain, one pass after another, until the
// messages stop.
func Example() {
	ctx := context.Background()
	usd := func(s string) money.Money { return money.MustParse(s + " USD") }
	provider := payouts.NewFakeProvider()
	sys, err := crowdfunding.New(crowdfunding.Memory(), provider, nil)
	if err != nil {
		panic(err)
	}
	must := func(err error) {
		if err == nil {
			err = sys.Drain(ctx) // the contexts react to what was just committed
		}
		if err != nil {
			panic(err)
		}
	}

	for _, owner := range []string{"alice", "bob", "carol"} {
		must(accounting.OpenAccount(ctx, sys.Accounting, accounting.AccountID(owner), owner, money.MustLookup("USD")))
	}
	must(accounting.Deposit(ctx, sys.Accounting, "topup-1", "alice", usd("100.00")))
	must(campaigns.Create(ctx, sys.Campaigns, "node", "bob", "Bob's lightning node", usd("500.00")))
	must(campaigns.Donate(ctx, sys.Campaigns, "node", "alice-1", "alice", usd("30.00")))
	must(campaigns.Donate(ctx, sys.Campaigns, "node", "alice-1", "alice", usd("30.00"))) // a retry: no effect
	must(campaigns.Donate(ctx, sys.Campaigns, "node", "carol-1", "carol", usd("5.00")))  // carol has nothing
	fmt.Println("bob donates to his own campaign:", campaigns.Donate(ctx, sys.Campaigns, "node", "bob-1", "bob", usd("1.00")))

	provider.Set("w2", payouts.Declines)
	must(payouts.Request(ctx, sys.Payouts, "w1", "bob", "lnbc1bob", usd("10.00")))
	must(payouts.Request(ctx, sys.Payouts, "w2", "bob", "lnbc1bob", usd("5.00")))
	for _, id := range []string{"w1", "w2"} {
		info, err := sys.Withdrawals.Manager.Get(ctx, id)
		if err != nil {
			panic(err)
		}
		fmt.Printf("withdrawal %s: %s (%s)\n", id, info.State, info.Status)
	}
	fmt.Println("paid out by the provider:", provider.Paid())

	for _, a := range []dashboard.ViewID{"alice", "bob", "carol"} {
		v, err := dashboard.Get(ctx, sys.Dashboard, a)
		if err != nil {
			panic(err)
		}
		fmt.Print(v)
	}
	ops, err := accounting.Operations(ctx, sys.Accounting)
	if err != nil {
		panic(err)
	}
	var ledger []string
	for _, op := range ops {
		ledger = append(ledger, fmt.Sprintf("  %s: %s %s", op.ID(), op.Kind, op.Amount))
	}
	slices.Sort(ledger)
	fmt.Println("ledger:")
	fmt.Println(strings.Join(ledger, "\n"))

	// Output:
	// bob donates to his own campaign: you cannot donate to your own campaign: node
	// withdrawal w1: paid (completed)
	// withdrawal w2: refunded (compensated)
	// paid out by the provider: map[w1:10.00 USD]
	// alice: balance 70.00 USD
	//   donation node/alice-1: 30.00 USD confirmed
	// bob: balance 20.00 USD
	//   campaign node "Bob's lightning node": 30.00 USD raised of 500.00 USD
	//   withdrawal w1: 10.00 USD paid
	//   withdrawal w2: 5.00 USD refunded (payouts: payment declined: 5.00 USD to lnbc1bob)
	// carol: balance 0.00 USD
	//   donation node/carol-1: 5.00 USD failed (insufficient funds: account carol holds 0.00 USD, donation/node/carol-1 needs 5.00 USD)
	// ledger:
	//   deposit/topup-1: deposit 100.00 USD
	//   donation/node/alice-1: transfer 30.00 USD
	//   refund/w2: refund 5.00 USD
	//   withdrawal/w1: withdrawal 10.00 USD
	//   withdrawal/w2: withdrawal 5.00 USD
}

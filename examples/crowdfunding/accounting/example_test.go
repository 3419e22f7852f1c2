package accounting_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/dddkit/ddd/examples/crowdfunding/accounting"
	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
)

// Example applies a donation crowdfunding asked for, twice, and a second one that bounces.
func Example() {
	ctx := context.Background()
	store := accounting.NewStore(memuow.New(nil), nil)
	usd := money.MustLookup("USD")
	for _, owner := range []string{"alice", "bob"} {
		if err := accounting.OpenAccount(ctx, store, accounting.AccountID(owner), owner, usd); err != nil {
			panic(err)
		}
	}
	ten, _ := money.FromString("10.00", usd)
	if err := accounting.Deposit(ctx, store, "salary", "alice", ten); err != nil {
		panic(err)
	}

	handle, err := accounting.Handler(store)
	if err != nil {
		panic(err)
	}
	pledge := func(id, donation, amount string) uow.Message {
		m, _ := money.FromString(amount, usd)
		b, _ := json.Marshal(map[string]any{"campaign": "c1", "donation": donation, "donor": "alice", "owner": "bob", "amount": m})
		return uow.Message{ID: id, Topic: "crowdfunding", Name: accounting.DonationPledged, Payload: b}
	}
	for _, m := range []uow.Message{pledge("m1", "k1", "4.00"), pledge("m1", "k1", "4.00"), pledge("m2", "k2", "7.00")} {
		if err := handle(ctx, m); err != nil {
			panic(err)
		}
	}
	accounts, _ := accounting.Accounts(ctx, store)
	for _, a := range accounts {
		fmt.Println(a.ID(), a.Balance)
	}
	rejected, _ := accounting.Rejections(ctx, store)
	for _, op := range rejected {
		fmt.Println("rejected:", op.ID(), op.Rejected)
	}
	// Output:
	// alice 6.00 USD
	// bob 4.00 USD
	// rejected: donation/c1/k2 insufficient_funds
}

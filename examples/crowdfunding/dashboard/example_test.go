package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/dddkit/ddd/examples/crowdfunding/dashboard"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
)

// Example builds the donor's and the owner's views from a donation's events, the confirmation
// arriving first (accounting's events, with the balances, have not arrived).
func Example() {
	ctx := context.Background()
	store := uow.NewStore(memuow.New(nil), nil)
	handle := dashboard.Handler(store)
	event := func(id, name, payload string) uow.Message {
		return uow.Message{ID: id, Name: name, Payload: json.RawMessage(payload)}
	}
	usd := func(v string) string { return `{"amount":"` + v + `","currency":"USD"}` }
	for _, m := range []uow.Message{
		event("e3", "campaigns.DonationConfirmed", `{"campaign":"c1","donation":"k1","donor":"alice","owner":"bob",`+
			`"amount":`+usd("5.00")+`,"raised":`+usd("5.00")+`,"version":2}`),
		event("e1", "campaigns.CampaignCreated", `{"campaign":"c1","owner":"bob","title":"Bob's node","goal":`+usd("500.00")+`}`),
		event("e2", "campaigns.DonationPledged", `{"campaign":"c1","donation":"k1","donor":"alice","owner":"bob","amount":`+usd("5.00")+`}`),
	} {
		if err := handle(ctx, m); err != nil {
			panic(err)
		}
	}
	for _, account := range []dashboard.ViewID{"alice", "bob"} {
		v, _ := dashboard.Get(ctx, store, account)
		fmt.Print(v)
	}
	// Output:
	// alice: no balance yet
	//   donation c1/k1: 5.00 USD confirmed
	// bob: no balance yet
	//   campaign c1 "Bob's node": 5.00 USD raised of 500.00 USD
}

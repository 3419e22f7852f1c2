package campaigns_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/dddkit/ddd/examples/crowdfunding/campaigns"
	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/uow/memuow"
)

// Example creates a campaign and pledges donations: one, its retry, and one to the owner's own
// campaign.
func Example() {
	ctx := context.Background()
	store := campaigns.NewStore(memuow.New(nil), nil)
	usd := money.MustLookup("USD")
	goal, _ := money.FromString("500.00", usd)
	five, _ := money.FromString("5.00", usd)
	if err := campaigns.Create(ctx, store, "c1", "bob", "Bob's node", goal); err != nil {
		panic(err)
	}
	fmt.Println(campaigns.Donate(ctx, store, "c1", "k1", "alice", five))
	fmt.Println(campaigns.Donate(ctx, store, "c1", "k1", "alice", five)) // a retry: nothing new
	err := campaigns.Donate(ctx, store, "c1", "k2", "bob", five)
	fmt.Println(errors.Is(err, campaigns.ErrOwnCampaign), err)

	all, _ := campaigns.Campaigns(ctx, store)
	for _, c := range all {
		fmt.Println(c.ID(), c.Title, "raised", c.Raised, "pledged", c.Donations["k1"].Amount, c.Donations["k1"].Status)
	}
	// Output:
	// <nil>
	// <nil>
	// true you cannot donate to your own campaign: c1
	// c1 Bob's node raised 0.00 USD pledged 5.00 USD pledged
}

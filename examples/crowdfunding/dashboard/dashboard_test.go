package dashboard_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/examples/crowdfunding/dashboard"
	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
)

func msg(t *testing.T, id, name string, payload map[string]any) uow.Message {
	t.Helper()
	b, err := json.Marshal(payload)
	require.NoError(t, err)
	return uow.Message{ID: id, Name: name, Payload: b}
}

// TestOutOfOrderAndDuplicated feeds the events of a campaign, a donation and a balance in the
// worst order, twice: the views end as if they came in order once.
func TestOutOfOrderAndDuplicated(t *testing.T) {
	ctx := context.Background()
	s := uow.NewStore(memuow.New(nil), nil)
	h := dashboard.Handler(s)
	usd := func(v string) money.Money {
		m, err := money.FromString(v, money.MustLookup("USD"))
		require.NoError(t, err)
		return m
	}
	events := []uow.Message{
		msg(t, "e5", "campaigns.DonationConfirmed", map[string]any{"campaign": "c1", "donation": "k1", "donor": "alice",
			"owner": "bob", "amount": usd("5.00"), "raised": usd("5.00"), "version": 2}),
		msg(t, "e4", "accounting.BalanceChanged", map[string]any{"account": "bob", "balance": usd("5.00"), "version": 2}),
		msg(t, "e3", "campaigns.DonationPledged", map[string]any{"campaign": "c1", "donation": "k1", "donor": "alice",
			"owner": "bob", "amount": usd("5.00")}),
		msg(t, "e2", "accounting.BalanceChanged", map[string]any{"account": "bob", "balance": usd("0.00"), "version": 1}),
		msg(t, "e1", "campaigns.CampaignCreated", map[string]any{"campaign": "c1", "owner": "bob", "title": "Node",
			"goal": usd("100.00")}),
		msg(t, "e0", "campaigns.Unrelated", map[string]any{}),
		msg(t, "e6", "accounting.AccountOpened", map[string]any{"account": "bob", "currency": "USD"}),
		msg(t, "e7", "accounting.AccountOpened", map[string]any{"account": "carol", "currency": "USD"}),
	}
	for range 2 {
		for _, e := range events {
			require.NoError(t, h(ctx, e))
		}
	}
	bob, err := dashboard.Get(ctx, s, "bob")
	require.NoError(t, err)
	assert.Equal(t, "5.00 USD", bob.Balance.String())
	require.Contains(t, bob.Campaigns, "c1")
	assert.Equal(t, "5.00 USD", bob.Campaigns["c1"].Raised.String())
	assert.Equal(t, "Node", bob.Campaigns["c1"].Title)
	assert.Empty(t, bob.Donations, "the owner's view holds no donor's donations")
	alice, err := dashboard.Get(ctx, s, "alice")
	require.NoError(t, err)
	assert.Equal(t, "confirmed", alice.Donations["c1/k1"].Status, "a confirmed donation never goes back to pledged")
	assert.Empty(t, alice.Campaigns, "the donor's view holds no campaign")
	carol, err := dashboard.Get(ctx, s, "carol")
	require.NoError(t, err)
	assert.Equal(t, "0.00 USD", carol.Balance.String(), "an opened account shows its empty balance")
	nobody, err := dashboard.Get(ctx, s, "nobody")
	require.NoError(t, err)
	assert.Empty(t, nobody.Donations)
}

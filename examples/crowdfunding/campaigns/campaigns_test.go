package campaigns_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/examples/crowdfunding/campaigns"
	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
)

func usd(t *testing.T, s string) money.Money {
	t.Helper()
	m, err := money.FromString(s, money.MustLookup("USD"))
	require.NoError(t, err)
	return m
}

func answer(t *testing.T, id, name, campaign, donation, reason string) uow.Message {
	t.Helper()
	b, err := json.Marshal(map[string]any{"ref": map[string]string{"campaign": campaign, "donation": donation}, "reason": reason})
	require.NoError(t, err)
	return uow.Message{ID: id, Topic: "accounting", Name: name, Payload: b}
}

func TestDonationRulesAndSettlement(t *testing.T) {
	ctx := context.Background()
	d := memuow.New(nil)
	s := campaigns.NewStore(d, nil)
	require.NoError(t, campaigns.Create(ctx, s, "c1", "bob", "Bob's node", usd(t, "100.00")))
	require.ErrorIs(t, campaigns.Create(ctx, s, "c1", "bob", "again", usd(t, "100.00")), campaigns.ErrCampaignExists)
	require.ErrorIs(t, campaigns.Create(ctx, s, "c2", "bob", "nothing", usd(t, "0.00")), campaigns.ErrInvalidAmount)

	eur, err := money.FromString("5.00", money.MustLookup("EUR"))
	require.NoError(t, err)
	for name, c := range map[string]struct {
		campaign, key, donor string
		amount               money.Money
		want                 error
	}{
		"own campaign": {"c1", "k9", "bob", usd(t, "5.00"), campaigns.ErrOwnCampaign},
		"zero":         {"c1", "k9", "alice", usd(t, "0.00"), campaigns.ErrInvalidAmount},
		"currency":     {"c1", "k9", "alice", eur, campaigns.ErrCurrencyMismatch},
		"no key":       {"c1", "", "alice", usd(t, "5.00"), campaigns.ErrDuplicateKey},
		"unknown":      {"nope", "k9", "alice", usd(t, "5.00"), campaigns.ErrUnknownCampaign},
	} {
		require.ErrorIs(t, campaigns.Donate(ctx, s, campaigns.CampaignID(c.campaign), c.key, c.donor, c.amount), c.want, name)
	}
	require.NoError(t, campaigns.Donate(ctx, s, "c1", "k1", "alice", usd(t, "5.00")))
	require.NoError(t, campaigns.Donate(ctx, s, "c1", "k1", "alice", usd(t, "5.00")), "a retried pledge")
	require.ErrorIs(t, campaigns.Donate(ctx, s, "c1", "k1", "alice", usd(t, "6.00")), campaigns.ErrDuplicateKey)
	require.NoError(t, campaigns.Donate(ctx, s, "c1", "k2", "carol", usd(t, "7.00")))
	pledged := 0
	for _, m := range d.Messages() {
		if m.Name == (campaigns.DonationPledged{}).EventName() {
			pledged++
		}
	}
	assert.Equal(t, 2, pledged, "one pledge per donation, whatever the retries")

	h, err := campaigns.Handler(s)
	require.NoError(t, err)
	require.NoError(t, h(ctx, answer(t, "a1", "accounting.OperationApplied", "c1", "k1", "")))
	require.NoError(t, h(ctx, answer(t, "a2", "accounting.OperationApplied", "c1", "k1", "")), "settled once")
	require.NoError(t, h(ctx, answer(t, "a3", "accounting.OperationRejected", "c1", "k2", "insufficient funds")))
	require.NoError(t, h(ctx, answer(t, "a4", "accounting.OperationApplied", "c1", "k2", "")), "a failed one stays failed")
	require.NoError(t, h(ctx, answer(t, "a5", "accounting.OperationApplied", "", "", "")), "not a donation's")

	cs, err := campaigns.Campaigns(ctx, s)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	assert.Equal(t, "5.00 USD", cs[0].Raised.String())
	assert.Equal(t, campaigns.Confirmed, cs[0].Donations["k1"].Status)
	assert.Equal(t, campaigns.Failed, cs[0].Donations["k2"].Status)
	assert.Equal(t, "insufficient funds", cs[0].Donations["k2"].Reason)
}

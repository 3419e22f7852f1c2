package accounting_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/examples/crowdfunding/accounting"
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

// message builds a message as another context would send it.
func message(t *testing.T, id, topic, name string, payload any) uow.Message {
	t.Helper()
	b, err := json.Marshal(payload)
	require.NoError(t, err)
	return uow.Message{ID: id, Topic: topic, Name: name, Payload: b}
}

func balances(t *testing.T, s *uow.Store) map[accounting.AccountID]string {
	t.Helper()
	accs, err := accounting.Accounts(context.Background(), s)
	require.NoError(t, err)
	out := map[accounting.AccountID]string{}
	for _, a := range accs {
		out[a.ID()] = a.Balance.String()
	}
	return out
}

// rejections returns the OperationRejected events in the driver's outbox, by operation.
func rejections(t *testing.T, d *memuow.Driver) map[accounting.OperationKey]string {
	t.Helper()
	out := map[accounting.OperationKey]string{}
	for _, m := range d.Messages() {
		if m.Name == (accounting.OperationRejected{}).EventName() {
			var e accounting.OperationRejected
			require.NoError(t, m.Decode(&e))
			out[e.Operation] = e.Code
		}
	}
	return out
}

func TestOperationsOnceAndScopedKeys(t *testing.T) {
	ctx := context.Background()
	d := memuow.New(nil)
	s := accounting.NewStore(d, nil)
	for _, owner := range []string{"alice", "bob", "carol"} {
		require.NoError(t, accounting.OpenAccount(ctx, s, accounting.AccountID(owner), owner, money.MustLookup("USD")))
	}
	require.ErrorIs(t, accounting.OpenAccount(ctx, s, "alice", "alice", money.MustLookup("USD")), accounting.ErrAccountExists)
	require.NoError(t, accounting.Deposit(ctx, s, "d1", "alice", usd(t, "50.00")))
	require.NoError(t, accounting.Deposit(ctx, s, "d1", "alice", usd(t, "50.00")), "a retried deposit")
	require.ErrorIs(t, accounting.Deposit(ctx, s, "d1", "bob", usd(t, "50.00")), accounting.ErrKeyReused)
	require.ErrorIs(t, accounting.Deposit(ctx, s, "d2", "alice", usd(t, "0.00")), accounting.ErrInvalidAmount)

	h, err := accounting.Handler(s)
	require.NoError(t, err)
	pledge := func(id, campaign, donation, owner, amount string) uow.Message {
		return message(t, id, "crowdfunding", accounting.DonationPledged, map[string]any{"campaign": campaign,
			"donation": donation, "donor": "alice", "owner": owner, "amount": usd(t, amount)})
	}
	require.NoError(t, h(ctx, pledge("m1", "c1", "k", "bob", "20.00")))
	require.NoError(t, h(ctx, pledge("m1", "c1", "k", "bob", "20.00")), "redelivered: the inbox")
	require.NoError(t, h(ctx, pledge("m2", "c1", "k", "bob", "20.00")), "sent again: the operation's key")
	// Seed 002's bug: the donor's key reused for another campaign. Keys are scoped to the
	// operation, so this is a second donation: it debits the donor again, never credits carol
	// for nothing.
	require.NoError(t, h(ctx, pledge("m3", "c2", "k", "carol", "20.00")))
	assert.Equal(t, map[accounting.AccountID]string{"alice": "10.00 USD", "bob": "20.00 USD", "carol": "20.00 USD"}, balances(t, s))
	// Insufficient funds: rejected with an explicit event, nothing moved.
	require.NoError(t, h(ctx, pledge("m4", "c1", "k2", "bob", "10.01")))
	assert.Equal(t, map[accounting.OperationKey]string{"donation/c1/k2": "insufficient_funds"}, rejections(t, d))

	withdraw := func(id, name, w, amount string) uow.Message {
		return message(t, id, accounting.Commands, name, map[string]any{"withdrawal": w, "account": "bob", "amount": usd(t, amount)})
	}
	require.NoError(t, h(ctx, withdraw("m5", accounting.DebitRequested, "w1", "15.00")))
	require.NoError(t, h(ctx, withdraw("m6", accounting.DebitRequested, "w2", "15.00")))
	require.NoError(t, h(ctx, withdraw("m7", accounting.RefundRequested, "w1", "15.00")))
	require.NoError(t, h(ctx, withdraw("m8", accounting.RefundRequested, "w1", "15.00")), "a refund once")
	assert.Equal(t, map[accounting.AccountID]string{"alice": "10.00 USD", "bob": "20.00 USD", "carol": "20.00 USD"}, balances(t, s))
	assert.Equal(t, "insufficient_funds", rejections(t, d)["withdrawal/w2"])

	ledger, err := accounting.Ledger(ctx, s, "bob")
	require.NoError(t, err)
	var keys []accounting.OperationKey
	for _, op := range ledger {
		keys = append(keys, op.ID())
	}
	assert.ElementsMatch(t, []accounting.OperationKey{"donation/c1/k", "withdrawal/w1", "refund/w1"}, keys)
}

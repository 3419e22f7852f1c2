package load_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/examples/transfer"
	"github.com/dddkit/ddd/examples/transfer/internal/load"
	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
)

func TestRun(t *testing.T) {
	ctx := context.Background()
	b, err := transfer.New(uow.NewStore(memuow.New(nil), nil), nil)
	require.NoError(t, err)
	five, err := money.FromString("5.00", load.Currency)
	require.NoError(t, err)
	opened := 0
	require.NoError(t, load.Open(ctx, b, 12, 3, five, func(n int) { opened = max(opened, n) }))
	assert.Equal(t, 12, opened)

	for _, c := range []load.Contention{load.Uniform, load.Hot} {
		rep, err := load.Run(ctx, b, load.Config{Accounts: 12, Contention: c, Hot: 3, Transfers: 200, Workers: 4,
			Strategy: transfer.Keyed, Prefix: c.String() + "-", Seed: 7})
		require.NoError(t, err)
		assert.Equal(t, 200, rep.Transfers)
		assert.Equal(t, 200, rep.Posted+rep.Refused)
		assert.Positive(t, rep.Refused, "5.00 USD accounts refuse some of 200 transfers up to 10.00")
		assert.Equal(t, 0, rep.Retries(), "keyed locks wait, they do not retry")
		assert.LessOrEqual(t, rep.P50, rep.P99)
		assert.Positive(t, rep.PerSecond())
	}
	rec, err := b.Finder().Reconcile(ctx)
	require.NoError(t, err)
	assert.True(t, rec.Balanced())
	assert.Equal(t, "60.00 USD", rec.Totals[0].Balance.String())
}

func TestRunRefusesBadConfig(t *testing.T) {
	b, err := transfer.New(uow.NewStore(memuow.New(nil), nil), nil)
	require.NoError(t, err)
	for name, cfg := range map[string]load.Config{
		"one account":     {Accounts: 1, Workers: 1},
		"one hot account": {Accounts: 10, Contention: load.Hot, Hot: 1, Workers: 1},
		"no worker":       {Accounts: 10},
		"negative":        {Accounts: 10, Workers: 1, Transfers: -1},
	} {
		_, err := load.Run(context.Background(), b, cfg)
		assert.Error(t, err, name)
	}
	_, err = load.ParseContention("tepid")
	assert.Error(t, err)
}

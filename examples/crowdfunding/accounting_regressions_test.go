package crowdfunding_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/examples/crowdfunding/accounting"
	"github.com/dddkit/ddd/examples/crowdfunding/campaigns"
	"github.com/dddkit/ddd/examples/crowdfunding/payouts"
	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
)

// A rejected operation must stay rejected. Accounting answers a command that breaks a rule
// with OperationRejected and marks the message in its inbox, but records nothing under the
// operation's key; the inbox is purged after its retention. A message redelivered after that (a
// parked message an operator unparks days later, a broker's late redelivery) runs the command
// again, and with the money now there it succeeds: a donation the campaign and the donor were
// told had failed is transferred after all, and a rejected withdrawal is debited, with no saga
// left to pay or refund it.
func TestRegressionRejectedOperationStaysRejected(t *testing.T) {
	const retention = 7 * 24 * time.Hour

	t.Run("donation", func(t *testing.T) {
		e := newRegEnv(t, &outbox.RelayOptions{MinBackoff: 10 * time.Millisecond, MaxBackoff: time.Second, MaxAttempts: 2})
		// The pledge reaches every consumer, but its publication keeps failing (another
		// consumer is broken, say): the relay parks it.
		flaky := true
		e.net.rule = func(m uow.Message) (bool, error) {
			if m.Name == accounting.DonationPledged && flaky {
				return true, errChaosCrash
			}
			return true, nil
		}
		e.open(t, map[string]int64{"bob": 0, "carol": 0})
		require.NoError(t, campaigns.Create(e.ctx, e.sys.Campaigns, "c1", "bob", "Bob's node", usdOf(500)))
		require.NoError(t, campaigns.Donate(e.ctx, e.sys.Campaigns, "c1", "k1", "carol", usdOf(5)))
		for range 5 {
			require.NoError(t, e.sys.Drain(e.ctx))
			e.clock.Advance(10 * time.Second)
		}
		require.Equal(t, campaigns.Failed, e.campaign(t, "c1").Donations["k1"].Status, "carol had nothing")
		parked, err := e.mem[1].Parked(e.ctx, 10)
		require.NoError(t, err)
		require.Len(t, parked, 1)

		// A week later carol has money, the inbox has forgotten, and the operator unparks.
		require.NoError(t, accounting.Deposit(e.ctx, e.sys.Accounting, "later", "carol", usdOf(50)))
		e.clock.Advance(retention + time.Hour)
		_, err = e.mem[0].PurgeInbox(e.ctx, e.clock.Now().Add(-retention))
		require.NoError(t, err)
		flaky = false
		_, err = e.mem[1].Unpark(e.ctx, []string{parked[0].ID})
		require.NoError(t, err)
		e.quiet(t)

		assert.Equal(t, campaigns.Failed, e.campaign(t, "c1").Donations["k1"].Status)
		assert.Equal(t, "failed", e.view(t, "carol").Donations["c1/k1"].Status)
		assert.Nil(t, e.ops(t)["donation/c1/k1"], "a failed donation was transferred")
		assert.Equal(t, map[accounting.AccountID]int64{"bob": 0, "carol": 5000}, e.balances(t))
	})

	t.Run("withdrawal", func(t *testing.T) {
		e := newRegEnv(t, nil)
		commands := e.observe(t, accounting.Commands)
		e.open(t, map[string]int64{"bob": 10})
		require.NoError(t, payouts.Request(e.ctx, e.sys.Payouts, "w1", "bob", "lnbc1bob", usdOf(40)))
		e.quiet(t)
		info, err := e.sys.Withdrawals.Manager.Get(e.ctx, "w1")
		require.NoError(t, err)
		require.Equal(t, payouts.Rejected, info.State)

		require.NoError(t, accounting.Deposit(e.ctx, e.sys.Accounting, "later", "bob", usdOf(100)))
		e.clock.Advance(retention + time.Hour)
		_, err = e.mem[0].PurgeInbox(e.ctx, e.clock.Now().Add(-retention))
		require.NoError(t, err)
		sent := commands()
		require.Len(t, sent, 1)
		require.Equal(t, accounting.DebitRequested, sent[0].Name)
		require.NoError(t, e.sys.Bus.Publish(e.ctx, sent), "the late redelivery")
		e.quiet(t)

		info, err = e.sys.Withdrawals.Manager.Get(e.ctx, "w1")
		require.NoError(t, err)
		assert.Equal(t, payouts.Rejected, info.State)
		assert.Nil(t, e.ops(t)["withdrawal/w1"], "a rejected withdrawal was debited")
		assert.Equal(t, int64(11000), e.balances(t)["bob"], "debited and lost")
	})
}

// Accounting's transfer does not refuse a transfer from an account to itself (campaigns refuses
// such a donation, but accounting takes any publisher's word): it records two BalanceChanged
// events of the account with the same Version, the first with the debited balance, and the
// dashboard, which keeps the first event of a version, shows a balance the account does not
// have.
func TestRegressionSelfTransferKeepsTheDashboardRight(t *testing.T) {
	e := newRegEnv(t, nil)
	e.open(t, map[string]int64{"bob": 100})
	require.NoError(t, campaigns.Create(e.ctx, e.sys.Campaigns, "c1", "alice", "Alice's node", usdOf(500)))
	e.quiet(t)
	self, err := json.Marshal(map[string]any{"campaign": "c1", "donation": "k1", "donor": "bob", "owner": "bob",
		"amount": usdOf(30)})
	require.NoError(t, err)
	require.NoError(t, e.sys.Bus.Publish(e.ctx, []uow.Message{{ID: "self-1", Topic: campaigns.Topic, Key: "c1",
		Name: accounting.DonationPledged, Payload: self}}))
	e.quiet(t)
	assert.Equal(t, int64(10000), e.balances(t)["bob"])
	assert.Equal(t, e.balances(t)["bob"], cents(t, e.view(t, "bob").Balance), "the dashboard shows another balance")
}

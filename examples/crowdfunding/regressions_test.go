package crowdfunding_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/examples/crowdfunding"
	"github.com/dddkit/ddd/examples/crowdfunding/accounting"
	"github.com/dddkit/ddd/examples/crowdfunding/campaigns"
	"github.com/dddkit/ddd/examples/crowdfunding/dashboard"
	"github.com/dddkit/ddd/examples/crowdfunding/payouts"
	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/memuow"
)

// The regressions of seed 002's Satoshi Spark, one test each, on memuow with a fake clock.

// regNet is a network the test scripts: rule, when set, decides the fate of each message
// published (lost before delivery, or lost after it); hold, when set, keeps matching messages
// back until release. The relays step in the test's goroutine; the lock is for tidiness.
type regNet struct {
	mu   sync.Mutex
	bus  *outbox.Bus
	rule func(m uow.Message) (deliver bool, err error)
	hold func(m uow.Message) bool
	held []uow.Message
}

func (n *regNet) Publish(ctx context.Context, msgs []uow.Message) error {
	n.mu.Lock()
	rule, hold := n.rule, n.hold
	n.mu.Unlock()
	for _, m := range msgs {
		if hold != nil && hold(m) {
			n.mu.Lock()
			n.held = append(n.held, m)
			n.mu.Unlock()
			continue
		}
		deliver, err := true, error(nil)
		if rule != nil {
			deliver, err = rule(m)
		}
		if deliver {
			if err := n.bus.Publish(ctx, []uow.Message{m}); err != nil {
				return err
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// release delivers the held messages, in order.
func (n *regNet) release(ctx context.Context) error {
	n.mu.Lock()
	held := n.held
	n.held, n.hold = nil, nil
	n.mu.Unlock()
	return n.bus.Publish(ctx, held)
}

// regEnv is a system on four memuow drivers, a fake clock, a fake provider and a scripted
// network.
type regEnv struct {
	ctx      context.Context
	sys      *crowdfunding.System
	clock    *memuow.Clock
	provider *payouts.FakeProvider
	net      *regNet
	mem      [4]*memuow.Driver // accounting, campaigns, payouts, dashboard
}

// regPaymentTimeout is the payouts' timeout in the regression tests (on the fake clock).
const regPaymentTimeout = time.Minute

func newRegEnv(t *testing.T, relay *outbox.RelayOptions) *regEnv {
	t.Helper()
	e := &regEnv{
		ctx:      context.Background(),
		clock:    memuow.NewClock(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)),
		provider: payouts.NewFakeProvider(),
		net:      &regNet{},
		mem:      [4]*memuow.Driver{memuow.New(nil), memuow.New(nil), memuow.New(nil), memuow.New(nil)},
	}
	if relay == nil {
		relay = &outbox.RelayOptions{MinBackoff: 10 * time.Millisecond, MaxBackoff: time.Second, MaxAttempts: 1000}
	}
	relay.Logger = slog.New(slog.DiscardHandler)
	sys, err := crowdfunding.New(crowdfunding.Drivers{Accounting: e.mem[0], Campaigns: e.mem[1], Payouts: e.mem[2], Dashboard: e.mem[3]},
		e.provider, &crowdfunding.Options{
			Clock: e.clock,
			Publisher: func(b *outbox.Bus) outbox.Publisher {
				e.net.bus = b
				return e.net
			},
			Payouts: &payouts.Options{PaymentTimeout: regPaymentTimeout, PayWait: 5 * time.Millisecond},
			Relay:   relay,
		})
	require.NoError(t, err)
	e.sys = sys
	return e
}

// open opens the accounts, each with its deposit in whole dollars (0 for none).
func (e *regEnv) open(t *testing.T, deposits map[string]int64) {
	t.Helper()
	for a, n := range deposits {
		require.NoError(t, accounting.OpenAccount(e.ctx, e.sys.Accounting, accounting.AccountID(a), a, chaosUSD))
		if n > 0 {
			require.NoError(t, accounting.Deposit(e.ctx, e.sys.Accounting, "open-"+a, accounting.AccountID(a), usdOf(n)))
		}
	}
}

// quiet relays, letting the clock pass every retry and timeout, until every outbox is empty.
func (e *regEnv) quiet(t *testing.T) {
	t.Helper()
	for round := 0; ; round++ {
		require.NoError(t, e.sys.Drain(e.ctx))
		if e.outboxLen() == 0 {
			return
		}
		require.Less(t, round, 100, "the system does not quiet down")
		e.clock.Advance(regPaymentTimeout / 6)
	}
}

func (e *regEnv) outboxLen() int {
	n := 0
	for _, d := range e.mem {
		n += len(d.Messages())
	}
	return n
}

// balances returns every account's balance in cents.
func (e *regEnv) balances(t *testing.T) map[accounting.AccountID]int64 {
	t.Helper()
	accs, err := accounting.Accounts(e.ctx, e.sys.Accounting)
	require.NoError(t, err)
	out := map[accounting.AccountID]int64{}
	for _, a := range accs {
		out[a.ID()] = cents(t, a.Balance)
	}
	return out
}

// ops returns accounting's operations by key.
func (e *regEnv) ops(t *testing.T) map[accounting.OperationKey]*accounting.Operation {
	t.Helper()
	ops, err := accounting.Operations(e.ctx, e.sys.Accounting)
	require.NoError(t, err)
	out := map[accounting.OperationKey]*accounting.Operation{}
	for _, o := range ops {
		out[o.ID()] = o
	}
	return out
}

func (e *regEnv) campaign(t *testing.T, id campaigns.CampaignID) *campaigns.Campaign {
	t.Helper()
	cs, err := campaigns.Campaigns(e.ctx, e.sys.Campaigns)
	require.NoError(t, err)
	for _, c := range cs {
		if c.ID() == id {
			return c
		}
	}
	require.Failf(t, "no campaign", "%s", id)
	return nil
}

func (e *regEnv) view(t *testing.T, account dashboard.ViewID) *dashboard.View {
	t.Helper()
	v, err := dashboard.Get(e.ctx, e.sys.Dashboard, account)
	require.NoError(t, err)
	return v
}

// observe records the messages of topic that the bus delivers, once per message ID.
func (e *regEnv) observe(t *testing.T, topic string) func() []uow.Message {
	t.Helper()
	var (
		mu   sync.Mutex
		seen = map[string]bool{}
		got  []uow.Message
	)
	_, err := e.sys.Bus.Subscribe(topic, "regression-observer", func(_ context.Context, m uow.Message) error {
		mu.Lock()
		defer mu.Unlock()
		if !seen[m.ID] {
			seen[m.ID] = true
			got = append(got, m)
		}
		return nil
	})
	require.NoError(t, err)
	return func() []uow.Message {
		mu.Lock()
		defer mu.Unlock()
		return append([]uow.Message(nil), got...)
	}
}

func sum(m map[accounting.AccountID]int64) int64 {
	var s int64
	for _, v := range m {
		s += v
	}
	return s
}

// Seed 002 kept idempotency keys per account: a key a donor reused for a second campaign was
// taken for the first donation again, and the second campaign's owner was credited without the
// donor being debited. Keys are now scoped to the operation ("donation/<campaign>/<key>"): the
// same key on two campaigns is two donations, both paid by the donor; on one campaign it is
// one donation, and another one under it is refused.
func TestRegressionDonationKeyScopedToTheOperation(t *testing.T) {
	e := newRegEnv(t, nil)
	e.open(t, map[string]int64{"alice": 100, "bob": 0, "carol": 0})
	require.NoError(t, campaigns.Create(e.ctx, e.sys.Campaigns, "c1", "bob", "Bob's node", usdOf(500)))
	require.NoError(t, campaigns.Create(e.ctx, e.sys.Campaigns, "c2", "carol", "Carol's node", usdOf(500)))

	require.NoError(t, campaigns.Donate(e.ctx, e.sys.Campaigns, "c1", "k1", "alice", usdOf(30)))
	require.NoError(t, campaigns.Donate(e.ctx, e.sys.Campaigns, "c2", "k1", "alice", usdOf(30)), "the same key on another campaign")
	// The same key on the same campaign for another donation is refused; the same pledge again
	// is a retry, with no effect (not even a message).
	require.ErrorIs(t, campaigns.Donate(e.ctx, e.sys.Campaigns, "c1", "k1", "alice", usdOf(31)), campaigns.ErrDuplicateKey)
	require.ErrorIs(t, campaigns.Donate(e.ctx, e.sys.Campaigns, "c1", "k1", "carol", usdOf(30)), campaigns.ErrDuplicateKey)
	before := len(e.mem[1].Messages())
	require.NoError(t, campaigns.Donate(e.ctx, e.sys.Campaigns, "c1", "k1", "alice", usdOf(30)))
	assert.Len(t, e.mem[1].Messages(), before, "a replayed pledge publishes nothing")
	e.quiet(t)

	assert.Equal(t, map[accounting.AccountID]int64{"alice": 4000, "bob": 3000, "carol": 3000}, e.balances(t), "two donations, two debits")
	ops := e.ops(t)
	for c, key := range map[campaigns.CampaignID]accounting.OperationKey{"c1": "donation/c1/k1", "c2": "donation/c2/k1"} {
		o := ops[key]
		require.NotNil(t, o, c)
		assert.Equal(t, accounting.AccountID("alice"), o.Debit, c)
		assert.Equal(t, int64(3000), cents(t, o.Amount), c)
		cp := e.campaign(t, c)
		assert.Equal(t, campaigns.Confirmed, cp.Donations["k1"].Status, c)
		assert.Equal(t, int64(3000), cents(t, cp.Raised), c)
	}
	assert.Len(t, ops, 3, "the deposit and two transfers")

	// A replay after the fact changes nothing either.
	require.NoError(t, campaigns.Donate(e.ctx, e.sys.Campaigns, "c1", "k1", "alice", usdOf(30)))
	e.quiet(t)
	assert.Equal(t, map[accounting.AccountID]int64{"alice": 4000, "bob": 3000, "carol": 3000}, e.balances(t))

	// Accounting keeps the key to the operation whatever asks: a pledge reusing c1's key for
	// another credit (a buggy or forged publisher) is rejected, and credits nobody.
	forged, err := json.Marshal(map[string]any{"campaign": "c1", "donation": "k1", "donor": "alice", "owner": "carol",
		"amount": usdOf(30)})
	require.NoError(t, err)
	rejected := e.observe(t, accounting.Topic)
	require.NoError(t, e.sys.Bus.Publish(e.ctx, []uow.Message{{ID: "forged-1", Topic: campaigns.Topic, Key: "c1",
		Name: accounting.DonationPledged, Payload: forged}}))
	e.quiet(t)
	assert.Equal(t, map[accounting.AccountID]int64{"alice": 4000, "bob": 3000, "carol": 3000}, e.balances(t), "the forged pledge moved money")
	var reasons []string
	for _, m := range rejected() {
		if m.Name == "accounting.OperationRejected" {
			var r accounting.OperationRejected
			require.NoError(t, m.Decode(&r))
			reasons = append(reasons, r.Code)
		}
	}
	assert.Equal(t, []string{"key_reused"}, reasons)
	assert.Equal(t, int64(3000), cents(t, e.campaign(t, "c1").Raised), "the rejection does not undo the confirmed donation")

	// Deposits too: a key is one deposit.
	require.NoError(t, accounting.Deposit(e.ctx, e.sys.Accounting, "open-alice", "alice", usdOf(100)))
	require.ErrorIs(t, accounting.Deposit(e.ctx, e.sys.Accounting, "open-alice", "alice", usdOf(101)), accounting.ErrKeyReused)
	assert.Equal(t, int64(4000), e.balances(t)["alice"])
}

// Seed 002's outbox processor logged a failed dispatch and deleted the message anyway. A
// message whose publication or handling fails is now kept and published again after its
// backoff, parked (not deleted) when it keeps failing, and its effect happens once.
func TestRegressionFailedMessagesAreRetried(t *testing.T) {
	pledged := func(m uow.Message) bool { return m.Name == accounting.DonationPledged }
	donate := func(t *testing.T, e *regEnv) {
		t.Helper()
		e.open(t, map[string]int64{"alice": 100, "bob": 0})
		require.NoError(t, campaigns.Create(e.ctx, e.sys.Campaigns, "c1", "bob", "Bob's node", usdOf(500)))
		require.NoError(t, campaigns.Donate(e.ctx, e.sys.Campaigns, "c1", "k1", "alice", usdOf(30)))
	}
	// once checks that the donation happened, once.
	once := func(t *testing.T, e *regEnv) {
		t.Helper()
		e.quiet(t)
		assert.Equal(t, map[accounting.AccountID]int64{"alice": 7000, "bob": 3000}, e.balances(t))
		assert.Equal(t, campaigns.Confirmed, e.campaign(t, "c1").Donations["k1"].Status)
		assert.Equal(t, int64(3000), cents(t, e.campaign(t, "c1").Raised))
		assert.Equal(t, int64(3000), cents(t, e.view(t, "bob").Campaigns["c1"].Raised))
		assert.Len(t, e.ops(t), 2, "alice's deposit and the transfer")
	}
	// stillQueued reports whether the pledge is still in the campaigns' outbox.
	stillQueued := func(e *regEnv) bool {
		for _, m := range e.mem[1].Messages() {
			if pledged(m) {
				return true
			}
		}
		return false
	}

	t.Run("publish fails", func(t *testing.T) {
		e := newRegEnv(t, nil)
		failures := 0
		e.net.rule = func(m uow.Message) (bool, error) {
			if pledged(m) && failures < 3 {
				failures++
				return false, errChaosNetwork
			}
			return true, nil
		}
		donate(t, e)
		require.NoError(t, e.sys.Drain(e.ctx))
		assert.Equal(t, 1, failures)
		assert.True(t, stillQueued(e), "the failed message was deleted")
		assert.Equal(t, int64(10000), e.balances(t)["alice"])
		for failures < 3 {
			e.clock.Advance(time.Second) // past the backoff
			require.NoError(t, e.sys.Drain(e.ctx))
			assert.True(t, stillQueued(e) || failures == 3)
		}
		once(t, e)
		assert.False(t, stillQueued(e))
	})

	t.Run("delivered but not acknowledged", func(t *testing.T) {
		e := newRegEnv(t, nil)
		crashes := 0
		e.net.rule = func(m uow.Message) (bool, error) {
			if pledged(m) && crashes < 2 {
				crashes++
				return true, errChaosCrash
			}
			return true, nil
		}
		donate(t, e)
		once(t, e)
		assert.Equal(t, 2, crashes)
	})

	for _, after := range []bool{false, true} {
		name := map[bool]string{false: "handler's commit fails", true: "handler's commit succeeds unheard"}[after]
		t.Run(name, func(t *testing.T) {
			e := newRegEnv(t, nil)
			taken := 0
			e.mem[0].InjectFault(memuow.Fault{After: after, Err: errChaosFault, Match: func(c *driver.Changes) bool {
				if len(c.Inbox) == 0 {
					return false
				}
				taken++
				return true
			}})
			donate(t, e)
			once(t, e)
			assert.Equal(t, 1, taken)
		})
	}

	t.Run("parked, not deleted, when it keeps failing", func(t *testing.T) {
		e := newRegEnv(t, &outbox.RelayOptions{MinBackoff: 10 * time.Millisecond, MaxBackoff: time.Second, MaxAttempts: 3})
		down := true
		e.net.rule = func(m uow.Message) (bool, error) {
			if pledged(m) && down {
				return false, errChaosNetwork
			}
			return true, nil
		}
		donate(t, e)
		for range 5 {
			require.NoError(t, e.sys.Drain(e.ctx))
			e.clock.Advance(10 * time.Second)
		}
		parked, err := e.mem[1].Parked(e.ctx, 10)
		require.NoError(t, err)
		require.Len(t, parked, 1)
		assert.Equal(t, accounting.DonationPledged, parked[0].Name)
		assert.Equal(t, 3, parked[0].Attempts)
		assert.Equal(t, int64(10000), e.balances(t)["alice"])
		down = false
		n, err := e.mem[1].Unpark(e.ctx, []string{parked[0].ID})
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		once(t, e)
	})
}

// Seed 002's withdrawal debited the account and then paid through the Lightning node; a payment
// that failed left the money debited and gone. The payouts saga now refunds the debit when the
// provider declines, and when it does not answer before the payment timeout (the payment is then
// cancelled at the provider); a payment whose answer was lost but went through stays paid, once.
func TestRegressionFailedPayoutIsRefunded(t *testing.T) {
	cases := []struct {
		name      string
		behaviour payouts.Behaviour
		state     string
		balance   int64
		paid      bool
	}{
		{"declined", payouts.Declines, "refunded", 10000, false},
		{"hangs past the timeout", payouts.Hangs, "refunded", 10000, false},
		{"pays but the answer is lost", payouts.PaysSilently, "paid", 6000, true},
		{"pays", payouts.Pays, "paid", 6000, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newRegEnv(t, nil)
			e.open(t, map[string]int64{"bob": 100})
			e.provider.Set("w1", c.behaviour)
			require.NoError(t, payouts.Request(e.ctx, e.sys.Payouts, "w1", "bob", "lnbc1bob", usdOf(40)))
			require.NoError(t, e.sys.Drain(e.ctx))
			if c.behaviour == payouts.Hangs {
				info, err := e.sys.Withdrawals.Manager.Get(e.ctx, "w1")
				require.NoError(t, err)
				assert.Equal(t, payouts.Paying, info.State, "debited, waiting for the provider")
				assert.Equal(t, int64(6000), e.balances(t)["bob"])
			}
			e.quiet(t)

			info, err := e.sys.Withdrawals.Manager.Get(e.ctx, "w1")
			require.NoError(t, err)
			assert.Equal(t, c.state, string(info.State))
			assert.Equal(t, int64(c.balance), e.balances(t)["bob"])
			p, paid := e.provider.Paid()["w1"]
			assert.Equal(t, c.paid, paid)
			if paid {
				assert.Equal(t, int64(4000), cents(t, p))
			}
			ops := e.ops(t)
			assert.NotNil(t, ops["withdrawal/w1"], "the debit")
			if c.state == "refunded" {
				require.NotNil(t, ops["refund/w1"], "the refund")
				assert.Equal(t, accounting.AccountID("bob"), ops["refund/w1"].Credit)
				assert.Equal(t, int64(4000), cents(t, ops["refund/w1"].Amount))
				assert.NotEmpty(t, info.Data.Reason)
			} else {
				assert.Nil(t, ops["refund/w1"])
			}
			v := e.view(t, "bob")
			assert.Equal(t, c.state, v.Withdrawals["w1"].Status)
			assert.Equal(t, c.balance, cents(t, v.Balance))
			assert.Equal(t, int64(10000), e.balances(t)["bob"]+map[bool]int64{true: 4000}[paid], "money is conserved")
		})
	}

	t.Run("rejected without funds: never debited", func(t *testing.T) {
		e := newRegEnv(t, nil)
		e.open(t, map[string]int64{"bob": 10})
		require.NoError(t, payouts.Request(e.ctx, e.sys.Payouts, "w1", "bob", "lnbc1bob", usdOf(40)))
		e.quiet(t)
		info, err := e.sys.Withdrawals.Manager.Get(e.ctx, "w1")
		require.NoError(t, err)
		assert.Equal(t, payouts.Rejected, info.State)
		assert.Contains(t, info.Data.Reason, "insufficient funds")
		assert.Nil(t, e.ops(t)["withdrawal/w1"])
		assert.Equal(t, int64(1000), e.balances(t)["bob"])
		assert.Zero(t, e.provider.Calls())
		assert.Equal(t, "rejected", e.view(t, "bob").Withdrawals["w1"].Status)
	})
}

// Seed 002's transfer that failed for insufficient funds was only logged: the donation stayed
// pending and the donor never learnt why. Accounting now answers with OperationRejected, the
// campaign records the donation as failed with the reason and publishes DonationFailed, and the
// donor's dashboard shows it.
func TestRegressionBouncedDonationIsExplicit(t *testing.T) {
	e := newRegEnv(t, nil)
	e.open(t, map[string]int64{"bob": 0, "carol": 2})
	require.NoError(t, campaigns.Create(e.ctx, e.sys.Campaigns, "c1", "bob", "Bob's node", usdOf(500)))
	events := e.observe(t, campaigns.Topic)
	require.NoError(t, campaigns.Donate(e.ctx, e.sys.Campaigns, "c1", "k1", "carol", usdOf(5)))
	require.NoError(t, campaigns.Donate(e.ctx, e.sys.Campaigns, "c1", "k2", "nobody", usdOf(5))) // no such account
	e.quiet(t)

	failed := map[string]campaigns.DonationFailed{}
	for _, m := range events() {
		switch m.Name {
		case "campaigns.DonationFailed":
			var f campaigns.DonationFailed
			require.NoError(t, m.Decode(&f))
			failed[f.Donation] = f
		case "campaigns.DonationConfirmed":
			t.Errorf("a bounced donation was confirmed: %s", m.Payload)
		}
	}
	require.Len(t, failed, 2)
	assert.Equal(t, "carol", failed["k1"].Donor)
	assert.Equal(t, int64(500), cents(t, failed["k1"].Amount))
	assert.Contains(t, failed["k1"].Reason, "insufficient funds")
	assert.Contains(t, failed["k2"].Reason, "unknown account")

	c := e.campaign(t, "c1")
	assert.Equal(t, campaigns.Failed, c.Donations["k1"].Status)
	assert.Equal(t, failed["k1"].Reason, c.Donations["k1"].Reason)
	assert.Equal(t, campaigns.Failed, c.Donations["k2"].Status)
	assert.Zero(t, cents(t, c.Raised))

	carol := e.view(t, "carol")
	require.Contains(t, carol.Donations, "c1/k1")
	assert.Equal(t, "failed", carol.Donations["c1/k1"].Status)
	assert.Equal(t, failed["k1"].Reason, carol.Donations["c1/k1"].Reason)
	assert.Equal(t, "failed", e.view(t, "nobody").Donations["c1/k2"].Status)
	assert.Zero(t, cents(t, e.view(t, "bob").Campaigns["c1"].Raised))

	assert.Equal(t, map[accounting.AccountID]int64{"bob": 0, "carol": 200}, e.balances(t), "nothing moved")
	for k, o := range e.ops(t) {
		assert.NotEqual(t, accounting.KindTransfer, o.Kind, "operation %s for a bounced donation", k)
	}
}

// Seed 002's dashboard joined donations to campaigns on the wrong key, so one account saw
// another's numbers. Each view now shows its own balance, the campaigns its account owns with
// their totals, and the donations it made, whatever the overlap between accounts, and in
// whatever order the events arrive.
func TestRegressionDashboardJoinsOnTheRightKeys(t *testing.T) {
	for _, reordered := range []bool{false, true} {
		name := map[bool]string{false: "in order", true: "campaigns created after their donations arrive"}[reordered]
		t.Run(name, func(t *testing.T) {
			e := newRegEnv(t, nil)
			if reordered {
				e.net.hold = func(m uow.Message) bool { return m.Name == "campaigns.CampaignCreated" }
			}
			e.open(t, map[string]int64{"alice": 100, "bob": 100, "carol": 100, "dave": 0})
			require.NoError(t, campaigns.Create(e.ctx, e.sys.Campaigns, "c1", "alice", "Alice's node", usdOf(500)))
			require.NoError(t, campaigns.Create(e.ctx, e.sys.Campaigns, "c2", "bob", "Bob's node", usdOf(700)))
			// Overlapping keys: k1 on both campaigns, each by a different donor; carol gives to both.
			for _, d := range []struct {
				campaign campaigns.CampaignID
				key      string
				donor    string
				amount   int64
			}{
				{"c2", "k1", "alice", 10},
				{"c1", "k1", "bob", 20},
				{"c1", "k2", "carol", 5},
				{"c2", "k2", "carol", 7},
				{"c1", "k3", "dave", 3}, // bounces
			} {
				require.NoError(t, campaigns.Donate(e.ctx, e.sys.Campaigns, d.campaign, d.key, d.donor, usdOf(d.amount)))
			}
			e.quiet(t)
			if reordered {
				require.Equal(t, int64(2000+500), cents(t, e.view(t, "alice").Campaigns["c1"].Raised), "confirmations came first")
				require.NoError(t, e.net.release(e.ctx))
				e.quiet(t)
			}

			type campaignView struct {
				Title  string
				Goal   int64
				Raised int64
			}
			type board struct {
				Balance   int64
				Campaigns map[string]campaignView
				Donations map[string]string // campaign/key -> status
			}
			got := map[dashboard.ViewID]board{}
			for _, a := range []dashboard.ViewID{"alice", "bob", "carol", "dave"} {
				v := e.view(t, a)
				b := board{Balance: cents(t, v.Balance), Campaigns: map[string]campaignView{}, Donations: map[string]string{}}
				for id, c := range v.Campaigns {
					b.Campaigns[id] = campaignView{c.Title, cents(t, c.Goal), cents(t, c.Raised)}
				}
				for k, d := range v.Donations {
					b.Donations[k] = d.Status
				}
				got[a] = b
			}
			assert.Equal(t, map[dashboard.ViewID]board{
				"alice": {Balance: 10000 - 1000 + 2000 + 500,
					Campaigns: map[string]campaignView{"c1": {"Alice's node", 50000, 2500}},
					Donations: map[string]string{"c2/k1": "confirmed"}},
				"bob": {Balance: 10000 - 2000 + 1000 + 700,
					Campaigns: map[string]campaignView{"c2": {"Bob's node", 70000, 1700}},
					Donations: map[string]string{"c1/k1": "confirmed"}},
				"carol": {Balance: 10000 - 500 - 700,
					Campaigns: map[string]campaignView{},
					Donations: map[string]string{"c1/k2": "confirmed", "c2/k2": "confirmed"}},
				"dave": {Balance: 0,
					Campaigns: map[string]campaignView{},
					Donations: map[string]string{"c1/k3": "failed"}},
			}, got)
			assert.Equal(t, int64(30000), sum(e.balances(t)), "money is conserved")
		})
	}
}

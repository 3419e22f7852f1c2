package crowdfunding_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/dddkit/ddd/examples/crowdfunding"
	"github.com/dddkit/ddd/examples/crowdfunding/accounting"
	"github.com/dddkit/ddd/examples/crowdfunding/campaigns"
	"github.com/dddkit/ddd/examples/crowdfunding/dashboard"
	"github.com/dddkit/ddd/examples/crowdfunding/payouts"
	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/memuow"
)

// The chaos test's timing, all on the fake clock but PayWait. A failed message waits at most
// chaosMaxBackoff plus a fifth of jitter, so every clock move (chaosTick or more) makes every
// failed message due, and none is due before the clock moves: a run is deterministic per seed
// whatever the relay's jitter.
const (
	chaosMinBackoff     = 10 * time.Millisecond
	chaosMaxBackoff     = 40 * time.Millisecond
	chaosTick           = 50 * time.Millisecond
	chaosPaymentTimeout = time.Second
	chaosPayWait        = 2 * time.Millisecond // real time: how long a hanging provider makes the worker wait
)

var (
	chaosUSD        = money.MustLookup("USD")
	errChaosNetwork = errors.New("chaos: the broker is unreachable")
	errChaosCrash   = errors.New("chaos: delivered, but the relay crashed before its ack")
	errChaosFault   = errors.New("chaos: the handler's database went away")
)

// usdOf is n whole US dollars.
func usdOf(n int64) money.Money {
	m, err := money.FromMinorUnits(n*100, chaosUSD)
	if err != nil {
		panic(err)
	}
	return m
}

// cents is m in minor units (the zero Money is 0).
func cents(t require.TestingT, m money.Money) int64 {
	n, err := m.MinorUnits()
	require.NoError(t, err)
	return n
}

// chaosNet wraps the bus the relays publish to with a network whose every publication is drawn
// by rapid: delivered, lost before delivery (the relay retries it after its backoff), delivered
// and then lost on the way back (the relay crashed before acking: it publishes again),
// delivered twice (the same message ID), or accepted and held to be delivered later, after
// messages published since (reordering). It runs in the test's goroutine: relays step there.
type chaosNet struct {
	t    *rapid.T
	bus  *outbox.Bus
	on   bool
	held []uow.Message
	chaosStats
}

// chaosStats counts what the chaos did to the messages, and the outcomes it led to.
type chaosStats struct {
	Lost, Crashed, Duplicated, Held, Faults int
	Outcomes                                map[string]int
}

func (s *chaosStats) add(o chaosStats, outcomes map[string]int) {
	s.Lost += o.Lost
	s.Crashed += o.Crashed
	s.Duplicated += o.Duplicated
	s.Held += o.Held
	s.Faults += o.Faults
	if s.Outcomes == nil {
		s.Outcomes = map[string]int{}
	}
	for k, n := range outcomes {
		s.Outcomes[k] += n
	}
}

func (c *chaosNet) Publish(ctx context.Context, msgs []uow.Message) error {
	if !c.on {
		return c.bus.Publish(ctx, msgs)
	}
	// 0-2 deliver (what shrinking goes for), the rest is chaos.
	switch rapid.IntRange(0, 7).Draw(c.t, "net") {
	case 3: // reordering: some messages are accepted now and delivered later
		for _, m := range msgs {
			if rapid.Bool().Draw(c.t, "hold") {
				c.held = append(c.held, m)
				c.Held++
				continue
			}
			if err := c.bus.Publish(ctx, []uow.Message{m}); err != nil {
				return err
			}
		}
		return nil
	case 4, 5: // a delay: nothing delivered, the relay retries after its backoff
		c.Lost++
		return errChaosNetwork
	case 6: // a crash between delivery and ack: the consumers' inboxes absorb the retry
		if err := c.bus.Publish(ctx, msgs); err != nil {
			return err
		}
		c.Crashed++
		return errChaosCrash
	case 7: // a duplicate: the same message IDs twice
		if err := c.bus.Publish(ctx, msgs); err != nil {
			return err
		}
		c.Duplicated++
		return c.bus.Publish(ctx, msgs)
	default:
		return c.bus.Publish(ctx, msgs)
	}
}

// deliverHeld delivers the held message at i; one whose delivery fails (a handler error) is
// held again, at the end: the broker redelivers it.
func (c *chaosNet) deliverHeld(ctx context.Context, i int) {
	m := c.held[i]
	c.held = slices.Delete(c.held, i, i+1)
	if err := c.bus.Publish(ctx, []uow.Message{m}); err != nil {
		c.held = append(c.held, m)
	}
}

// flush delivers every held message once, in order.
func (c *chaosNet) flush(ctx context.Context) {
	for range len(c.held) {
		c.deliverHeld(ctx, 0)
	}
}

// chaosModel is what the scenario asked for, to check the system against once it is quiet.
type chaosModel struct {
	accounts    []string                        // opened accounts
	deposits    map[string]depositRec           // by key
	campaigns   map[campaigns.CampaignID]string // campaign -> owner
	donations   map[donationRef]donationRec
	withdrawals map[string]withdrawalRec // by ID
}

type depositRec struct {
	to    string
	cents int64
}

type donationRef struct {
	campaign campaigns.CampaignID
	key      string
}

type donationRec struct {
	donor string
	cents int64
}

type withdrawalRec struct {
	account   string
	cents     int64
	behaviour payouts.Behaviour
}

// chaosGhost has no account: donations from it and to its campaigns bounce, its withdrawals are
// rejected.
const chaosGhost = "ghost"

// TestChaos runs random deposits, campaigns, donations and withdrawals against the four
// contexts while the network loses, duplicates, delays and reorders their messages and
// handlers' commits fail, then quiets the system and checks that money is conserved, every
// donation counts once, every withdrawal ends paid, refunded or rejected, and the dashboard
// agrees.
func TestChaos(t *testing.T) {
	var total chaosStats
	defer func() { t.Logf("over all runs: %+v", total) }()
	rapid.Check(t, func(t *rapid.T) {
		ctx := context.Background()
		clock := memuow.NewClock(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC))
		provider := payouts.NewFakeProvider()
		mem := [4]*memuow.Driver{memuow.New(nil), memuow.New(nil), memuow.New(nil), memuow.New(nil)}
		net := &chaosNet{t: t}
		batch := rapid.SampledFrom([]int{1, 2, 100}).Draw(t, "batch")
		sys, err := crowdfunding.New(crowdfunding.Drivers{Accounting: mem[0], Campaigns: mem[1], Payouts: mem[2], Dashboard: mem[3]},
			provider, &crowdfunding.Options{
				Clock: clock,
				Publisher: func(b *outbox.Bus) outbox.Publisher {
					net.bus = b
					return net
				},
				Payouts: &payouts.Options{PaymentTimeout: chaosPaymentTimeout, PayWait: chaosPayWait},
				Relay: &outbox.RelayOptions{BatchSize: batch, MinBackoff: chaosMinBackoff, MaxBackoff: chaosMaxBackoff,
					MaxAttempts: 1_000_000, Logger: slog.New(slog.DiscardHandler)},
			})
		require.NoError(t, err)
		m := &chaosModel{deposits: map[string]depositRec{}, campaigns: map[campaigns.CampaignID]string{},
			donations: map[donationRef]donationRec{}, withdrawals: map[string]withdrawalRec{}}
		var (
			depositKeys, withdrawalIDs []string
			donationKeys               []donationRef
		)

		deposit := func(to string, amount int64) {
			k := fmt.Sprintf("d%d", len(depositKeys))
			require.NoError(t, accounting.Deposit(ctx, sys.Accounting, k, accounting.AccountID(to), usdOf(amount)))
			depositKeys = append(depositKeys, k)
			m.deposits[k] = depositRec{to: to, cents: amount * 100}
		}
		create := func(owner string) {
			id := campaigns.CampaignID(fmt.Sprintf("c%d", len(m.campaigns)))
			require.NoError(t, campaigns.Create(ctx, sys.Campaigns, id, owner, fmt.Sprintf("Campaign %s", id), usdOf(500)))
			m.campaigns[id] = owner
		}

		// A few accounts with some money, a few campaigns (chaosGhost's campaigns raise nothing).
		for i := range rapid.IntRange(2, 4).Draw(t, "accounts") {
			id := fmt.Sprintf("a%d", i)
			require.NoError(t, accounting.OpenAccount(ctx, sys.Accounting, accounting.AccountID(id), id, chaosUSD))
			m.accounts = append(m.accounts, id)
			deposit(id, 20+rapid.Int64Range(0, 180).Draw(t, "initial deposit"))
		}
		people := append(slices.Clone(m.accounts), chaosGhost)
		for range rapid.IntRange(1, 3).Draw(t, "campaigns") {
			create(rapid.SampledFrom(people).Draw(t, "owner"))
		}

		// Handler-side failures: a consumer's commit fails before it stores anything, or after
		// it stored everything (the handler never heard). Only consumers' commits (with an
		// inbox mark) take them, never the scenario's own commands, and only while armed.
		faultsArmed := true
		handlerCommit := func(c *driver.Changes) bool { return faultsArmed && len(c.Inbox) > 0 }

		actions := map[string]func(){
			"step": func() { // one relay batch of every context
				net.on = true
				_, err := sys.Step(ctx)
				require.NoError(t, err)
			},
			"drain": func() { // relay until nothing is due
				net.on = true
				require.NoError(t, sys.Drain(ctx))
			},
			"advance": func() { // time passes: failed messages come due, perhaps payment timeouts
				clock.Advance(rapid.SampledFrom([]time.Duration{chaosTick, 10 * chaosTick, chaosPaymentTimeout + chaosTick}).Draw(t, "advance"))
			},
			"deliver held": func() { // a held message arrives, after the ones published since
				if len(net.held) > 0 {
					net.deliverHeld(ctx, rapid.IntRange(0, len(net.held)-1).Draw(t, "held"))
				}
			},
			"fault": func() { // a consumer's commit will fail
				i := rapid.IntRange(0, 3).Draw(t, "fault in")
				mem[i].InjectFault(memuow.Fault{After: rapid.Bool().Draw(t, "after commit"), Err: errChaosFault, Match: handlerCommit})
				net.Faults++
			},
			"deposit": func() {
				deposit(rapid.SampledFrom(m.accounts).Draw(t, "deposit to"), rapid.Int64Range(1, 100).Draw(t, "deposit"))
			},
			"replay deposit": func() { // the same key again: nothing, or refused for another amount
				k := rapid.SampledFrom(depositKeys).Draw(t, "deposit key")
				d := m.deposits[k]
				amount, other := d.cents/100, rapid.Bool().Draw(t, "other amount")
				if other {
					amount++
				}
				err := accounting.Deposit(ctx, sys.Accounting, k, accounting.AccountID(d.to), usdOf(amount))
				if other {
					require.ErrorIs(t, err, accounting.ErrKeyReused)
				} else {
					require.NoError(t, err)
				}
			},
			"campaign": func() {
				if len(m.campaigns) < 4 {
					create(rapid.SampledFrom(people).Draw(t, "owner"))
				}
			},
			"donate": func() { // a new pledge, a retried one, or a key reused
				var (
					dk     donationRef
					donor  string
					amount int64
				)
				if len(donationKeys) > 0 && rapid.IntRange(0, 4).Draw(t, "retry pledge") == 0 {
					dk = rapid.SampledFrom(donationKeys).Draw(t, "retried")
					d := m.donations[dk]
					donor, amount = d.donor, d.cents/100
				} else {
					dk = donationRef{
						campaign: campaigns.CampaignID(fmt.Sprintf("c%d", rapid.IntRange(0, len(m.campaigns)-1).Draw(t, "campaign"))),
						key:      fmt.Sprintf("k%d", rapid.IntRange(0, 3).Draw(t, "key")),
					}
					donor = rapid.SampledFrom(people).Draw(t, "donor")
					amount = rapid.Int64Range(1, 60).Draw(t, "amount")
				}
				err := campaigns.Donate(ctx, sys.Campaigns, dk.campaign, dk.key, donor, usdOf(amount))
				if d, ok := m.donations[dk]; ok {
					if d.donor == donor && d.cents == amount*100 {
						require.NoError(t, err, "a retried pledge")
					} else {
						require.ErrorIs(t, err, campaigns.ErrDuplicateKey)
					}
				} else if donor == m.campaigns[dk.campaign] {
					require.ErrorIs(t, err, campaigns.ErrOwnCampaign)
				} else {
					require.NoError(t, err)
					m.donations[dk] = donationRec{donor: donor, cents: amount * 100}
					donationKeys = append(donationKeys, dk)
				}
			},
			"withdraw": func() {
				id := fmt.Sprintf("w%d", len(withdrawalIDs))
				w := withdrawalRec{
					account: rapid.SampledFrom(people).Draw(t, "withdraw from"),
					cents:   rapid.Int64Range(1, 60).Draw(t, "withdraw") * 100,
					behaviour: rapid.SampledFrom([]payouts.Behaviour{payouts.Pays, payouts.Declines, payouts.Hangs,
						payouts.PaysSilently}).Draw(t, "provider"),
				}
				provider.Set(id, w.behaviour)
				require.NoError(t, payouts.Request(ctx, sys.Payouts, id, w.account, "lnbc1"+id, usdOf(w.cents/100)))
				m.withdrawals[id] = w
				withdrawalIDs = append(withdrawalIDs, id)
			},
			"repeat request": func() { // the same withdrawal asked for again: no second one
				id := rapid.SampledFrom(withdrawalIDs).Draw(t, "repeated")
				w := m.withdrawals[id]
				require.NoError(t, payouts.Request(ctx, sys.Payouts, id, w.account, "lnbc1"+id, usdOf(w.cents/100)))
			},
		}
		// The weights: rapid favours the first entries, and shrinks towards them.
		weighted := []string{"step", "donate", "step", "donate", "withdraw", "advance", "drain", "deliver held",
			"donate", "step", "withdraw", "fault", "deposit", "advance", "step", "replay deposit", "campaign",
			"repeat request"}
		for range rapid.IntRange(10, 80).Draw(t, "ops") {
			a := rapid.SampledFrom(weighted).Draw(t, "action")
			switch {
			case a == "replay deposit" && len(depositKeys) == 0, a == "repeat request" && len(withdrawalIDs) == 0:
				continue
			}
			actions[a]()
		}

		// Quiet: a reliable network again, no more faults; deliver what is held, let the
		// clock pass every backoff and the payment timeout, relay, until nothing is due,
		// held or left in an outbox.
		net.on, faultsArmed = false, false
		for round := 0; ; round++ {
			net.flush(ctx)
			require.NoError(t, sys.Drain(ctx))
			empty := len(net.held) == 0
			for _, d := range mem {
				empty = empty && len(d.Messages()) == 0
			}
			if empty {
				break
			}
			require.Less(t, round, 100, "the system does not quiet down: %d held, outboxes %d %d %d %d",
				len(net.held), len(mem[0].Messages()), len(mem[1].Messages()), len(mem[2].Messages()), len(mem[3].Messages()))
			clock.Advance(chaosPaymentTimeout + chaosTick)
		}
		t.Logf("chaos: %+v", net.chaosStats)
		outcomes := checkQuiet(t, ctx, sys, provider, m)
		total.add(net.chaosStats, outcomes)
	})
}

// checkQuiet checks a quiet system against what the scenario asked for, and counts the
// donations' and withdrawals' outcomes.
func checkQuiet(t require.TestingT, ctx context.Context, sys *crowdfunding.System, provider *payouts.FakeProvider, m *chaosModel) map[string]int {
	outcomes := map[string]int{}
	// Accounting: balances, and the ledger they come from.
	accs, err := accounting.Accounts(ctx, sys.Accounting)
	require.NoError(t, err)
	balances := map[accounting.AccountID]int64{}
	for _, a := range accs {
		balances[a.ID()] = cents(t, a.Balance)
		require.GreaterOrEqual(t, balances[a.ID()], int64(0), "account %s", a.ID())
	}
	require.Len(t, balances, len(m.accounts))
	ops, err := accounting.Operations(ctx, sys.Accounting)
	require.NoError(t, err)
	opsByKey := map[accounting.OperationKey]*accounting.Operation{}
	fromLedger := map[accounting.AccountID]int64{}
	for _, o := range ops {
		opsByKey[o.ID()] = o
		c := cents(t, o.Amount)
		if o.Debit != "" {
			fromLedger[o.Debit] -= c
		}
		if o.Credit != "" {
			fromLedger[o.Credit] += c
		}
	}
	for _, a := range m.accounts {
		id := accounting.AccountID(a)
		require.Equal(t, fromLedger[id], balances[id], "account %s: balance and ledger disagree", a)
	}
	// op returns the operation with the given key, nil if there is none, and notes that the
	// scenario accounts for that key: the ledger may hold no other.
	accounted := map[accounting.OperationKey]bool{}
	op := func(format string, args ...any) *accounting.Operation {
		k := accounting.OperationKey(fmt.Sprintf(format, args...))
		accounted[k] = true
		return opsByKey[k]
	}

	// Deposits: each once.
	var deposited int64
	for k, d := range m.deposits {
		o := op("deposit/%s", k)
		require.NotNil(t, o, "deposit %s", k)
		require.Equal(t, accounting.KindDeposit, o.Kind)
		require.Equal(t, accounting.AccountID(d.to), o.Credit)
		require.Equal(t, d.cents, cents(t, o.Amount))
		deposited += d.cents
	}

	// Money is conserved: what is in the accounts and what the provider paid out is what came
	// in.
	var held, paidOut int64
	for _, b := range balances {
		held += b
	}
	paid := provider.Paid()
	for _, p := range paid {
		paidOut += cents(t, p)
	}
	require.Equal(t, deposited, held+paidOut, "money is not conserved: %d deposited, %d in accounts, %d paid out",
		deposited, held, paidOut)

	// Campaigns: every donation settled, counted once in its campaign and once in accounting.
	cs, err := campaigns.Campaigns(ctx, sys.Campaigns)
	require.NoError(t, err)
	require.Len(t, cs, len(m.campaigns))
	byCampaign := map[campaigns.CampaignID]*campaigns.Campaign{}
	for _, c := range cs {
		id := c.ID()
		byCampaign[id] = c
		require.Equal(t, m.campaigns[id], c.Owner, "campaign %s", id)
		var confirmed, transferred int64
		for key, d := range c.Donations {
			want, ok := m.donations[donationRef{id, key}]
			require.True(t, ok, "campaign %s has a donation %s nobody made", id, key)
			require.Equal(t, want.donor, d.Donor)
			require.Equal(t, want.cents, cents(t, d.Amount))
			o := op("donation/%s/%s", id, key)
			outcomes["donation "+string(d.Status)]++
			switch d.Status {
			case campaigns.Confirmed:
				confirmed += want.cents
				require.NotNil(t, o, "confirmed donation %s/%s has no transfer", id, key)
				require.Equal(t, accounting.KindTransfer, o.Kind)
				require.Equal(t, accounting.AccountID(want.donor), o.Debit)
				require.Equal(t, accounting.AccountID(c.Owner), o.Credit)
				require.Equal(t, want.cents, cents(t, o.Amount))
			case campaigns.Failed:
				require.Nil(t, o, "failed donation %s/%s was transferred", id, key)
				require.NotEmpty(t, d.Reason, "failed donation %s/%s says no why", id, key)
			default:
				require.Failf(t, "unsettled donation", "%s/%s is %s on a quiet system", id, key, d.Status)
			}
			if want.donor == chaosGhost || c.Owner == chaosGhost {
				require.Equal(t, campaigns.Failed, d.Status, "donation %s/%s has no account on one side", id, key)
			}
		}
		for _, o := range ops {
			if o.Kind == accounting.KindTransfer && campaigns.CampaignID(o.Ref.Campaign) == id {
				transferred += cents(t, o.Amount)
			}
		}
		require.Equal(t, confirmed, cents(t, c.Raised), "campaign %s: raised is not its confirmed donations", id)
		require.Equal(t, transferred, cents(t, c.Raised), "campaign %s: raised is not its transfers", id)
	}
	for dk := range m.donations {
		require.Contains(t, byCampaign[dk.campaign].Donations, dk.key, "donation %v was lost", dk)
	}

	// Withdrawals: paid, refunded or rejected; never debited and lost.
	infos, err := sys.Withdrawals.Manager.List(ctx, "")
	require.NoError(t, err)
	require.Len(t, infos, len(m.withdrawals))
	states := map[string]string{}
	for _, info := range infos {
		w, ok := m.withdrawals[info.Key]
		require.True(t, ok, "a withdrawal %s nobody asked for", info.Key)
		states[info.Key] = string(info.State)
		require.True(t, info.Status.Terminal(), "withdrawal %s is %s/%s on a quiet system", info.Key, info.State, info.Status)
		debit, refund := op("withdrawal/%s", info.Key), op("refund/%s", info.Key)
		p, wasPaid := paid[info.Key]
		outcomes["withdrawal "+string(info.State)]++
		switch info.State {
		case payouts.Paid:
			require.True(t, wasPaid, "withdrawal %s is paid but the provider paid nothing", info.Key)
			require.Equal(t, w.cents, cents(t, p))
			require.NotNil(t, debit, "withdrawal %s was paid without a debit", info.Key)
			require.Nil(t, refund, "withdrawal %s was paid and refunded", info.Key)
		case payouts.Refunded:
			require.False(t, wasPaid, "withdrawal %s was refunded but the provider paid it", info.Key)
			require.NotNil(t, debit, "withdrawal %s was refunded without a debit", info.Key)
			require.NotNil(t, refund, "withdrawal %s is refunded without a refund", info.Key)
		case payouts.Rejected:
			require.False(t, wasPaid, "withdrawal %s was rejected but the provider paid it", info.Key)
			require.Nil(t, debit, "withdrawal %s was rejected after a debit", info.Key)
			require.Nil(t, refund, "withdrawal %s was rejected and refunded", info.Key)
		default:
			require.Failf(t, "withdrawal in a wrong state", "%s is %s", info.Key, info.State)
		}
		if debit != nil {
			require.Equal(t, accounting.AccountID(w.account), debit.Debit)
			require.Equal(t, w.cents, cents(t, debit.Amount))
		}
		if refund != nil {
			require.Equal(t, accounting.AccountID(w.account), refund.Credit)
			require.Equal(t, w.cents, cents(t, refund.Amount))
		}
		if w.behaviour == payouts.Declines || w.behaviour == payouts.Hangs {
			require.NotEqual(t, payouts.Paid, info.State, "withdrawal %s: the provider never pays it", info.Key)
		}
		if w.account == chaosGhost {
			require.Equal(t, payouts.Rejected, info.State, "withdrawal %s from no account", info.Key)
		}
	}
	for k := range paid {
		require.Equal(t, string(payouts.Paid), states[k], "the provider paid %s", k)
	}

	// The ledger holds nothing else: every operation is one of the deposits, confirmed
	// donations, withdrawals' debits and refunds checked above.
	for k := range opsByKey {
		require.True(t, accounted[k], "operation %s nobody asked for", k)
	}

	// The dashboard agrees, view by view, and no view shows another account's things.
	for _, who := range append(slices.Clone(m.accounts), chaosGhost) {
		v, err := dashboard.Get(ctx, sys.Dashboard, dashboard.ViewID(who))
		require.NoError(t, err)
		require.Equal(t, balances[accounting.AccountID(who)], cents(t, v.Balance), "dashboard of %s: balance", who)
		owned := map[campaigns.CampaignID]int64{}
		for _, c := range cs {
			if c.Owner == who {
				owned[c.ID()] = cents(t, c.Raised)
			}
		}
		shown := map[campaigns.CampaignID]int64{}
		for id, c := range v.Campaigns {
			require.Equal(t, "Campaign "+id, c.Title, "dashboard of %s: the title of %s", who, id)
			require.Equal(t, int64(50000), cents(t, c.Goal), "dashboard of %s: the goal of %s", who, id)
			shown[campaigns.CampaignID(id)] = cents(t, c.Raised)
		}
		require.Equal(t, owned, shown, "dashboard of %s: campaigns and their totals", who)
		type status struct{ Status, Reason string }
		made, shownD := map[string]status{}, map[string]status{}
		for _, c := range cs {
			for key, d := range c.Donations {
				if d.Donor == who {
					made[fmt.Sprintf("%s/%s", c.ID(), key)] = status{string(d.Status), d.Reason}
				}
			}
		}
		for k, d := range v.Donations {
			shownD[k] = status{d.Status, d.Reason}
		}
		require.Equal(t, made, shownD, "dashboard of %s: donations", who)
		ws, shownW := map[string]string{}, map[string]string{}
		for id, w := range m.withdrawals {
			if w.account == who {
				ws[id] = states[id]
			}
		}
		for id, w := range v.Withdrawals {
			shownW[id] = w.Status
		}
		require.Equal(t, ws, shownW, "dashboard of %s: withdrawals", who)
	}
	return outcomes
}

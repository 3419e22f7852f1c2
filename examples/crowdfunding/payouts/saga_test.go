package payouts_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/examples/crowdfunding/payouts"
	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/saga"
	"github.com/dddkit/ddd/saga/sagatest"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
)

const timeout = time.Minute

func usd(t testing.TB, s string) money.Money {
	t.Helper()
	m, err := money.FromString(s, money.MustLookup("USD"))
	require.NoError(t, err)
	return m
}

// withdrawal is w1: bob withdraws 10.00 USD to his lightning wallet.
func withdrawal(t testing.TB) payouts.Withdrawal {
	return payouts.Withdrawal{Withdrawal: "w1", Account: "bob", Destination: "lnbc1bob", Amount: usd(t, "10.00")}
}

// fixture runs the withdrawal saga with a payment timeout of a minute.
func fixture(t *testing.T) *sagatest.Fixture[payouts.Withdrawal] {
	t.Helper()
	def, err := payouts.Define(timeout)
	require.NoError(t, err)
	return sagatest.New(t, def, nil)
}

// The messages of w1, as its partners send them: the request, accounting's answers (as the
// payouts edge translates them: the withdrawal's ID and a reason) and the worker's outcomes.
func requested(t *testing.T, f *sagatest.Fixture[payouts.Withdrawal]) uow.Message {
	return f.Message(payouts.WithdrawalRequested, withdrawal(t))
}

func answer(f *sagatest.Fixture[payouts.Withdrawal], name, reason string) uow.Message {
	return f.Message(name, payouts.Withdrawal{Withdrawal: "w1", Reason: reason})
}

func outcome(t *testing.T, f *sagatest.Fixture[payouts.Withdrawal], name, reason string) uow.Message {
	w := withdrawal(t)
	w.Reason = reason
	return f.Message(name, w)
}

// last returns the last message the saga sent named name, failing the test without one.
func last(t *testing.T, f *sagatest.Fixture[payouts.Withdrawal], name string) uow.Message {
	t.Helper()
	sent := f.Sent()
	for i := len(sent) - 1; i >= 0; i-- {
		if sent[i].Name == name {
			return sent[i]
		}
	}
	require.Failf(t, "not sent", "the saga sent no %s", name)
	return uow.Message{}
}

func decode(t *testing.T, m uow.Message) payouts.Withdrawal {
	t.Helper()
	var w payouts.Withdrawal
	require.NoError(t, m.Decode(&w), m.Name)
	return w
}

func names(msgs []uow.Message) []string {
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, m.Name)
	}
	return out
}

// sameWithdrawal checks that a payload carries w1's data (its reason aside).
func sameWithdrawal(t *testing.T, want, got payouts.Withdrawal) {
	t.Helper()
	assert.Equal(t, want.Withdrawal, got.Withdrawal)
	assert.Equal(t, want.Account, got.Account)
	assert.Equal(t, want.Destination, got.Destination)
	assert.True(t, want.Amount.Equal(got.Amount), "amount %s, want %s", got.Amount, want.Amount)
}

func TestDefine(t *testing.T) {
	def, err := payouts.Define(timeout)
	require.NoError(t, err)
	assert.Equal(t, "withdrawal", def.Name())
	assert.ElementsMatch(t, []saga.State{payouts.New, payouts.Debiting, payouts.Paying, payouts.Cancelling,
		payouts.Paid, payouts.Rejected, payouts.Refunded}, def.States())
	assert.Contains(t, def.Mermaid(), "paying --> cancelling : after payment (1m0s)")

	_, err = payouts.Define(0)
	require.ErrorIs(t, err, saga.ErrInvalidDefinition, "a payment timeout must be positive")
}

func TestWithdrawalPaid(t *testing.T) {
	f := fixture(t)
	w := withdrawal(t)

	require.NoError(t, f.When(requested(t, f)))
	f.ThenSent(payouts.WithdrawalStarted, payouts.DebitRequested)
	f.ThenState("w1", payouts.Debiting, saga.Running)
	debit := last(t, f, payouts.DebitRequested)
	assert.Equal(t, payouts.AccountingCommands, debit.Topic)
	sameWithdrawal(t, w, decode(t, debit))

	require.NoError(t, f.When(answer(f, payouts.Debited, "")))
	f.ThenSent(payouts.PayRequested)
	f.ThenState("w1", payouts.Paying, saga.Running)
	pay := last(t, f, payouts.PayRequested)
	assert.Equal(t, payouts.Topic, pay.Topic)
	assert.Equal(t, "payouts.PayRequested/w1", pay.Key, "a key of its own: a hanging payment holds back nothing else")
	sameWithdrawal(t, w, decode(t, pay))
	info := f.Instance("w1")
	assert.Equal(t, []string{"payment"}, info.Timeouts)
	require.Len(t, info.Compensations, 1)
	assert.Equal(t, "refund", info.Compensations[0].Name, "once debited, a refund is owed if the payout fails")

	require.NoError(t, f.When(outcome(t, f, payouts.PaymentSucceeded, "")))
	f.ThenSent(payouts.WithdrawalPaid)
	f.ThenState("w1", payouts.Paid, saga.Completed)
	paid := last(t, f, payouts.WithdrawalPaid)
	assert.Equal(t, payouts.Topic, paid.Topic)
	sameWithdrawal(t, w, decode(t, paid))

	f.AdvanceTime(2 * timeout)
	f.ThenSent() // the payment timeout never fires into a finished saga
	f.ThenState("w1", payouts.Paid, saga.Completed)
	assert.NotContains(t, names(f.Sent()), payouts.RefundRequested)
	assert.False(t, f.Instance("w1").Compensations[0].Done, "the refund never ran")
}

func TestWithdrawalRejected(t *testing.T) {
	f := fixture(t)
	f.Given(requested(t, f))

	require.NoError(t, f.When(answer(f, payouts.DebitRejected, "insufficient funds")))
	f.ThenSent(payouts.WithdrawalRejected)
	f.ThenState("w1", payouts.Rejected, saga.Failed)
	rejected := decode(t, last(t, f, payouts.WithdrawalRejected))
	sameWithdrawal(t, withdrawal(t), rejected)
	assert.Equal(t, "insufficient funds", rejected.Reason, "the account owner is told why")
	assert.Empty(t, f.Instance("w1").Compensations, "never debited: nothing to refund")

	f.AdvanceTime(2 * timeout)
	f.ThenSent()
	assert.NotContains(t, names(f.Sent()), payouts.PayRequested)
	assert.NotContains(t, names(f.Sent()), payouts.RefundRequested)
}

func TestPaymentDeclined(t *testing.T) {
	f := fixture(t)
	f.Given(requested(t, f), answer(f, payouts.Debited, ""))

	require.NoError(t, f.When(outcome(t, f, payouts.PaymentFailed, "payouts: payment declined")))
	f.ThenSent(payouts.WithdrawalRefunded, payouts.RefundRequested)
	f.ThenState("w1", payouts.Refunded, saga.Compensated)
	refunded := decode(t, last(t, f, payouts.WithdrawalRefunded))
	assert.Equal(t, "payouts: payment declined", refunded.Reason)
	refund := last(t, f, payouts.RefundRequested)
	assert.Equal(t, payouts.AccountingCommands, refund.Topic)
	sameWithdrawal(t, withdrawal(t), decode(t, refund))
	info := f.Instance("w1")
	require.Len(t, info.Compensations, 1)
	assert.True(t, info.Compensations[0].Done)

	f.AdvanceTime(2 * timeout)
	f.ThenSent() // no cancellation of a payment that failed, no second refund
}

func TestPaymentTimeout(t *testing.T) {
	// start leaves w1 paying with a provider that did not answer for the whole payment timeout.
	start := func(t *testing.T) *sagatest.Fixture[payouts.Withdrawal] {
		f := fixture(t)
		f.Given(requested(t, f), answer(f, payouts.Debited, ""))
		f.AdvanceTime(timeout - time.Second)
		f.ThenSent()
		f.ThenState("w1", payouts.Paying, saga.Running)
		f.AdvanceTime(time.Second)
		f.ThenSent(payouts.CancelRequested)
		f.ThenState("w1", payouts.Cancelling, saga.Running)
		cancel := last(t, f, payouts.CancelRequested)
		assert.Equal(t, payouts.Topic, cancel.Topic)
		assert.Equal(t, "payouts.CancelRequested/w1", cancel.Key, "not behind the hanging PayRequested")
		sameWithdrawal(t, withdrawal(t), decode(t, cancel))
		return f
	}

	t.Run("cancelled", func(t *testing.T) {
		f := start(t)
		require.NoError(t, f.When(outcome(t, f, payouts.PaymentFailed, "cancelled")))
		f.ThenSent(payouts.WithdrawalRefunded, payouts.RefundRequested)
		f.ThenState("w1", payouts.Refunded, saga.Compensated)
		sameWithdrawal(t, withdrawal(t), decode(t, last(t, f, payouts.RefundRequested)))
	})

	t.Run("paid silently", func(t *testing.T) {
		// The provider had paid but its answer was lost: the cancellation finds the payment
		// made, and the money stays out.
		f := start(t)
		require.NoError(t, f.When(outcome(t, f, payouts.PaymentSucceeded, "")))
		f.ThenSent(payouts.WithdrawalPaid)
		f.ThenState("w1", payouts.Paid, saga.Completed)
		assert.NotContains(t, names(f.Sent()), payouts.RefundRequested)
	})

	t.Run("answer before the timeout", func(t *testing.T) {
		f := fixture(t)
		f.Given(requested(t, f), answer(f, payouts.Debited, ""))
		f.AdvanceTime(timeout / 2)
		require.NoError(t, f.When(outcome(t, f, payouts.PaymentSucceeded, "")))
		f.ThenSent(payouts.WithdrawalPaid)
		f.AdvanceTime(timeout)
		f.ThenSent() // the timeout is ignored: no CancelRequested
		f.ThenState("w1", payouts.Paid, saga.Completed)
	})
}

func TestLateNews(t *testing.T) {
	t.Run("succeeded after refunded", func(t *testing.T) {
		f := fixture(t)
		f.Given(requested(t, f), answer(f, payouts.Debited, ""), outcome(t, f, payouts.PaymentFailed, "declined"))
		before := f.Instance("w1")
		require.NoError(t, f.When(outcome(t, f, payouts.PaymentSucceeded, "")))
		f.ThenSent()
		after := f.Instance("w1")
		assert.Equal(t, payouts.Refunded, after.State)
		assert.Equal(t, before.Version, after.Version)
		assert.Equal(t, before.Transitions, after.Transitions)
	})

	t.Run("debited after rejected", func(t *testing.T) {
		f := fixture(t)
		f.Given(requested(t, f), answer(f, payouts.DebitRejected, "insufficient funds"))
		require.NoError(t, f.When(answer(f, payouts.Debited, "")))
		f.ThenSent()
		f.ThenState("w1", payouts.Rejected, saga.Failed)
	})

	t.Run("outcome before the debit", func(t *testing.T) {
		// A payment outcome for a withdrawal that was never debited (nothing pays it then)
		// finds no transition from debiting.
		f := fixture(t)
		f.Given(requested(t, f))
		require.NoError(t, f.When(outcome(t, f, payouts.PaymentSucceeded, "")))
		f.ThenSent()
		f.ThenState("w1", payouts.Debiting, saga.Running)
	})
}

// TestDuplicates delivers every message of each path twice, as the same message (the inbox)
// and as the same news in a new message (no transition from the state it led to): the second
// changes nothing.
func TestDuplicates(t *testing.T) {
	type step struct {
		msg    func(t *testing.T, f *sagatest.Fixture[payouts.Withdrawal]) uow.Message
		state  saga.State
		status saga.Status
	}
	req := func(t *testing.T, f *sagatest.Fixture[payouts.Withdrawal]) uow.Message { return requested(t, f) }
	ans := func(name, reason string) func(*testing.T, *sagatest.Fixture[payouts.Withdrawal]) uow.Message {
		return func(_ *testing.T, f *sagatest.Fixture[payouts.Withdrawal]) uow.Message {
			return answer(f, name, reason)
		}
	}
	out := func(name, reason string) func(*testing.T, *sagatest.Fixture[payouts.Withdrawal]) uow.Message {
		return func(t *testing.T, f *sagatest.Fixture[payouts.Withdrawal]) uow.Message {
			return outcome(t, f, name, reason)
		}
	}
	paths := map[string][]step{
		"paid": {
			{req, payouts.Debiting, saga.Running},
			{ans(payouts.Debited, ""), payouts.Paying, saga.Running},
			{out(payouts.PaymentSucceeded, ""), payouts.Paid, saga.Completed},
		},
		"rejected": {
			{req, payouts.Debiting, saga.Running},
			{ans(payouts.DebitRejected, "insufficient funds"), payouts.Rejected, saga.Failed},
		},
		"refunded": {
			{req, payouts.Debiting, saga.Running},
			{ans(payouts.Debited, ""), payouts.Paying, saga.Running},
			{out(payouts.PaymentFailed, "declined"), payouts.Refunded, saga.Compensated},
		},
	}
	for name, path := range paths {
		t.Run(name, func(t *testing.T) {
			f := fixture(t)
			for _, s := range path {
				m := s.msg(t, f)
				require.NoError(t, f.When(m))
				f.ThenState("w1", s.state, s.status)
				before := f.Instance("w1")
				sent := len(f.Sent())

				require.NoError(t, f.When(m), "redelivered")
				again := m
				again.ID = aggregate.NewID[string]()
				require.NoError(t, f.When(again), "sent again")

				after := f.Instance("w1")
				assert.Len(t, f.Sent(), sent, "%s twice sent nothing more", m.Name)
				assert.Equal(t, before.State, after.State)
				assert.Equal(t, before.Version, after.Version, "%s twice: the instance is unchanged", m.Name)
				assert.Equal(t, before.Transitions, after.Transitions)
			}
			if name == "refunded" {
				refunds := 0
				for _, m := range f.Sent() {
					if m.Name == payouts.RefundRequested {
						refunds++
					}
				}
				assert.Equal(t, 1, refunds, "refunded once")
			}
		})
	}

	t.Run("timeout then cancel outcome twice", func(t *testing.T) {
		f := fixture(t)
		f.Given(requested(t, f), answer(f, payouts.Debited, ""))
		f.AdvanceTime(timeout)
		f.ThenSent(payouts.CancelRequested)
		failed := outcome(t, f, payouts.PaymentFailed, "cancelled")
		require.NoError(t, f.When(failed))
		require.NoError(t, f.When(failed))
		again := failed
		again.ID = aggregate.NewID[string]()
		require.NoError(t, f.When(again))
		f.ThenSent(payouts.WithdrawalRefunded, payouts.RefundRequested)
		f.ThenState("w1", payouts.Refunded, saga.Compensated)
		f.AdvanceTime(2 * timeout)
		f.ThenSent()
	})
}

// worker is the payouts context on a memuow store whose service is a FakeProvider; its outbox
// is read from the driver (no relay runs).
type worker struct {
	ctx      *payouts.Context
	driver   *memuow.Driver
	provider *payouts.FakeProvider
}

func newWorker(t *testing.T) worker {
	t.Helper()
	d := memuow.New(nil)
	p := payouts.NewFakeProvider()
	store := uow.NewStore(d, &uow.Options{Services: []any{p}})
	c, err := payouts.NewContext(store, &payouts.Options{PayWait: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	return worker{ctx: c, driver: d, provider: p}
}

// The worker's commands reach the provider as a service of the store: a store without one, or
// with two, is refused when the context is built, not when the first payment is due.
func TestNewContextChecksTheProvider(t *testing.T) {
	_, err := payouts.NewContext(uow.NewStore(memuow.New(nil), nil), nil)
	require.ErrorIs(t, err, uow.ErrNoService)
	assert.Contains(t, err.Error(), "command payouts.Pay needs payouts.Provider")

	two := uow.NewStore(memuow.New(nil), &uow.Options{Services: []any{payouts.NewFakeProvider(), payouts.NewFakeProvider()}})
	_, err = payouts.NewContext(two, nil)
	require.ErrorIs(t, err, uow.ErrAmbiguousService)
}

// command is the saga's command name for w1, as the relay delivers it.
func command(t *testing.T, name string) uow.Message {
	t.Helper()
	b, err := json.Marshal(withdrawal(t))
	require.NoError(t, err)
	return uow.Message{ID: aggregate.NewID[string](), Topic: payouts.Topic, Key: name + "/w1", Name: name, Payload: b}
}

// emitted returns the worker's messages in its outbox.
func (w worker) emitted() []uow.Message { return w.driver.Messages() }

// only checks that the worker emitted exactly one message, named name, for w1, and returns its
// payload.
func (w worker) only(t *testing.T, name string) payouts.Withdrawal {
	t.Helper()
	msgs := w.emitted()
	require.Len(t, msgs, 1, "%v", names(msgs))
	m := msgs[0]
	assert.Equal(t, name, m.Name)
	assert.Equal(t, payouts.Topic, m.Topic)
	assert.Equal(t, "w1", m.Key, "in the withdrawal's order")
	got := decode(t, m)
	sameWithdrawal(t, withdrawal(t), got)
	return got
}

func TestWork(t *testing.T) {
	ctx := context.Background()

	t.Run("pays", func(t *testing.T) {
		w := newWorker(t)
		pay := command(t, payouts.PayRequested)
		require.NoError(t, w.ctx.Work(ctx, pay))
		w.only(t, payouts.PaymentSucceeded)
		assert.Equal(t, map[string]string{"w1": "10.00 USD"}, paid(w.provider))

		require.NoError(t, w.ctx.Work(ctx, pay), "redelivered")
		assert.Len(t, w.emitted(), 1, "the inbox: one outcome per message")
		assert.Equal(t, 1, w.provider.Calls(), "the inbox mark is read first: a redelivered message pays nothing")
		assert.Len(t, w.provider.Paid(), 1)
	})

	t.Run("declines", func(t *testing.T) {
		w := newWorker(t)
		w.provider.Set("w1", payouts.Declines)
		require.NoError(t, w.ctx.Work(ctx, command(t, payouts.PayRequested)))
		got := w.only(t, payouts.PaymentFailed)
		assert.Contains(t, got.Reason, "payment declined")
		assert.Empty(t, w.provider.Paid())
	})

	t.Run("hangs", func(t *testing.T) {
		w := newWorker(t)
		w.provider.Set("w1", payouts.Hangs)
		start := time.Now()
		err := w.ctx.Work(ctx, command(t, payouts.PayRequested))
		require.Error(t, err, "an unknown outcome: the relay redelivers")
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Less(t, time.Since(start), 2*time.Second, "bounded by PayWait")
		assert.Empty(t, w.emitted(), "no outcome reported")
		assert.Empty(t, w.provider.Paid())
	})

	t.Run("pays silently, then cancelled", func(t *testing.T) {
		w := newWorker(t)
		w.provider.Set("w1", payouts.PaysSilently)
		require.Error(t, w.ctx.Work(ctx, command(t, payouts.PayRequested)))
		assert.Empty(t, w.emitted())
		assert.Equal(t, map[string]string{"w1": "10.00 USD"}, paid(w.provider), "paid, but nobody heard")

		require.NoError(t, w.ctx.Work(ctx, command(t, payouts.CancelRequested)))
		w.only(t, payouts.PaymentSucceeded) // too late to cancel: it was paid, no refund
	})

	t.Run("hangs, then cancelled", func(t *testing.T) {
		w := newWorker(t)
		w.provider.Set("w1", payouts.Hangs)
		pay := command(t, payouts.PayRequested)
		require.Error(t, w.ctx.Work(ctx, pay))

		require.NoError(t, w.ctx.Work(ctx, command(t, payouts.CancelRequested)))
		got := w.only(t, payouts.PaymentFailed)
		assert.Contains(t, got.Reason, "cancelled")

		// The provider comes back and the relay redelivers the payment: it is declined, so
		// the refund the saga made is never paid out as well.
		w.provider.Set("w1", payouts.Pays)
		require.NoError(t, w.ctx.Work(ctx, pay))
		msgs := w.emitted()
		require.Len(t, msgs, 2)
		assert.Equal(t, payouts.PaymentFailed, msgs[1].Name)
		assert.Contains(t, decode(t, msgs[1]).Reason, "was cancelled")
		assert.Empty(t, w.provider.Paid())
		require.ErrorIs(t, w.provider.Pay(ctx, "w1", "lnbc1bob", usd(t, "10.00")), payouts.ErrDeclined)
	})

	t.Run("other messages", func(t *testing.T) {
		w := newWorker(t)
		for _, name := range []string{payouts.WithdrawalRequested, payouts.PaymentSucceeded, payouts.WithdrawalPaid} {
			require.NoError(t, w.ctx.Work(ctx, command(t, name)))
		}
		assert.Empty(t, w.emitted())
		assert.Zero(t, w.provider.Calls())
	})

	t.Run("unreadable", func(t *testing.T) {
		w := newWorker(t)
		m := command(t, payouts.PayRequested)
		m.Payload = []byte("{")
		require.ErrorIs(t, w.ctx.Work(ctx, m), payouts.ErrInvalid)
		assert.Empty(t, w.emitted())
	})
}

func paid(p *payouts.FakeProvider) map[string]string {
	out := map[string]string{}
	for k, v := range p.Paid() {
		out[k] = v.String()
	}
	return out
}

func TestRequest(t *testing.T) {
	ctx := context.Background()
	d := memuow.New(nil)
	store := uow.NewStore(d, nil)
	for name, bad := range map[string]func() error{
		"no id":          func() error { return payouts.Request(ctx, store, "", "bob", "lnbc1", usd(t, "1.00")) },
		"no account":     func() error { return payouts.Request(ctx, store, "w1", "", "lnbc1", usd(t, "1.00")) },
		"no destination": func() error { return payouts.Request(ctx, store, "w1", "bob", "", usd(t, "1.00")) },
		"zero":           func() error { return payouts.Request(ctx, store, "w1", "bob", "lnbc1", usd(t, "0.00")) },
		"negative":       func() error { return payouts.Request(ctx, store, "w1", "bob", "lnbc1", usd(t, "-1.00")) },
	} {
		require.ErrorIs(t, bad(), payouts.ErrInvalid, name)
	}
	assert.Empty(t, d.Messages())

	require.NoError(t, payouts.Request(ctx, store, "w1", "bob", "lnbc1bob", usd(t, "10.00")))
	msgs := d.Messages()
	require.Len(t, msgs, 1)
	assert.Equal(t, payouts.WithdrawalRequested, msgs[0].Name)
	assert.Equal(t, payouts.Topic, msgs[0].Topic)
	assert.Equal(t, "w1", msgs[0].Key)
	sameWithdrawal(t, withdrawal(t), decode(t, msgs[0]))
}

package saga_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/saga"
	"github.com/dddkit/ddd/saga/sagatest"
	"github.com/dddkit/ddd/uow"
)

// The scenarios' saga moves money between accounts that live in another bounded context:
// debit the source, then credit the target; a rejected credit (or one that never answers)
// refunds the debit, and a debit that never answers is abandoned.

type transfer struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Amount int    `json:"amount"`
}

// request is the payload of TransferRequested; the replies carry only the transfer ID.
type request struct {
	Transfer string `json:"transfer"`
	transfer
}

type reply struct {
	Transfer string `json:"transfer"`
}

type refund struct {
	Account string `json:"account"`
	Amount  int    `json:"amount"`
}

// refunds is the refund compensation's failure switch: the next n runs fail.
type refunds struct{ failures atomic.Int32 }

var errBankDown = errors.New("bank down")

func transferSaga(t testing.TB) *saga.Definition[transfer] {
	t.Helper()
	send := func(s *saga.Step[transfer], name string, payload any) error {
		return s.Send(uow.Message{Topic: "accounts", Name: name, Payload: mustJSON(t, payload)})
	}
	def, err := saga.Define("transfer", saga.Spec[transfer]{
		Initial: "new",
		Terminal: map[saga.State]saga.Status{
			"done": saga.Completed, "rejected": saga.Failed, "abandoned": saga.Failed, "refunded": saga.Compensated,
		},
		Correlate: map[string]saga.Correlator{
			"TransferRequested": saga.ByField("transfer"),
			"AccountDebited":    saga.ByField("transfer"),
			"DebitRejected":     saga.ByField("transfer"),
			"AccountCredited":   saga.ByField("transfer"),
			"CreditRejected":    saga.ByField("transfer"),
		},
		Timeouts: map[string]time.Duration{"debit": 30 * time.Second, "credit": time.Minute},
		Compensations: map[string]saga.CompensationFunc{
			"refund": func(ctx context.Context, u *uow.Unit, c saga.Compensation) error {
				sw, err := uow.Service[*refunds](u)
				if err == nil && sw.failures.Add(-1) >= 0 {
					return errBankDown
				}
				var r refund
				if err := c.Decode(&r); err != nil {
					return err
				}
				return u.Emit(uow.Message{Topic: "accounts", Name: "RefundAccount", Payload: mustJSON(t, r),
					Headers: map[string]string{"idempotency-key": c.IdempotencyKey()}})
			},
		},
		Transitions: []saga.Transition[transfer]{
			{From: "new", On: "TransferRequested", To: []saga.State{"debiting"},
				Do: func(_ context.Context, s *saga.Step[transfer], m uow.Message) error {
					var r request
					if err := decode(m, &r); err != nil {
						return err
					}
					s.Data = r.transfer
					if err := send(s, "DebitAccount", refund{s.Data.From, s.Data.Amount}); err != nil {
						return err
					}
					return s.Schedule("debit")
				}},
			{From: "debiting", On: "AccountDebited", To: []saga.State{"crediting"},
				Do: func(_ context.Context, s *saga.Step[transfer], _ uow.Message) error {
					if err := s.Cancel("debit"); err != nil {
						return err
					}
					if err := s.OnCompensate("refund", refund{s.Data.From, s.Data.Amount}); err != nil {
						return err
					}
					if err := send(s, "CreditAccount", refund{s.Data.To, s.Data.Amount}); err != nil {
						return err
					}
					return s.Schedule("credit")
				}},
			{From: "debiting", On: "DebitRejected", To: []saga.State{"rejected"}},
			{From: "debiting", On: "debit", To: []saga.State{"abandoned"},
				Do: func(_ context.Context, s *saga.Step[transfer], _ uow.Message) error {
					return send(s, "CancelDebit", refund{s.Data.From, s.Data.Amount})
				}},
			{From: "crediting", On: "AccountCredited", To: []saga.State{"done"}},
			{From: "crediting", On: "CreditRejected", To: []saga.State{"refunded"}},
			{From: "crediting", On: "credit", To: []saga.State{"refunded"}},
		},
	})
	require.NoError(t, err)
	return def
}

func newTransferFixture(t *testing.T, d sagatest.Driver, opts *sagatest.Options) *sagatest.Fixture[transfer] {
	var o sagatest.Options
	if opts != nil {
		o = *opts
	}
	o.Driver = d
	return sagatest.New(t, transferSaga(t), &o)
}

func requested(f *sagatest.Fixture[transfer], id string) uow.Message {
	return f.Message("TransferRequested", request{Transfer: id, transfer: transfer{From: "alice", To: "bob", Amount: 30}})
}

func TestTransferHappyPath(t *testing.T) {
	eachWorld(t, func(t *testing.T, w world) {
		f := newTransferFixture(t, w.open(t), nil)
		require.NoError(t, f.When(requested(f, "t1")))
		f.ThenSent("DebitAccount")
		f.ThenState("t1", "debiting", saga.Running)
		assert.Equal(t, []string{"debit"}, f.Instance("t1").Timeouts)

		require.NoError(t, f.When(f.Message("AccountDebited", reply{"t1"})))
		f.ThenSent("CreditAccount")
		f.ThenState("t1", "crediting", saga.Running)
		assert.Equal(t, []string{"credit"}, f.Instance("t1").Timeouts, "the debit timeout is cancelled")

		// The cancelled debit timeout comes due (30s) before the credit one (1m): ignored.
		f.AdvanceTime(45 * time.Second)
		f.ThenSent()
		f.ThenState("t1", "crediting", saga.Running)

		require.NoError(t, f.When(f.Message("AccountCredited", reply{"t1"})))
		f.ThenSent()
		info := f.Instance("t1")
		assert.Equal(t, saga.State("done"), info.State)
		assert.Equal(t, saga.Completed, info.Status)
		assert.Equal(t, transfer{"alice", "bob", 30}, info.Data)
		assert.Empty(t, info.Timeouts)
		assert.Equal(t, 3, info.Transitions)

		// The timeouts that were pending come due into a finished saga: nothing happens.
		f.AdvanceTime(2 * time.Minute)
		f.ThenSent()
		after := f.Instance("t1")
		assert.Equal(t, info.Version, after.Version, "a late timeout does not even write the instance")

		sent := f.Sent()
		require.Len(t, sent, 2)
		assert.Equal(t, "transfer", sent[0].Headers[saga.HeaderSaga])
		assert.Equal(t, "t1", sent[0].Headers[saga.HeaderSagaKey])
		assert.JSONEq(t, `{"account":"alice","amount":30}`, string(sent[0].Payload))
	})
}

func TestTransferRejected(t *testing.T) {
	eachWorld(t, func(t *testing.T, w world) {
		f := newTransferFixture(t, w.open(t), nil)
		f.Given(requested(f, "t1"))
		require.NoError(t, f.When(f.Message("DebitRejected", reply{"t1"})))
		f.ThenSent()
		f.ThenState("t1", "rejected", saga.Failed)

		// A finished saga ignores what comes later, and its timeout never fires into it.
		require.NoError(t, f.When(f.Message("AccountDebited", reply{"t1"})))
		f.AdvanceTime(time.Hour)
		f.ThenSent()
		f.ThenState("t1", "rejected", saga.Failed)
	})
}

func TestTransferDebitTimeout(t *testing.T) {
	eachWorld(t, func(t *testing.T, w world) {
		f := newTransferFixture(t, w.open(t), nil)
		f.Given(requested(f, "t1"))
		f.AdvanceTime(29 * time.Second)
		f.ThenSent()
		f.ThenState("t1", "debiting", saga.Running)

		f.AdvanceTime(time.Second)
		f.ThenSent("CancelDebit")
		f.ThenState("t1", "abandoned", saga.Failed)

		// The answer that comes too late finds a finished saga.
		require.NoError(t, f.When(f.Message("AccountDebited", reply{"t1"})))
		f.ThenSent()
		f.ThenState("t1", "abandoned", saga.Failed)
	})
}

func TestTransferCompensation(t *testing.T) {
	eachWorld(t, func(t *testing.T, w world) {
		f := newTransferFixture(t, w.open(t), nil)
		f.Given(requested(f, "t1"), f.Message("AccountDebited", reply{"t1"}))
		require.NoError(t, f.When(f.Message("CreditRejected", reply{"t1"})))
		f.ThenSent("RefundAccount")
		f.ThenState("t1", "refunded", saga.Compensated)
		info := f.Instance("t1")
		require.Len(t, info.Compensations, 1)
		assert.True(t, info.Compensations[0].Done)
		assert.Empty(t, info.Timeouts)
		refundMsg := f.Sent()[2]
		assert.JSONEq(t, `{"account":"alice","amount":30}`, string(refundMsg.Payload))
		assert.Equal(t, "transfer/t1/compensation/0", refundMsg.Headers["idempotency-key"])

		// The credit timeout was dropped with the saga's end.
		f.AdvanceTime(5 * time.Minute)
		f.ThenSent()
	})
}

func TestTransferCreditTimeoutCompensates(t *testing.T) {
	eachWorld(t, func(t *testing.T, w world) {
		f := newTransferFixture(t, w.open(t), nil)
		f.Given(requested(f, "t1"), f.Message("AccountDebited", reply{"t1"}))
		f.AdvanceTime(time.Minute)
		f.ThenSent("RefundAccount")
		f.ThenState("t1", "refunded", saga.Compensated)
	})
}

func TestTransferFailingCompensationIsRetriedAndVisible(t *testing.T) {
	eachWorld(t, func(t *testing.T, w world) {
		sw := &refunds{}
		sw.failures.Store(2)
		f := newTransferFixture(t, w.open(t), &sagatest.Options{Services: []any{sw}})
		f.Given(requested(f, "t1"), f.Message("AccountDebited", reply{"t1"}))
		require.NoError(t, f.When(f.Message("CreditRejected", reply{"t1"})))
		f.ThenSent()

		// The operator sees the instance compensating, the failed step, its attempts and error.
		info := f.Instance("t1")
		assert.Equal(t, saga.Compensating, info.Status)
		assert.Equal(t, saga.State("crediting"), info.State)
		assert.Equal(t, saga.State("refunded"), info.Target)
		require.Len(t, info.Compensations, 1)
		assert.False(t, info.Compensations[0].Done)
		assert.Equal(t, 1, info.Compensations[0].Attempts)
		assert.Contains(t, info.Compensations[0].LastError, "bank down")
		listed, err := f.Manager.List(t.Context(), saga.Compensating)
		require.NoError(t, err)
		require.Len(t, listed, 1)
		assert.Equal(t, "t1", listed[0].Key)

		// Messages that arrive meanwhile do not disturb the compensation.
		require.NoError(t, f.When(f.Message("AccountCredited", reply{"t1"})))
		f.ThenState("t1", "crediting", saga.Compensating)

		// The relay retries with backoff (1s, then 2s, jittered by up to a fifth).
		f.AdvanceTime(1300 * time.Millisecond)
		assert.Equal(t, 2, f.Instance("t1").Compensations[0].Attempts)
		f.ThenSent()
		f.AdvanceTime(2500 * time.Millisecond)
		f.ThenSent("RefundAccount")
		f.ThenState("t1", "refunded", saga.Compensated)
		info = f.Instance("t1")
		assert.True(t, info.Compensations[0].Done)
		assert.Equal(t, 2, info.Compensations[0].Attempts)
		listed, err = f.Manager.List(t.Context(), saga.Compensating)
		require.NoError(t, err)
		assert.Empty(t, listed)
	})
}

func TestTransferDuplicates(t *testing.T) {
	eachWorld(t, func(t *testing.T, w world) {
		f := newTransferFixture(t, w.open(t), nil)
		req := requested(f, "t1")
		f.Given(req)
		debited := f.Message("AccountDebited", reply{"t1"})
		require.NoError(t, f.When(debited))
		f.ThenSent("CreditAccount")
		v := f.Instance("t1").Version

		// Redelivered (same ID): the inbox absorbs it. Sent again by the partner (new ID): the
		// state has moved on and has no transition for it. The start message again: no second
		// instance, no second debit.
		require.NoError(t, f.When(debited))
		require.NoError(t, f.When(f.Message("AccountDebited", reply{"t1"})))
		require.NoError(t, f.When(req))
		require.NoError(t, f.When(requested(f, "t1")))
		f.ThenSent()
		assert.Equal(t, v, f.Instance("t1").Version, "ignored messages do not write the instance")
		f.ThenState("t1", "crediting", saga.Running)
	})
}

func TestTransferRestartWithTimeoutsPending(t *testing.T) {
	eachWorld(t, func(t *testing.T, w world) {
		d := w.open(t)
		f := newTransferFixture(t, d, nil)
		debited := f.Message("AccountDebited", reply{"t2"})
		f.Given(requested(f, "t1"), requested(f, "t2"), debited)

		// The process restarts: a new store, manager and relay on the same database and clock.
		g := newTransferFixture(t, w.restart(t, d), &sagatest.Options{Clock: f.Clock})
		g.AdvanceTime(30 * time.Second) // t1's debit timeout fires
		g.ThenSent("CancelDebit")
		g.ThenState("t1", "abandoned", saga.Failed)
		g.ThenState("t2", "crediting", saga.Running)

		g.AdvanceTime(30 * time.Second) // t2's credit timeout fires and compensates
		g.ThenSent("RefundAccount")
		g.ThenState("t2", "refunded", saga.Compensated)

		// A message handled before the restart, delivered again, is known to the inbox.
		v := g.Instance("t2").Version
		require.NoError(t, g.When(debited))
		g.ThenSent()
		assert.Equal(t, v, g.Instance("t2").Version)
	})
}

func TestUnknownAndMalformedMessages(t *testing.T) {
	f := newTransferFixture(t, nil, nil)
	// A message the saga does not handle is none of its business.
	require.NoError(t, f.When(f.Message("SomethingElse", reply{"t1"})))
	// A reply for an instance that does not exist starts nothing.
	require.NoError(t, f.When(f.Message("AccountDebited", reply{"nope"})))
	_, err := f.Manager.Get(t.Context(), "nope")
	require.ErrorIs(t, err, saga.ErrNotFound)
	// A message whose key cannot be read, or without an ID, is bad input.
	err = f.When(f.Message("AccountDebited", map[string]int{"transfer": 0, "x": 1}))
	require.NoError(t, err, "a number is a key")
	err = f.When(f.Message("AccountDebited", map[string]any{"transfer": true}))
	require.ErrorIs(t, err, saga.ErrInvalid)
	err = f.When(f.Message("TransferRequested", map[string]any{}))
	require.ErrorIs(t, err, saga.ErrInvalid)
	noID := requested(f, "t9")
	noID.ID = ""
	require.ErrorIs(t, f.When(noID), saga.ErrInvalid)
	_, err = f.Manager.Get(t.Context(), "t9")
	require.ErrorIs(t, err, saga.ErrNotFound, "bad input changes nothing")
	f.ThenSent()
}

package saga_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/saga"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
)

// The reaction tests run a small wallets context that reacts to DebitRequested messages from
// another context by running its debit command.

type wallet struct {
	aggregate.Root[string]
	Balance int `json:"balance"`
}

func (*wallet) AggregateType() string { return "wallet" }

var errInsufficient = aggregate.NewRule("insufficient_funds", "insufficient funds")

// debit takes Amount from the wallet ID and emits WalletDebited.
type debit struct {
	ID     string
	Amount int
}

func (c debit) Handle(ctx context.Context, u *uow.Unit) error {
	w, err := uow.Repo[wallet, string](u).Get(ctx, c.ID)
	if err != nil {
		return err
	}
	if w.Balance < c.Amount {
		return fmt.Errorf("%w: balance %d, debit %d", errInsufficient, w.Balance, c.Amount)
	}
	w.Balance -= c.Amount
	payload, err := json.Marshal(debitRequested{Wallet: c.ID, Amount: c.Amount})
	if err != nil {
		return err
	}
	return u.Emit(uow.Message{Topic: "wallets", Key: c.ID, Name: "WalletDebited", Payload: payload})
}

// outage is a debit that fails with errWalletsDown while *down is set, counting its runs.
type outage struct {
	debit
	down  *bool
	calls *int
}

var errWalletsDown = errors.New("wallets database down")

func (c outage) Handle(ctx context.Context, u *uow.Unit) error {
	*c.calls++
	if *c.down {
		return errWalletsDown
	}
	return c.debit.Handle(ctx, u)
}

// debitRequested is the payload of DebitRequested (and of WalletDebited and DebitRejected).
type debitRequested struct {
	Wallet string `json:"wallet"`
	Amount int    `json:"amount"`
}

// translateDebit reacts to DebitRequested only.
func translateDebit(m uow.Message) (uow.Command, error) {
	if m.Name != "DebitRequested" {
		return nil, nil
	}
	var p debitRequested
	if err := m.Decode(&p); err != nil {
		return nil, err
	}
	return debit{ID: p.Wallet, Amount: p.Amount}, nil
}

// debitAsked is the typed reading of DebitRequested.
type debitAsked debitRequested

func (debitAsked) EventName() string { return "DebitRequested" }

// typedDebit is translateDebit made with Translate, with the given policy for other names.
func typedDebit(unknown outbox.Unknown) func(uow.Message) (uow.Command, error) {
	translate, err := saga.Translate(unknown, saga.On(func(e debitAsked, _ uow.Message) (uow.Command, error) {
		return debit{ID: e.Wallet, Amount: e.Amount}, nil
	}))
	if err != nil {
		panic(err)
	}
	return translate
}

const walletsConsumer = "wallets"

type reactFixture struct {
	d     *memuow.Driver
	store *uow.Store
}

// newReactFixture returns a store holding the wallet "w1" with the given balance.
func newReactFixture(t *testing.T, balance int) *reactFixture {
	t.Helper()
	d := memuow.New(nil)
	store := uow.NewStore(d, nil)
	err := uow.Do(t.Context(), store, func(ctx context.Context, u *uow.Unit) error {
		root, err := aggregate.NewRoot("w1")
		if err != nil {
			return err
		}
		return uow.Repo[wallet, string](u).Add(ctx, &wallet{Root: root, Balance: balance})
	}, nil)
	require.NoError(t, err)
	return &reactFixture{d: d, store: store}
}

// balance returns the committed balance of wallet id.
func (f *reactFixture) balance(t *testing.T, id string) int {
	t.Helper()
	rec, ok := f.d.Get((*wallet).AggregateType(nil), id)
	require.True(t, ok, "wallet %s is stored", id)
	var w wallet
	require.NoError(t, json.Unmarshal(rec.Data, &w))
	return w.Balance
}

// names returns the names of the committed outbox messages, in commit order.
func (f *reactFixture) names() []string {
	var out []string
	for _, m := range f.d.Messages() {
		out = append(out, m.Name)
	}
	return out
}

// assertUntouched checks that nothing was committed beyond the fixture's wallet.
func (f *reactFixture) assertUntouched(t *testing.T, balance int) {
	t.Helper()
	assert.Equal(t, balance, f.balance(t, "w1"), "balance")
	assert.Empty(t, f.d.Messages(), "committed messages")
	assert.Zero(t, f.d.InboxLen(), "inbox marks")
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func debitRequest(t testing.TB, id string, amount int) uow.Message {
	return uow.Message{
		ID:      id,
		Topic:   "payments",
		Key:     "w1",
		Name:    "DebitRequested",
		Payload: mustJSON(t, debitRequested{Wallet: "w1", Amount: amount}),
		Headers: map[string]string{uow.HeaderCorrelationID: "payment-1"},
	}
}

func TestReactRunsCommandOnce(t *testing.T) {
	f := newReactFixture(t, 100)
	h := saga.React(f.store, walletsConsumer, translateDebit, &saga.ReactOptions{Logger: quiet()})
	m := debitRequest(t, "m1", 30)

	require.NoError(t, h(t.Context(), m))
	assert.Equal(t, 70, f.balance(t, "w1"))
	require.Equal(t, []string{"WalletDebited"}, f.names())
	emitted := f.d.Messages()[0]
	assert.Equal(t, "m1", emitted.Headers[uow.HeaderCausationID], "caused by the message handled")
	assert.Equal(t, "payment-1", emitted.Headers[uow.HeaderCorrelationID], "the message's correlation ID")
	assert.Equal(t, 1, f.d.InboxLen())

	// Redeliveries of the same message have no second effect.
	for range 2 {
		require.NoError(t, h(t.Context(), m))
	}
	assert.Equal(t, 70, f.balance(t, "w1"), "debited once")
	assert.Equal(t, []string{"WalletDebited"}, f.names(), "emitted once")
	assert.Equal(t, 1, f.d.InboxLen())

	// Another message with the same content is another request.
	require.NoError(t, h(t.Context(), debitRequest(t, "m2", 30)))
	assert.Equal(t, 40, f.balance(t, "w1"))
	assert.Equal(t, []string{"WalletDebited", "WalletDebited"}, f.names())
	assert.Equal(t, 2, f.d.InboxLen())
}

func TestReactIgnoredAndInvalidMessages(t *testing.T) {
	errUnreadable := errors.New("unreadable")
	tests := []struct {
		name      string
		message   func(t *testing.T) uow.Message
		translate func(m uow.Message) (uow.Command, error)
		// wantErr is nil when the message must be ignored without error.
		wantErr []error
	}{
		{
			name: "message the context does not react to",
			message: func(t *testing.T) uow.Message {
				m := debitRequest(t, "m1", 30)
				m.Name = "PaymentCaptured"
				return m
			},
			translate: translateDebit,
		},
		{
			name:      "translate returns no command",
			message:   func(t *testing.T) uow.Message { return debitRequest(t, "m1", 30) },
			translate: func(uow.Message) (uow.Command, error) { return nil, nil },
		},
		{
			name: "unreadable payload",
			message: func(t *testing.T) uow.Message {
				m := debitRequest(t, "m1", 30)
				m.Payload = []byte(`{"wallet":`)
				return m
			},
			translate: translateDebit,
			wantErr:   []error{saga.ErrInvalid},
		},
		{
			name:      "translate error is wrapped",
			message:   func(t *testing.T) uow.Message { return debitRequest(t, "m1", 30) },
			translate: func(uow.Message) (uow.Command, error) { return debit{ID: "w1", Amount: 30}, errUnreadable },
			wantErr:   []error{saga.ErrInvalid, errUnreadable},
		},
		{
			name: "typed: a name the context skips",
			message: func(t *testing.T) uow.Message {
				m := debitRequest(t, "m1", 30)
				m.Name = "PaymentCaptured"
				return m
			},
			translate: typedDebit(outbox.SkipUnknown),
		},
		{
			name: "typed: a name the context rejects",
			message: func(t *testing.T) uow.Message {
				m := debitRequest(t, "m1", 30)
				m.Name = "DebitRequestd"
				return m
			},
			translate: typedDebit(outbox.RejectUnknown),
			wantErr:   []error{saga.ErrInvalid, outbox.ErrNoRoute},
		},
		{
			name: "typed: unreadable payload",
			message: func(t *testing.T) uow.Message {
				m := debitRequest(t, "m1", 30)
				m.Payload = []byte(`{"wallet":`)
				return m
			},
			translate: typedDebit(outbox.SkipUnknown),
			wantErr:   []error{saga.ErrInvalid, outbox.ErrInvalid},
		},
		{
			name: "message without an ID",
			message: func(t *testing.T) uow.Message {
				return debitRequest(t, "", 30)
			},
			translate: translateDebit,
			wantErr:   []error{saga.ErrInvalid},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newReactFixture(t, 100)
			h := saga.React(f.store, walletsConsumer, tt.translate, &saga.ReactOptions{Logger: quiet()})

			err := h(t.Context(), tt.message(t))
			if tt.wantErr == nil {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				for _, want := range tt.wantErr {
					assert.ErrorIs(t, err, want)
				}
			}
			f.assertUntouched(t, 100)
		})
	}
}

// TestTranslateRunsTypedCommands: React with a typed translation runs the command the message
// decodes to, once.
func TestTranslateRunsTypedCommands(t *testing.T) {
	f := newReactFixture(t, 100)
	h := saga.React(f.store, walletsConsumer, typedDebit(outbox.RejectUnknown), &saga.ReactOptions{Logger: quiet()})
	m := debitRequest(t, "m1", 30)
	require.NoError(t, h(t.Context(), m))
	require.NoError(t, h(t.Context(), m), "redelivered")
	assert.Equal(t, 70, f.balance(t, "w1"))
	assert.Equal(t, []string{"WalletDebited"}, f.names())
}

// nameless names itself from a field: its zero value has no name.
type nameless struct{ Kind string }

func (n nameless) EventName() string { return n.Kind }

// sameName claims debitAsked's name.
type sameName struct{}

func (sameName) EventName() string { return "DebitRequested" }

func TestTranslateReportsEveryProblem(t *testing.T) {
	nop := func(debitAsked, uow.Message) (uow.Command, error) { return nil, nil }
	_, err := saga.Translate(0,
		saga.On(nop),
		saga.On(func(sameName, uow.Message) (uow.Command, error) { return nil, nil }),
		saga.On[debitAsked](nil),
		saga.On(func(nameless, uow.Message) (uow.Command, error) { return nil, nil }),
		saga.Translation{},
	)
	require.ErrorIs(t, err, saga.ErrInvalid)
	require.ErrorIs(t, err, aggregate.ErrInvalidEvent)
	for _, want := range []string{
		"choose outbox.RejectUnknown or outbox.SkipUnknown, not 0",
		`translation 1: saga: invalid argument: a second translation of "DebitRequested"`,
		"translation 2: saga: invalid argument: On[saga_test.debitAsked]: nil translation",
		"translation 3: saga: invalid argument: On[saga_test.nameless]: aggregate: invalid event: saga_test.nameless: EventName of the zero value is empty",
		"translation 4: saga: invalid argument: the zero Translation",
	} {
		require.ErrorContains(t, err, want)
	}
}

func TestReactRejectionIsFinal(t *testing.T) {
	type call struct {
		message uow.Message
		rule    error
	}
	tests := []struct {
		name         string
		withRejected bool
		wantCalls    int
		wantMessages []string
	}{
		{name: "Rejected emits the failure event", withRejected: true, wantCalls: 1, wantMessages: []string{"DebitRejected"}},
		{name: "without Rejected the rejection is only marked", withRejected: false, wantCalls: 0, wantMessages: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newReactFixture(t, 10)
			var calls []call
			opts := &saga.ReactOptions{Logger: quiet()}
			if tt.withRejected {
				opts.Rejected = func(ctx context.Context, u *uow.Unit, m uow.Message, rule error) error {
					calls = append(calls, call{message: m, rule: rule})
					return u.Emit(uow.Message{Topic: "wallets", Key: "w1", Name: "DebitRejected", Payload: m.Payload})
				}
			}
			h := saga.React(f.store, walletsConsumer, translateDebit, opts)
			m := debitRequest(t, "m1", 30)

			require.NoError(t, h(t.Context(), m), "a rejection is final, not an error to retry")
			assert.Equal(t, 10, f.balance(t, "w1"), "the rejected command changed nothing")
			assert.Equal(t, tt.wantMessages, f.names())
			assert.Equal(t, 1, f.d.InboxLen(), "the rejection is marked handled")
			require.Len(t, calls, tt.wantCalls)
			if tt.withRejected {
				assert.Equal(t, "m1", calls[0].message.ID)
				assert.ErrorIs(t, calls[0].rule, errInsufficient)
				assert.ErrorIs(t, calls[0].rule, aggregate.ErrRule)
				emitted := f.d.Messages()[0]
				assert.JSONEq(t, string(m.Payload), string(emitted.Payload))
				assert.Equal(t, "m1", emitted.Headers[uow.HeaderCausationID], "caused by the rejected message")
				assert.Equal(t, "payment-1", emitted.Headers[uow.HeaderCorrelationID])
			}

			require.NoError(t, h(t.Context(), m), "redelivery")
			assert.Len(t, calls, tt.wantCalls, "Rejected runs once")
			assert.Equal(t, tt.wantMessages, f.names(), "nothing more emitted")
			assert.Equal(t, 1, f.d.InboxLen())
			assert.Equal(t, 10, f.balance(t, "w1"))
		})
	}
}

func TestReactTechnicalErrorIsRetried(t *testing.T) {
	f := newReactFixture(t, 100)
	down, calls := true, 0
	translate := func(m uow.Message) (uow.Command, error) {
		cmd, err := translateDebit(m)
		if cmd == nil || err != nil {
			return cmd, err
		}
		return outage{debit: cmd.(debit), down: &down, calls: &calls}, nil
	}
	rejected := 0
	h := saga.React(f.store, walletsConsumer, translate, &saga.ReactOptions{
		Logger: quiet(),
		Rejected: func(context.Context, *uow.Unit, uow.Message, error) error {
			rejected++
			return nil
		},
	})
	m := debitRequest(t, "m1", 30)

	err := h(t.Context(), m)
	require.ErrorIs(t, err, errWalletsDown)
	assert.NotErrorIs(t, err, saga.ErrInvalid)
	assert.NotErrorIs(t, err, aggregate.ErrRule)
	assert.Equal(t, 1, calls)
	assert.Zero(t, rejected, "a technical error is not a rejection")
	f.assertUntouched(t, 100)

	// The redelivery runs the command again; once the outage is over it takes effect.
	require.ErrorIs(t, h(t.Context(), m), errWalletsDown)
	assert.Equal(t, 2, calls)
	f.assertUntouched(t, 100)

	down = false
	require.NoError(t, h(t.Context(), m))
	assert.Equal(t, 3, calls)
	assert.Equal(t, 70, f.balance(t, "w1"))
	assert.Equal(t, []string{"WalletDebited"}, f.names())
	assert.Equal(t, 1, f.d.InboxLen())
	assert.Zero(t, rejected)
}

func TestReactRejectedError(t *testing.T) {
	f := newReactFixture(t, 10)
	errPublish := errors.New("cannot record the rejection")
	failing, calls := true, 0
	h := saga.React(f.store, walletsConsumer, translateDebit, &saga.ReactOptions{
		Logger: quiet(),
		Rejected: func(ctx context.Context, u *uow.Unit, m uow.Message, rule error) error {
			calls++
			if err := u.Emit(uow.Message{Topic: "wallets", Name: "DebitRejected", Payload: m.Payload}); err != nil {
				return err
			}
			if failing {
				return errPublish
			}
			return nil
		},
	})
	m := debitRequest(t, "m1", 30)

	err := h(t.Context(), m)
	require.ErrorIs(t, err, errPublish)
	assert.Equal(t, 1, calls)
	f.assertUntouched(t, 10)

	// Not marked: the redelivery runs the command and Rejected again.
	failing = false
	require.NoError(t, h(t.Context(), m))
	assert.Equal(t, 2, calls)
	assert.Equal(t, []string{"DebitRejected"}, f.names())
	assert.Equal(t, 1, f.d.InboxLen())
	assert.Equal(t, 10, f.balance(t, "w1"))
}

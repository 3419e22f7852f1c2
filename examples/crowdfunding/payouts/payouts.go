// Package payouts is the crowdfunding system's payouts context (seed 002's bitcoin context): a
// withdrawal is an orchestrated saga. Requested, it asks accounting to debit the account; once
// debited, it pays through the external Provider; a payment declined, or one that does not
// answer before the payment timeout and is then cancelled at the provider, is compensated by a
// refund of the debit. A withdrawal therefore ends paid, rejected (never debited) or refunded:
// never debited and lost.
package payouts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/saga"
	"github.com/dddkit/ddd/uow"
)

// Topic is where the context publishes its events and sends its own commands; Accounting and
// AccountingCommands are accounting's topics, as accounting names them.
const (
	Topic              = "payouts"
	Accounting         = "accounting"
	AccountingCommands = "accounting.commands"
)

// Messages of the withdrawal, each with the withdrawal's ID in field "withdrawal".
const (
	WithdrawalRequested = "payouts.WithdrawalRequested" // starts the saga
	DebitRequested      = "payouts.DebitRequested"      // to accounting
	RefundRequested     = "payouts.RefundRequested"     // to accounting: the compensation
	Debited             = "payouts.Debited"             // accounting's answer, read at the edge
	DebitRejected       = "payouts.DebitRejected"       // accounting's answer, read at the edge
	PayRequested        = "payouts.PayRequested"        // to the payment worker
	CancelRequested     = "payouts.CancelRequested"     // to the payment worker, after the timeout
	PaymentSucceeded    = "payouts.PaymentSucceeded"    // from the worker
	PaymentFailed       = "payouts.PaymentFailed"       // from the worker: declined or cancelled
	WithdrawalStarted   = "payouts.WithdrawalStarted"   // the saga took the request: events for the dashboard
	WithdrawalPaid      = "payouts.WithdrawalPaid"      // and the outcomes
	WithdrawalRejected  = "payouts.WithdrawalRejected"
	WithdrawalRefunded  = "payouts.WithdrawalRefunded"
)

// ErrInvalid is a withdrawal request that cannot be made.
var ErrInvalid = errors.New("payouts: invalid withdrawal")

// Withdrawal is the saga's data, and the payload of its messages.
type Withdrawal struct {
	Withdrawal  string      `json:"withdrawal"`
	Account     string      `json:"account"`
	Destination string      `json:"destination"`
	Amount      money.Money `json:"amount"`
	Reason      string      `json:"reason,omitempty"`
}

// The saga's states.
const (
	New        saga.State = "new"
	Debiting   saga.State = "debiting"
	Paying     saga.State = "paying"
	Cancelling saga.State = "cancelling"
	Paid       saga.State = "paid"
	Rejected   saga.State = "rejected"
	Refunded   saga.State = "refunded"
)

// Define returns the withdrawal saga, whose payment times out after paymentTimeout (a business
// decision: how long a payout may stay unanswered before it is cancelled and refunded).
func Define(paymentTimeout time.Duration) (*saga.Definition[Withdrawal], error) {
	by := saga.ByField("withdrawal")
	send := func(s *saga.Step[Withdrawal], topic, name string) error {
		b, err := json.Marshal(s.Data)
		if err != nil {
			return err
		}
		key := "" // the withdrawal's: its messages in order
		if name == PayRequested || name == CancelRequested {
			// Keys of their own: a payment the provider keeps not answering is retried by the
			// relay, and must not hold back the cancellation that ends it.
			key = name + "/" + s.Key()
		}
		return s.Send(uow.Message{Topic: topic, Key: key, Name: name, Payload: b})
	}
	reason := func(s *saga.Step[Withdrawal], m uow.Message) error {
		var w Withdrawal
		if err := m.Decode(&w); err != nil {
			return err
		}
		s.Data.Reason = w.Reason
		return nil
	}
	return saga.Define("withdrawal", saga.Spec[Withdrawal]{
		Initial:  New,
		Terminal: map[saga.State]saga.Status{Paid: saga.Completed, Rejected: saga.Failed, Refunded: saga.Compensated},
		Correlate: map[string]saga.Correlator{WithdrawalRequested: by, Debited: by, DebitRejected: by,
			PaymentSucceeded: by, PaymentFailed: by},
		Timeouts: map[string]time.Duration{"payment": paymentTimeout},
		Compensations: map[string]saga.CompensationFunc{
			"refund": func(_ context.Context, u *uow.Unit, c saga.Compensation) error {
				return u.Emit(uow.Message{Topic: AccountingCommands, Key: c.Key, Name: RefundRequested, Payload: c.Arg})
			},
		},
		Transitions: []saga.Transition[Withdrawal]{
			{From: New, On: WithdrawalRequested, To: []saga.State{Debiting},
				Do: func(_ context.Context, s *saga.Step[Withdrawal], m uow.Message) error {
					if err := m.Decode(&s.Data); err != nil {
						return err
					}
					// Announced by the saga, not by Request: a request repeating a withdrawal's ID
					// starts nothing, and announces nothing.
					if err := send(s, Topic, WithdrawalStarted); err != nil {
						return err
					}
					return send(s, AccountingCommands, DebitRequested)
				}},
			{From: Debiting, On: DebitRejected, To: []saga.State{Rejected},
				Do: func(_ context.Context, s *saga.Step[Withdrawal], m uow.Message) error {
					if err := reason(s, m); err != nil {
						return err
					}
					return send(s, Topic, WithdrawalRejected)
				}},
			{From: Debiting, On: Debited, To: []saga.State{Paying},
				Do: func(_ context.Context, s *saga.Step[Withdrawal], _ uow.Message) error {
					if err := s.OnCompensate("refund", s.Data); err != nil {
						return err
					}
					if err := send(s, Topic, PayRequested); err != nil {
						return err
					}
					return s.Schedule("payment")
				}},
			{From: Paying, On: PaymentSucceeded, To: []saga.State{Paid},
				Do: func(_ context.Context, s *saga.Step[Withdrawal], _ uow.Message) error {
					return send(s, Topic, WithdrawalPaid)
				}},
			{From: Paying, On: PaymentFailed, To: []saga.State{Refunded},
				Do: func(_ context.Context, s *saga.Step[Withdrawal], m uow.Message) error {
					if err := reason(s, m); err != nil {
						return err
					}
					return send(s, Topic, WithdrawalRefunded)
				}},
			{From: Paying, On: "payment", To: []saga.State{Cancelling},
				Do: func(_ context.Context, s *saga.Step[Withdrawal], _ uow.Message) error {
					return send(s, Topic, CancelRequested)
				}},
			{From: Cancelling, On: PaymentSucceeded, To: []saga.State{Paid},
				Do: func(_ context.Context, s *saga.Step[Withdrawal], _ uow.Message) error {
					return send(s, Topic, WithdrawalPaid)
				}},
			{From: Cancelling, On: PaymentFailed, To: []saga.State{Refunded},
				Do: func(_ context.Context, s *saga.Step[Withdrawal], m uow.Message) error {
					if err := reason(s, m); err != nil {
						return err
					}
					return send(s, Topic, WithdrawalRefunded)
				}},
		},
	})
}

// Request asks for a withdrawal of amount from account to dest: it starts the saga through the
// outbox. Requesting the same ID again does not start a second withdrawal.
func Request(ctx context.Context, store *uow.Store, id, account, dest string, amount money.Money) error {
	if id == "" || account == "" || dest == "" || !amount.IsPositive() {
		return fmt.Errorf("%w: id %q, account %q, destination %q, amount %s", ErrInvalid, id, account, dest, amount)
	}
	b, err := json.Marshal(Withdrawal{Withdrawal: id, Account: account, Destination: dest, Amount: amount})
	if err != nil {
		return err
	}
	return uow.Do(ctx, store, func(_ context.Context, u *uow.Unit) error {
		return u.Emit(uow.Message{Topic: Topic, Key: id, Name: WithdrawalRequested, Payload: b})
	}, nil)
}

// Context is the payouts context: the saga's manager and the payment worker.
type Context struct {
	Manager *saga.Manager[Withdrawal]
	exec    *uow.Executor // runs the worker's commands, Pay and Cancel
	payWait time.Duration
}

// Options tune NewContext.
type Options struct {
	// PaymentTimeout is the saga's payment timeout; 0 means 30s.
	PaymentTimeout time.Duration
	// PayWait bounds one call of Provider.Pay or Provider.Cancel; 0 means 2s.
	PayWait time.Duration
	// Logger receives the records of the worker's commands; nil means slog.Default().
	Logger *slog.Logger
}

// NewContext returns the payouts context on its store, whose services must include the
// Provider the worker pays through: it returns an error wrapping uow.ErrNoService when they do
// not, and one wrapping uow.ErrAmbiguousService when more than one of them is a Provider.
func NewContext(store *uow.Store, opts *Options) (*Context, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.PaymentTimeout <= 0 {
		o.PaymentTimeout = 30 * time.Second
	}
	if o.PayWait <= 0 {
		o.PayWait = 2 * time.Second
	}
	def, err := Define(o.PaymentTimeout)
	if err != nil {
		return nil, err
	}
	exec, err := uow.NewExecutor(store, &uow.ExecutorOptions{Commands: []uow.Command{Pay{}, Cancel{}}, Logger: o.Logger})
	if err != nil {
		return nil, fmt.Errorf("payouts: %w", err)
	}
	return &Context{Manager: saga.NewManager(store, def, nil), exec: exec, payWait: o.PayWait}, nil
}

// Subscribe subscribes the context to the bus: the saga to its topics and, through an
// anti-corruption step, to accounting's withdrawal outcomes; the worker to its commands.
func (c *Context) Subscribe(bus *outbox.Bus) error {
	if _, err := c.Manager.Subscribe(bus, Topic); err != nil {
		return err
	}
	if _, err := bus.Subscribe(Accounting, "payouts-edge", c.fromAccounting); err != nil {
		return err
	}
	_, err := bus.Subscribe(Topic, worker, c.Work)
	return err
}

// fromAccounting reads accounting's outcome of a withdrawal's debit as the saga's Debited or
// DebitRejected; other accounting events are not the saga's business.
func (c *Context) fromAccounting(ctx context.Context, m uow.Message) error {
	if m.Name != "accounting.OperationApplied" && m.Name != "accounting.OperationRejected" {
		return nil
	}
	var e struct {
		Kind string `json:"kind"`
		Ref  struct {
			Withdrawal string `json:"withdrawal"`
		} `json:"ref"`
		Reason string `json:"reason"`
	}
	if err := m.Decode(&e); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if e.Kind != "withdrawal" || e.Ref.Withdrawal == "" {
		return nil
	}
	if m.Name == "accounting.OperationRejected" {
		m.Name = DebitRejected
	} else {
		m.Name = Debited
	}
	b, err := json.Marshal(Withdrawal{Withdrawal: e.Ref.Withdrawal, Reason: e.Reason})
	if err != nil {
		return err
	}
	m.Payload = b
	return c.Manager.Handle(ctx, m)
}

// Work is the payment worker: it runs a PayRequested as the command Pay and a CancelRequested
// as the command Cancel, bounding the provider's answer by PayWait; other messages are not its
// business. An error (an outcome the provider left unknown) makes the relay redeliver the
// message.
func (c *Context) Work(ctx context.Context, m uow.Message) error {
	if m.Name != PayRequested && m.Name != CancelRequested {
		return nil
	}
	var w Withdrawal
	if err := m.Decode(&w); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if m.Name == PayRequested {
		return c.exec.Execute(ctx, Pay{Message: m.ID, Withdrawal: w, Wait: c.payWait})
	}
	return c.exec.Execute(ctx, Cancel{Message: m.ID, Withdrawal: w, Wait: c.payWait})
}

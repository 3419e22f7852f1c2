package payouts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dddkit/ddd/uow"
)

// worker is the inbox name of the payment worker.
const worker = "payouts-worker"

// Pay is the payment worker's command for a PayRequested message. It pays the withdrawal
// through the Provider among the store's services and records the outcome in one unit with the
// worker's inbox mark of the message: PaymentSucceeded, or PaymentFailed with the reason when
// the provider declined (ErrDeclined, final). A redelivered message pays and records nothing.
// A payment whose outcome is unknown (any other error, a provider that did not answer within
// Wait) is returned: nothing is recorded, the relay redelivers the message, and it is paid
// again under its key, which the provider pays once.
//
// The provider is called inside the unit, so the unit's transaction stays open while it answers
// (Wait at most); a unit retried after a conflict calls it again, under the same key.
type Pay struct {
	// Message is the ID of the PayRequested message: the worker's inbox mark.
	Message    string
	Withdrawal Withdrawal
	// Wait bounds the provider's answer; 0 means no bound.
	Wait time.Duration
}

// Requires implements uow.Requirer: the executor checks the store has a Provider.
func (Pay) Requires() []uow.Requirement { return []uow.Requirement{uow.Needs[Provider]()} }

// Handle implements uow.Command.
func (c Pay) Handle(ctx context.Context, u *uow.Unit) error {
	return work(ctx, u, c.Message, c.Withdrawal, c.Wait, func(ctx context.Context, p Provider, w *Withdrawal) (string, error) {
		err := p.Pay(ctx, w.Withdrawal, w.Destination, w.Amount)
		switch {
		case errors.Is(err, ErrDeclined):
			w.Reason = err.Error()
			return PaymentFailed, nil
		case err != nil:
			return "", fmt.Errorf("payouts: paying %s: %w", w.Withdrawal, err)
		}
		return PaymentSucceeded, nil
	})
}

// Cancel is the payment worker's command for a CancelRequested message, sent when the payment
// timed out: it makes sure the provider never pays the withdrawal and records what it found in
// one unit with the worker's inbox mark, PaymentSucceeded when the provider had paid (its
// answer was lost) and PaymentFailed otherwise. It runs as [Pay] does.
type Cancel struct {
	// Message is the ID of the CancelRequested message: the worker's inbox mark.
	Message    string
	Withdrawal Withdrawal
	// Wait bounds the provider's answer; 0 means no bound.
	Wait time.Duration
}

// Requires implements uow.Requirer: the executor checks the store has a Provider.
func (Cancel) Requires() []uow.Requirement { return []uow.Requirement{uow.Needs[Provider]()} }

// Handle implements uow.Command.
func (c Cancel) Handle(ctx context.Context, u *uow.Unit) error {
	return work(ctx, u, c.Message, c.Withdrawal, c.Wait, func(ctx context.Context, p Provider, w *Withdrawal) (string, error) {
		paid, err := p.Cancel(ctx, w.Withdrawal)
		switch {
		case err != nil:
			return "", fmt.Errorf("payouts: cancelling %s: %w", w.Withdrawal, err)
		case !paid:
			w.Reason = "cancelled: the provider did not answer in time"
			return PaymentFailed, nil
		}
		return PaymentSucceeded, nil
	})
}

// work runs a worker's command in u: unless the worker processed the message already, it calls
// the store's Provider, bounded by wait, and emits the outcome that call names, with w (as the
// call left it) as its payload.
func work(ctx context.Context, u *uow.Unit, message string, w Withdrawal, wait time.Duration,
	call func(context.Context, Provider, *Withdrawal) (string, error)) error {
	if done, err := u.MarkProcessed(ctx, worker, message); err != nil || done {
		return err
	}
	provider, err := uow.Service[Provider](u)
	if err != nil {
		return err
	}
	if wait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, wait)
		defer cancel()
	}
	name, err := call(ctx, provider, &w)
	if err != nil {
		return err
	}
	b, err := json.Marshal(w)
	if err != nil {
		return err
	}
	return u.Emit(uow.Message{Topic: Topic, Key: w.Withdrawal, Name: name, Payload: b})
}

package accounting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/saga"
	"github.com/dddkit/ddd/uow"
)

// Events accounting publishes on Topic.
type (
	// AccountOpened: a new account.
	AccountOpened struct {
		Account  AccountID `json:"account"`
		Owner    string    `json:"owner"`
		Currency string    `json:"currency"`
	}
	// BalanceChanged: an operation moved money in or out of the account; Version orders the
	// changes of one account (a read model keeps the highest).
	BalanceChanged struct {
		Account   AccountID    `json:"account"`
		Operation OperationKey `json:"operation"`
		Delta     money.Money  `json:"delta"`
		Balance   money.Money  `json:"balance"`
		Version   int64        `json:"version"`
	}
	// OperationApplied: an operation was applied (once, whatever the redeliveries).
	OperationApplied struct {
		Operation OperationKey `json:"operation"`
		Kind      Kind         `json:"kind"`
		Debit     AccountID    `json:"debit,omitempty"`
		Credit    AccountID    `json:"credit,omitempty"`
		Amount    money.Money  `json:"amount"`
		Ref       Ref          `json:"ref"`
	}
	// OperationRejected: an operation another context asked for broke a rule (insufficient
	// funds, a reused key ...): the explicit failure its requester waits for.
	OperationRejected struct {
		Operation OperationKey `json:"operation"`
		Kind      Kind         `json:"kind"`
		Ref       Ref          `json:"ref"`
		Code      string       `json:"code"`
		Reason    string       `json:"reason"`
	}
)

// EventName implements aggregate.Event.
func (AccountOpened) EventName() string { return "accounting.AccountOpened" }

// EventName implements aggregate.Event.
func (BalanceChanged) EventName() string { return "accounting.BalanceChanged" }

// EventName implements aggregate.Event.
func (OperationApplied) EventName() string { return "accounting.OperationApplied" }

// EventName implements aggregate.Event.
func (OperationRejected) EventName() string { return "accounting.OperationRejected" }

// The messages accounting reacts to, as their publishers send them (accounting's reading of
// them: it imports no other context).
const (
	// DonationPledged is crowdfunding's event on topic "crowdfunding": move the donation from
	// the donor to the campaign's owner.
	DonationPledged = "campaigns.DonationPledged"
	// DebitRequested and RefundRequested are payouts' commands on Commands.
	DebitRequested  = "payouts.DebitRequested"
	RefundRequested = "payouts.RefundRequested"
)

// pledged is accounting's reading of DonationPledged.
type pledged struct {
	Campaign string      `json:"campaign"`
	Donation string      `json:"donation"`
	Donor    AccountID   `json:"donor"`
	Owner    AccountID   `json:"owner"`
	Amount   money.Money `json:"amount"`
}

// payoutRequest is accounting's reading of DebitRequested and RefundRequested: one payload, two
// names, so two types.
type payoutRequest struct {
	Withdrawal string      `json:"withdrawal"`
	Account    AccountID   `json:"account"`
	Amount     money.Money `json:"amount"`
}

type (
	debitRequested  payoutRequest
	refundRequested payoutRequest
)

// EventName implements aggregate.Event: the name its publisher gives it.
func (pledged) EventName() string { return DonationPledged }

// EventName implements aggregate.Event: the name its publisher gives it.
func (debitRequested) EventName() string { return DebitRequested }

// EventName implements aggregate.Event: the name its publisher gives it.
func (refundRequested) EventName() string { return RefundRequested }

// operation is a command: apply one operation.
type operation struct {
	key           OperationKey
	kind          Kind
	debit, credit AccountID
	amount        money.Money
	ref           Ref
}

// Handle implements uow.Command.
func (o operation) Handle(ctx context.Context, u *uow.Unit) error {
	return apply(ctx, u, o.key, o.kind, o.debit, o.credit, o.amount, o.ref)
}

// operation is the operation a pledge asks for.
func (p pledged) operation() operation {
	// Both parts escaped: campaign "a" with key "b/c" and campaign "a/b" with key "c" are two
	// donations, not one key.
	return operation{key: OperationKey("donation/" + url.PathEscape(p.Campaign) + "/" + url.PathEscape(p.Donation)), kind: KindTransfer,
		debit: p.Donor, credit: p.Owner, amount: p.Amount, ref: Ref{Campaign: p.Campaign, Donation: p.Donation}}
}

// operation is the withdrawal a debit request asks for.
func (p debitRequested) operation() operation {
	return operation{key: OperationKey("withdrawal/" + p.Withdrawal), kind: KindWithdrawal, debit: p.Account,
		amount: p.Amount, ref: Ref{Withdrawal: p.Withdrawal}}
}

// operation is the refund a refund request asks for.
func (p refundRequested) operation() operation {
	return operation{key: OperationKey("refund/" + p.Withdrawal), kind: KindRefund, credit: p.Account,
		amount: p.Amount, ref: Ref{Withdrawal: p.Withdrawal}}
}

// Consumer is accounting's inbox name.
const Consumer = "accounting"

// Handler returns accounting's consumer: subscribe it to the "crowdfunding" topic and to
// Commands. It applies each operation once (the inbox, and the operation's key), and answers a
// broken rule with OperationRejected in the same unit as the inbox mark. An error is
// saga.Translate's, from a translation this package got wrong.
func Handler(store *uow.Store) (outbox.Handler, error) {
	// The operation each message asks for; the other messages of the topics are not
	// accounting's business.
	translate, err := saga.Translate(outbox.SkipUnknown,
		saga.On(func(p pledged, _ uow.Message) (uow.Command, error) { return p.operation(), nil }),
		saga.On(func(p debitRequested, _ uow.Message) (uow.Command, error) { return p.operation(), nil }),
		saga.On(func(p refundRequested, _ uow.Message) (uow.Command, error) { return p.operation(), nil }),
	)
	if err != nil {
		return nil, err
	}
	return saga.React(store, Consumer, translate, &saga.ReactOptions{
		Rejected: func(ctx context.Context, u *uow.Unit, m uow.Message, rule error) error {
			op, err := translate(m)
			if err != nil || op == nil {
				return err
			}
			o := op.(operation)
			var r *aggregate.RuleError
			errors.As(rule, &r)
			if errors.Is(rule, ErrKeyReused) {
				// The key belongs to another operation: answer this one, record nothing.
				return emit(u, OperationRejected{Operation: o.key, Kind: o.kind, Ref: o.ref, Code: r.Code, Reason: rule.Error()})
			}
			// Record the refusal under the key, so it stays the answer (ErrRejectedBefore finds
			// it and the first answer is sent again).
			stored, err := reject(ctx, u, o, r.Code, rule.Error())
			if err != nil {
				return err
			}
			return emit(u, OperationRejected{Operation: o.key, Kind: o.kind, Ref: o.ref, Code: stored.Rejected, Reason: stored.Reason})
		},
	}), nil
}

// emit publishes an event of accounting that no aggregate records, keyed by its operation.
func emit(u *uow.Unit, e OperationRejected) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("accounting: %w", err)
	}
	return u.Emit(uow.Message{Topic: Topic, Key: e.Operation.String(), Name: e.EventName(), Payload: b})
}

// Package accounting is the crowdfunding system's accounting context: accounts with a balance
// and a ledger of operations, deposits, transfers between accounts, and withdrawals paid out by
// the payouts context (debited, then refunded if the payout fails).
//
// It talks to the other contexts only through messages: it reacts to crowdfunding's
// DonationPledged with a transfer, and to payouts' DebitRequested and RefundRequested commands,
// and publishes what happened on its topic. Every operation is an Operation aggregate whose ID
// is its idempotency key, scoped to the operation ("donation/<campaign>/<donation>", each part
// path-escaped,
// "withdrawal/<id>", "refund/<id>", "deposit/<key>"), never to an account: seed 002 kept keys
// per account, so a key reused for a second campaign credited its owner without debiting the
// donor.
package accounting

import (
	"context"
	"errors"
	"fmt"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
)

// Topic is where accounting publishes its events; Commands is where other contexts send it
// commands.
const (
	Topic    = "accounting"
	Commands = "accounting.commands"
)

// Errors: business rules, returned wrapped.
var (
	ErrInsufficientFunds = aggregate.NewRule("insufficient_funds", "insufficient funds")
	ErrCurrencyMismatch  = aggregate.NewRule("currency_mismatch", "the amount's currency is not the account's")
	ErrInvalidAmount     = aggregate.NewRule("invalid_amount", "the amount must be positive")
	ErrUnknownAccount    = aggregate.NewRule("unknown_account", "unknown account")
	ErrAccountExists     = aggregate.NewRule("account_exists", "the account exists")
	// ErrKeyReused is an idempotency key already used by a different operation.
	ErrKeyReused = aggregate.NewRule("key_reused", "the idempotency key was used for another operation")
	// ErrSameAccount is a transfer from an account to itself.
	ErrSameAccount = aggregate.NewRule("same_account", "the debited and credited accounts are the same")
	// ErrRejectedBefore is an operation asked for again after it was rejected: the answer under
	// its key stays the first one (see Operation.Rejected).
	ErrRejectedBefore = aggregate.NewRule("rejected_before", "the operation was rejected before")
)

// AccountID identifies an account.
type AccountID string

// Account is an account: a balance in one currency that never goes below zero.
type Account struct {
	aggregate.Root[AccountID]
	Owner   string      `json:"owner"`
	Balance money.Money `json:"balance"`
}

// AggregateType is Account's stable name: its storage kind and the topic of its events.
func (*Account) AggregateType() string { return "Account" }

// Kind is what an operation does.
type Kind string

// The operations.
const (
	KindDeposit    Kind = "deposit"    // money in from outside: credit
	KindTransfer   Kind = "transfer"   // debit one account, credit another
	KindWithdrawal Kind = "withdrawal" // debit, the money leaves through payouts
	KindRefund     Kind = "refund"     // credit back a withdrawal that was not paid
)

// OperationKey is an operation's idempotency key and ID.
type OperationKey string

// String returns the key as text: the key of the messages about the operation.
func (k OperationKey) String() string { return string(k) }

// Operation is one entry of the ledger: what moved, between which accounts. Its ID is its
// idempotency key, so an operation is applied once whatever the redeliveries, and a key reused
// for a different operation is refused.
type Operation struct {
	aggregate.Root[OperationKey]
	Kind   Kind        `json:"kind"`
	Debit  AccountID   `json:"debit,omitempty"`
	Credit AccountID   `json:"credit,omitempty"`
	Amount money.Money `json:"amount"`
	// Ref is what the operation is for: a donation, a withdrawal.
	Ref Ref `json:"ref"`
	// Rejected is, for an operation another context asked for and a rule refused, the rule's
	// code (Reason says why): the operation moved nothing, and asking for it again under its
	// key gets the same answer, however late (after the inbox forgot the message), never a
	// transfer the requester was told had failed.
	Rejected string `json:"rejected,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// AggregateType is Operation's stable name: its storage kind and the topic of its events.
func (*Operation) AggregateType() string { return "Operation" }

// Ref names what another context asked an operation for, echoed in its events.
type Ref struct {
	Campaign   string `json:"campaign,omitempty"`
	Donation   string `json:"donation,omitempty"`
	Withdrawal string `json:"withdrawal,omitempty"`
}

// same reports whether o is the operation asked for again (a redelivery, a retry).
func (o *Operation) same(kind Kind, debit, credit AccountID, amount money.Money, ref Ref) bool {
	return o.Kind == kind && o.Debit == debit && o.Credit == credit && o.Amount.Equal(amount) && o.Ref == ref
}

// OpenAccount opens an empty account.
func OpenAccount(ctx context.Context, store *uow.Store, id AccountID, owner string, c money.Currency) error {
	err := uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
		root, err := aggregate.NewRoot(id)
		if err != nil {
			return err
		}
		a := &Account{Root: root, Owner: owner, Balance: money.Zero(c)}
		a.Record(AccountOpened{Account: id, Owner: owner, Currency: c.Code()})
		return uow.Repo[Account, AccountID](u).Add(ctx, a)
	}, nil)
	if errors.Is(err, uow.ErrDuplicate) {
		return fmt.Errorf("%w: %s", ErrAccountExists, id)
	}
	return err
}

// Deposit pays amount into the account, once per key.
func Deposit(ctx context.Context, store *uow.Store, key string, to AccountID, amount money.Money) error {
	return uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
		return apply(ctx, u, OperationKey("deposit/"+key), KindDeposit, "", to, amount, Ref{})
	}, nil)
}

// apply records the operation key and moves its money in unit u: a key seen with the same
// operation does nothing (it was applied); with another, it is ErrKeyReused. The accounts record
// Debited and Credited with their new balances.
func apply(ctx context.Context, u *uow.Unit, key OperationKey, kind Kind, debit, credit AccountID, amount money.Money, ref Ref) error {
	ops := uow.Repo[Operation, OperationKey](u)
	if op, err := ops.Get(ctx, key); err == nil {
		switch {
		case !op.same(kind, debit, credit, amount, ref):
			return fmt.Errorf("%w: %s", ErrKeyReused, key)
		case op.Rejected != "":
			return fmt.Errorf("%w: %s: %s", ErrRejectedBefore, key, op.Reason)
		}
		return nil
	} else if !errors.Is(err, uow.ErrNotFound) {
		return err
	}
	if !amount.IsPositive() {
		return fmt.Errorf("%w: %s", ErrInvalidAmount, amount)
	}
	if debit != "" && debit == credit {
		return fmt.Errorf("%w: %s", ErrSameAccount, debit)
	}
	accounts := uow.Repo[Account, AccountID](u)
	move := func(id AccountID, sign int) error {
		a, err := accounts.Get(ctx, id)
		if errors.Is(err, uow.ErrNotFound) {
			return fmt.Errorf("%w: %s", ErrUnknownAccount, id)
		} else if err != nil {
			return err
		}
		if a.Balance.Currency() != amount.Currency() {
			return fmt.Errorf("%w: %s for account %s", ErrCurrencyMismatch, amount, id)
		}
		delta := amount
		if sign < 0 {
			delta = amount.Neg()
		}
		b, err := a.Balance.Add(delta)
		if err != nil {
			return err
		}
		if b.IsNegative() {
			return fmt.Errorf("%w: account %s holds %s, %s needs %s", ErrInsufficientFunds, id, a.Balance, key, amount)
		}
		a.Balance = b
		a.Record(BalanceChanged{Account: id, Operation: key, Delta: delta, Balance: b, Version: a.Version() + 1})
		return nil
	}
	if debit != "" {
		if err := move(debit, -1); err != nil {
			return err
		}
	}
	if credit != "" {
		if err := move(credit, +1); err != nil {
			return err
		}
	}
	root, err := aggregate.NewRoot(key)
	if err != nil {
		return err
	}
	op := &Operation{Root: root, Kind: kind, Debit: debit, Credit: credit, Amount: amount, Ref: ref}
	op.Record(OperationApplied{Operation: key, Kind: kind, Debit: debit, Credit: credit, Amount: amount, Ref: ref})
	return ops.Add(ctx, op)
}

// Ledger returns the operations that moved money in or out of the account.
func Ledger(ctx context.Context, store *uow.Store, id AccountID) ([]*Operation, error) {
	var out []*Operation
	err := read(ctx, store, func(u *uow.Unit) (err error) {
		out, err = uow.Repo[Operation, OperationKey](u).FindFunc(ctx, func(o *Operation) bool {
			return o.Rejected == "" && (o.Debit == id || o.Credit == id)
		})
		return err
	})
	return out, err
}

// reject records, under its key, an operation a rule refused, unless its key holds one already.
// It returns the operation as stored: the first answer.
func reject(ctx context.Context, u *uow.Unit, o operation, code, reason string) (*Operation, error) {
	return uow.Repo[Operation, OperationKey](u).GetOrAdd(ctx, o.key, func(key OperationKey) (*Operation, error) {
		root, err := aggregate.NewRoot(key)
		return &Operation{Root: root, Kind: o.kind, Debit: o.debit, Credit: o.credit, Amount: o.amount, Ref: o.ref,
			Rejected: code, Reason: reason}, err
	})
}

// Accounts returns every account.
func Accounts(ctx context.Context, store *uow.Store) ([]*Account, error) {
	var out []*Account
	err := read(ctx, store, func(u *uow.Unit) (err error) {
		out, err = uow.Repo[Account, AccountID](u).Find(ctx)
		return err
	})
	return out, err
}

// Operations returns every operation applied (not the rejected ones: see Rejections).
func Operations(ctx context.Context, store *uow.Store) ([]*Operation, error) {
	var out []*Operation
	err := read(ctx, store, func(u *uow.Unit) (err error) {
		out, err = uow.Repo[Operation, OperationKey](u).FindFunc(ctx, func(o *Operation) bool { return o.Rejected == "" })
		return err
	})
	return out, err
}

// Rejections returns every operation a rule refused.
func Rejections(ctx context.Context, store *uow.Store) ([]*Operation, error) {
	var out []*Operation
	err := read(ctx, store, func(u *uow.Unit) (err error) {
		out, err = uow.Repo[Operation, OperationKey](u).FindFunc(ctx, func(o *Operation) bool { return o.Rejected != "" })
		return err
	})
	return out, err
}

// read runs fn in a unit that is rolled back.
func read(ctx context.Context, store *uow.Store, fn func(u *uow.Unit) error) error {
	u, err := store.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = u.Rollback(context.WithoutCancel(ctx)) }()
	return fn(u)
}

// NewStore returns accounting's store on d (a driver of its own: its own tables), publishing its
// aggregates' events on Topic, timed by clock (nil: the system clock).
func NewStore(d driver.Driver, clock uow.Clock) *uow.Store {
	return uow.NewStore(d, &uow.Options{Clock: clock, Topic: func(aggregate.Envelope) string { return Topic }})
}

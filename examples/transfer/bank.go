package transfer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
)

// Strategy is how a transfer keeps the two accounts consistent under concurrency: the four
// classic designs, optimistic, pessimistic, keyed locks and eventual.
type Strategy int

const (
	// Default is the bank's own strategy (Options.Strategy).
	Default Strategy = iota
	// Optimistic loads the accounts without locks; the commit compares their versions and a
	// concurrent change retries the whole command.
	Optimistic
	// Pessimistic loads both accounts FOR UPDATE, in account number order (so two transfers
	// never deadlock), and holds them until the commit.
	Pessimistic
	// Keyed takes a lock per account number before loading (uow.Unit.Lock: advisory locks on
	// PostgreSQL, named locks on MySQL and MariaDB, across processes; in-process on SQLite and
	// memuow), then loads and commits optimistically.
	Keyed
	// Eventual checks the balance as read (best effort), lets the domain return the changes,
	// and has the database add them to the balances atomically (balance = balance + delta):
	// no conflicts, no locks held across the command, and concurrent debits can overdraw an
	// account, which the outcome reports. The events reach the outbox like any other. On
	// memuow (documents, with no "add to a column") the balances are rewritten under the
	// version check instead, so there it retries on conflicts like Optimistic.
	Eventual
)

var strategyNames = [...]string{"default", "optimistic", "pessimistic", "keyed", "eventual"}

// Strategies returns the four strategies.
func Strategies() []Strategy { return []Strategy{Optimistic, Pessimistic, Keyed, Eventual} }

// String returns the strategy's name: "optimistic", "pessimistic", "keyed", "eventual".
func (s Strategy) String() string {
	if s < 0 || int(s) >= len(strategyNames) {
		return fmt.Sprintf("Strategy(%d)", int(s))
	}
	return strategyNames[s]
}

// ParseStrategy returns the strategy named s as String writes it, in any case ("default" gives
// Default), or an error wrapping ErrInvalidInput.
func ParseStrategy(s string) (Strategy, error) {
	for i, n := range strategyNames {
		if strings.EqualFold(s, n) {
			return Strategy(i), nil
		}
	}
	return 0, fmt.Errorf("%w: strategy %q: want optimistic, pessimistic, keyed or eventual", ErrInvalidInput, s)
}

// MarshalText encodes the strategy as its name.
func (s Strategy) MarshalText() ([]byte, error) {
	if s < 0 || int(s) >= len(strategyNames) {
		return nil, fmt.Errorf("transfer: %w: %v", ErrInvalidInput, s)
	}
	return []byte(strategyNames[s]), nil
}

// UnmarshalText decodes a name as ParseStrategy does, leaving s unchanged on error.
func (s *Strategy) UnmarshalText(b []byte) error {
	v, err := ParseStrategy(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Options tune a Bank. The zero value (or nil) means the defaults.
type Options struct {
	// Strategy is used by transfers that ask for Default; zero means Optimistic.
	Strategy Strategy
	// Do tunes the retries of conflicts; nil means up to 100 attempts, waiting 1ms to 50ms.
	Do *uow.DoOptions
}

// Bank is the application service: it opens accounts, takes deposits and posts transfers, each
// command in one unit of work on its store, with every rule of the domain always on. It is safe
// for concurrent use.
type Bank struct {
	store    *uow.Store
	st       storage
	strategy Strategy
	do       uow.DoOptions
}

// New returns a bank on store. On the SQLite, PostgreSQL and MySQL drivers it keeps its
// aggregates in relational tables, account, transfer and deposit, which Migrate
// creates; on any other driver (memuow) as JSON documents. opts may be nil.
func New(store *uow.Store, opts *Options) (*Bank, error) {
	if store == nil {
		return nil, fmt.Errorf("transfer: %w: nil store", uow.ErrInvalid)
	}
	b := &Bank{store: store, st: storageFor(store), strategy: Optimistic,
		do: uow.DoOptions{MaxAttempts: 100, MinBackoff: time.Millisecond, MaxBackoff: 50 * time.Millisecond}}
	if opts != nil {
		if opts.Strategy != Default {
			if opts.Strategy < Optimistic || opts.Strategy > Eventual {
				return nil, fmt.Errorf("transfer: %w: %v", uow.ErrInvalid, opts.Strategy)
			}
			b.strategy = opts.Strategy
		}
		if opts.Do != nil {
			b.do = *opts.Do
		}
	}
	return b, nil
}

// Migrate creates the driver's tables (its Migrate method, if it has one) and the bank's
// account, transfer and deposit tables on the SQL drivers. It is idempotent.
func Migrate(ctx context.Context, d driver.Driver) error {
	if m, ok := d.(interface{ Migrate(context.Context) error }); ok {
		if err := m.Migrate(ctx); err != nil {
			return err
		}
	}
	if t, ok := storageFor(uow.NewStore(d, nil)).(*tables); ok {
		return t.migrate(ctx)
	}
	return nil
}

// Store returns the bank's store.
func (b *Bank) Store() *uow.Store { return b.store }

// Strategy returns the strategy of transfers that ask for Default.
func (b *Bank) Strategy() Strategy { return b.strategy }

// Finder returns the bank's read side.
func (b *Bank) Finder() *Finder { return &Finder{q: b.st} }

// OpenAccount opens an empty account numbered n in currency c (an ISO 4217 currency). Errors
// wrap ErrInvalidInput or ErrAccountExists.
func (b *Bank) OpenAccount(ctx context.Context, n AccountNumber, c money.Currency) error {
	if c.IsZero() || c.IsCustom() {
		return fmt.Errorf("%w: account %s: want an ISO 4217 currency, not %q", ErrInvalidInput, n, c.Code())
	}
	err := uow.Do(ctx, b.store, func(ctx context.Context, u *uow.Unit) error {
		a, err := OpenAccount(n, c, u.Now())
		if err != nil {
			return err
		}
		return b.st.accounts(u).Add(ctx, a)
	}, &b.do)
	if errors.Is(err, uow.ErrDuplicate) {
		return fmt.Errorf("%w: %s", ErrAccountExists, n)
	}
	return err
}

// DepositOutcome is what a deposit did. Replayed reports a retried request: the deposit was made
// before, nothing moved now, and the event is the first one.
type DepositOutcome struct {
	MoneyDeposited
	Replayed bool `json:"replayed,omitempty"`
}

// Deposit pays r.Amount into r.Account, once per deposit ID: a retry of the same request
// returns the first outcome. Errors wrap ErrInvalidInput, ErrUnknownAccount,
// ErrCurrencyMismatch or ErrDuplicateDeposit; technical ones are the store's.
func (b *Bank) Deposit(ctx context.Context, r DepositRequest) (DepositOutcome, error) {
	if err := r.ID.Validate(); err != nil {
		return DepositOutcome{}, err
	}
	if err := r.Account.Validate(); err != nil {
		return DepositOutcome{}, err
	}
	var out DepositOutcome
	err := uow.Do(ctx, b.store, func(ctx context.Context, u *uow.Unit) error {
		out = DepositOutcome{}
		if d, err := b.st.deposits(u).Get(ctx, r.ID); err == nil {
			if !d.Matches(r) {
				return fmt.Errorf("%w: %s", ErrDuplicateDeposit, r.ID)
			}
			out = DepositOutcome{MoneyDeposited: d.Outcome(), Replayed: true}
			return nil
		} else if !errors.Is(err, uow.ErrNotFound) {
			return err
		}
		a, err := b.st.accounts(u).Get(ctx, r.Account)
		if err != nil {
			return unknownAccount(r.Account, err)
		}
		d, err := a.Deposit(r.ID, r.Amount, u.Now())
		if err != nil {
			return err
		}
		out.MoneyDeposited = d.Outcome()
		return b.st.deposits(u).Add(ctx, d)
	}, &b.do)
	return out, err
}

// Outcome is what a transfer did: its TransferCompleted event (the debit, the credit and the
// posting), whether it replayed an earlier identical request, how many times the command ran
// (more than 1 after conflicts) and the strategy used.
type Outcome struct {
	TransferCompleted
	Replayed bool     `json:"replayed,omitempty"`
	Attempts int      `json:"attempts"`
	Strategy Strategy `json:"strategy"` // the strategy of this call (a replay's, not the first's)
}

// Transfer posts r with strategy s (Default: the bank's). A retry of a request already posted
// (same transfer number, accounts and amount) returns the first outcome with Replayed set and
// moves nothing. Business errors wrap ErrInvalidInput, ErrSameAccount, ErrUnknownAccount,
// ErrCurrencyMismatch, ErrInsufficientFunds or ErrDuplicateTransfer (all aggregate.ErrRule);
// conflicts are retried (Options.Do) and, when the attempts run out, returned wrapping
// uow.ErrConflict; other errors are the store's.
func (b *Bank) Transfer(ctx context.Context, r Request, s Strategy) (Outcome, error) {
	if s == Default {
		s = b.strategy
	}
	if s < Optimistic || s > Eventual {
		return Outcome{}, fmt.Errorf("%w: %v", ErrInvalidInput, s)
	}
	if err := r.Validate(); err != nil {
		return Outcome{}, err
	}
	var out Outcome
	attempts := 0
	err := uow.Do(ctx, b.store, func(ctx context.Context, u *uow.Unit) error {
		attempts++
		out = Outcome{}
		if found, err := b.replay(ctx, u, r, &out); found || err != nil {
			return err
		}
		t, err := b.post(ctx, u, r, s)
		if errors.Is(err, aggregate.ErrRule) {
			// The same request may have been posted since we looked, by a caller we then waited
			// for (a lock) or whose debit we then read: the state that refused us includes its
			// transfer, so looking again finds it.
			if found, rerr := b.replay(ctx, u, r, &out); found || rerr != nil {
				return rerr
			}
		}
		if err != nil {
			return err
		}
		out.TransferCompleted = t.Outcome()
		return b.st.transfers(u).Add(ctx, t)
	}, &b.do)
	out.Attempts, out.Strategy = attempts, s
	return out, err
}

// replay looks for the transfer r's number posted: found, it sets out to its outcome when it is
// r's (a retry), or returns ErrDuplicateTransfer.
func (b *Bank) replay(ctx context.Context, u *uow.Unit, r Request, out *Outcome) (bool, error) {
	t, err := b.st.transfers(u).Get(ctx, TransferIDOf(r.Number))
	switch {
	case errors.Is(err, uow.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	case !t.Matches(r):
		return true, fmt.Errorf("%w: %s", ErrDuplicateTransfer, r.Number)
	}
	out.TransferCompleted, out.Replayed = t.Outcome(), true
	return true, nil
}

// post moves the money of r in unit u with strategy s and returns the transfer to add.
func (b *Bank) post(ctx context.Context, u *uow.Unit, r Request, s Strategy) (*Transfer, error) {
	repo := b.st.accounts(u)
	switch s {
	case Pessimistic:
		first, second := r.From, r.To
		if second < first {
			first, second = second, first
		}
		for _, n := range []AccountNumber{first, second} {
			if _, err := repo.GetForUpdate(ctx, n); err != nil {
				return nil, unknownAccount(n, err)
			}
		}
	case Keyed:
		if err := u.Lock(ctx, fmt.Sprintf("bank-account:%s", r.From), fmt.Sprintf("bank-account:%s", r.To)); err != nil {
			return nil, err
		}
	}
	accs, err := loadAccounts(ctx, repo, r.From, r.To) // tracked ones come from the identity map
	if err != nil {
		return nil, err
	}
	if s != Eventual {
		return Post(r, accs[0], accs[1], u.Now())
	}
	changes, err := Plan(r, accs[0], accs[1])
	if err != nil {
		return nil, err
	}
	balances, err := b.st.apply(ctx, u, changes)
	if err != nil {
		return nil, err
	}
	t, err := Posted(r, u.Now(), balances[0], balances[1])
	if err != nil {
		return nil, err
	}
	o := t.Outcome()
	if err := emit(u, accs[0], o.Debited); err != nil {
		return nil, err
	}
	return t, emit(u, accs[1], o.Credited)
}

// emit writes an account's event to the outbox as the account would have recorded it: the
// eventual strategy changes balances in the database, not through the aggregate.
func emit(u *uow.Unit, a *Account, e aggregate.Event) error {
	payload, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return u.Emit(uow.Message{Topic: a.AggregateType(), Key: a.AggregateID(), Name: e.EventName(), Payload: payload,
		Headers: map[string]string{uow.HeaderAggregateType: a.AggregateType(), uow.HeaderAggregateID: a.AggregateID()}})
}

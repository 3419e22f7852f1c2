package transfer

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/money"
)

// AccountNumber is an account's number and its aggregate ID: exactly 12 decimal digits.
type AccountNumber string

// ParseAccountNumber returns s as an AccountNumber, or an error wrapping ErrInvalidInput unless
// it is exactly 12 ASCII digits.
func ParseAccountNumber(s string) (AccountNumber, error) {
	n := AccountNumber(s)
	if err := n.Validate(); err != nil {
		return "", err
	}
	return n, nil
}

// Validate returns an error wrapping ErrInvalidInput unless n is exactly 12 ASCII digits.
func (n AccountNumber) Validate() error {
	if len(n) != 12 {
		return fmt.Errorf("%w: account number %q: want 12 digits", ErrInvalidInput, n)
	}
	for i := range len(n) {
		if n[i] < '0' || n[i] > '9' {
			return fmt.Errorf("%w: account number %q: want 12 digits", ErrInvalidInput, n)
		}
	}
	return nil
}

// Account is a bank account: its number, a balance in one currency that the strong strategies
// never let go below zero, and its lifetime sums: every deposit, credit and debit it ever had,
// so that its balance is always Deposited + Credited - Debited and the books reconcile from the
// accounts alone. Its fields are unexported: it changes only through Deposit and Post (and the
// eventual strategy's Changes, applied by storage), which record an event for every change.
//
// A balance stays within ±(2^63-1) minor units of its currency (92,233,720,368,547,758.07 USD),
// what every store keeps exactly as a 64-bit integer: a deposit or transfer that would leave one
// beyond is refused with ErrInvalidInput. The lifetime sums have no such bound.
//
// An Account belongs to one unit of work at a time and is not safe for concurrent use.
type Account struct {
	aggregate.Root[AccountNumber]
	balance                      money.Money
	deposited, credited, debited money.Money
	openedAt                     time.Time
}

// AggregateType is Account's stable name: its storage kind and the topic of its events.
func (*Account) AggregateType() string { return "Account" }

// OpenAccount returns a new, empty account in currency c, recording AccountOpened. A malformed
// number wraps ErrInvalidInput.
func OpenAccount(number AccountNumber, c money.Currency, at time.Time) (*Account, error) {
	if err := number.Validate(); err != nil {
		return nil, err
	}
	if c.IsZero() {
		return nil, fmt.Errorf("%w: account %s: no currency", ErrInvalidInput, number)
	}
	root, err := aggregate.NewRoot(number)
	if err != nil {
		return nil, err
	}
	z := money.Zero(c)
	a := &Account{Root: root, balance: z, deposited: z, credited: z, debited: z, openedAt: stamp(at)}
	a.Record(AccountOpened{Account: number, Currency: c.Code(), At: a.openedAt})
	return a, nil
}

// restoreAccount rebuilds an account read from storage: l holds its balance and lifetime sums.
func restoreAccount(l LedgerLine, openedAt time.Time, version int64) (*Account, error) {
	root, err := aggregate.RestoreRoot(l.Account, version)
	if err != nil {
		return nil, err
	}
	return &Account{Root: root, balance: l.Balance, deposited: l.Deposited, credited: l.Credited, debited: l.Debited,
		openedAt: openedAt.UTC()}, nil
}

// Number returns the account's number.
func (a *Account) Number() AccountNumber { return a.ID() }

// Balance returns the account's balance.
func (a *Account) Balance() money.Money { return a.balance }

// Currency returns the account's currency.
func (a *Account) Currency() money.Currency { return a.balance.Currency() }

// OpenedAt returns when the account was opened.
func (a *Account) OpenedAt() time.Time { return a.openedAt }

// Deposited returns the sum of every deposit the account ever took.
func (a *Account) Deposited() money.Money { return a.deposited }

// Credited returns the sum of every transfer the account ever received.
func (a *Account) Credited() money.Money { return a.credited }

// Debited returns the sum of every transfer the account ever paid.
func (a *Account) Debited() money.Money { return a.debited }

// ledger returns the account's balance and lifetime sums.
func (a *Account) ledger() LedgerLine {
	return LedgerLine{Account: a.Number(), Balance: a.balance, Deposited: a.deposited, Credited: a.credited, Debited: a.debited}
}

// Deposit adds a positive amount in the account's currency, recording MoneyDeposited, and
// returns the deposit to store. Errors wrap ErrInvalidInput or ErrCurrencyMismatch; the account
// is then unchanged.
func (a *Account) Deposit(id DepositID, amount money.Money, at time.Time) (*Deposit, error) {
	if err := id.Validate(); err != nil {
		return nil, err
	}
	if err := a.accepts(amount); err != nil {
		return nil, err
	}
	balance, err := a.after(amount)
	if err != nil {
		return nil, err
	}
	deposited, err := a.deposited.Add(amount)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	root, err := aggregate.NewRoot(id)
	if err != nil {
		return nil, err
	}
	a.balance, a.deposited = balance, deposited
	d := &Deposit{Root: root, account: a.Number(), amount: amount, balance: balance, at: stamp(at)}
	a.Record(MoneyDeposited{Account: a.Number(), Deposit: id, Amount: amount, Balance: balance, At: d.at})
	return d, nil
}

// accepts checks that amount is positive, in the account's currency and no larger than a
// balance can be.
func (a *Account) accepts(amount money.Money) error {
	if amount.Currency() != a.Currency() {
		return fmt.Errorf("%w: %s into account %s in %s", ErrCurrencyMismatch, amount, a.Number(), a.Currency().Code())
	}
	if !amount.IsPositive() {
		return fmt.Errorf("%w: amount %s: must be positive", ErrInvalidInput, amount)
	}
	return checkAmount(amount)
}

// after returns the balance that adding delta (negative for a debit) would leave, or an error
// wrapping ErrInvalidInput if it is beyond what a balance can be.
func (a *Account) after(delta money.Money) (money.Money, error) {
	b, err := a.balance.Add(delta)
	if err != nil {
		return money.Money{}, fmt.Errorf("%w: %w", ErrCurrencyMismatch, err)
	}
	if _, err := b.MinorUnits(); err != nil {
		return money.Money{}, beyond(a.Number(), a.balance, b)
	}
	return b, nil
}

// beyond is the error of a change that would take account n from holding holds to a balance of
// would, beyond the largest the bank keeps.
func beyond(n AccountNumber, holds, would money.Money) error {
	return fmt.Errorf("%w: account %s holds %s: a balance of %s would be beyond the largest the bank keeps, ±%s",
		ErrInvalidInput, n, holds, would, maxBalance(would.Currency()))
}

// moved returns the account's balance and lifetime sums after a credit (a positive delta) or a
// debit (a negative one), without changing the account; set makes them the account's. An error
// wraps ErrInvalidInput: a balance beyond the largest the bank keeps.
func (a *Account) moved(delta money.Money) (LedgerLine, error) {
	l := a.ledger()
	var err error
	if l.Balance, err = a.after(delta); err != nil {
		return LedgerLine{}, err
	}
	if delta.IsNegative() {
		l.Debited, err = l.Debited.Add(delta.Neg())
	} else {
		l.Credited, err = l.Credited.Add(delta)
	}
	if err != nil {
		return LedgerLine{}, fmt.Errorf("%w: account %s: %w", ErrInvalidInput, a.Number(), err)
	}
	return l, nil
}

// set makes l's balance and lifetime sums the account's (see moved).
func (a *Account) set(l LedgerLine) {
	a.balance, a.deposited, a.credited, a.debited = l.Balance, l.Deposited, l.Credited, l.Debited
}

// maxBalance is the largest balance the bank keeps in c: 2^63-1 minor units.
func maxBalance(c money.Currency) money.Money {
	m, _ := money.FromMinorUnits(math.MaxInt64, c) // every currency has at most 18 minor units: it fits
	return m
}

// checkAmount returns an error wrapping ErrInvalidInput unless m is within what a balance can be,
// ±(2^63-1) minor units: no amount beyond it can be deposited or transferred.
func checkAmount(m money.Money) error {
	if _, err := m.MinorUnits(); err != nil {
		return fmt.Errorf("%w: amount %s is beyond the largest balance the bank keeps, %s", ErrInvalidInput, m, maxBalance(m.Currency()))
	}
	return nil
}

// accountDoc is an Account's JSON document, for stores that keep documents (memuow).
type accountDoc struct {
	Balance   money.Money `json:"balance"`
	Deposited money.Money `json:"deposited"`
	Credited  money.Money `json:"credited"`
	Debited   money.Money `json:"debited"`
	OpenedAt  time.Time   `json:"opened_at"`
}

// MarshalJSON encodes the account's state (not its number or version: storage keeps those).
func (a *Account) MarshalJSON() ([]byte, error) {
	return json.Marshal(accountDoc{Balance: a.balance, Deposited: a.deposited, Credited: a.credited, Debited: a.debited,
		OpenedAt: a.openedAt})
}

// UnmarshalJSON decodes what MarshalJSON wrote, leaving a unchanged on error. Every amount is in
// the balance's currency.
func (a *Account) UnmarshalJSON(b []byte) error {
	var d accountDoc
	if err := json.Unmarshal(b, &d); err != nil {
		return fmt.Errorf("transfer: account document: %w", err)
	}
	c := d.Balance.Currency()
	if c.IsZero() {
		return fmt.Errorf("transfer: account document: no balance")
	}
	for _, m := range []money.Money{d.Deposited, d.Credited, d.Debited} {
		if m.Currency() != c {
			return fmt.Errorf("transfer: account document: want its lifetime sums (deposited, credited, debited) in %s, not %v",
				c.Code(), m)
		}
	}
	a.balance, a.deposited, a.credited, a.debited, a.openedAt = d.Balance, d.Deposited, d.Credited, d.Debited, d.OpenedAt.UTC()
	return nil
}

// stamp returns t as the bank keeps times: UTC, to the microsecond (what every store holds), so
// an outcome read back equals the one first returned.
func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

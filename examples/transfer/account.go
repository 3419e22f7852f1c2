package transfer

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/money"
)

// AccountNumber is an account's number and its aggregate ID: exactly 12 decimal digits.
type AccountNumber string

// ParseAccountNumber returns s as an AccountNumber, or an error wrapping ErrInvalidInput unless
// it is exactly 12 ASCII digits.
func ParseAccountNumber(s string) (AccountNumber, error) {
	if len(s) != 12 {
		return "", fmt.Errorf("%w: account number %q: want 12 digits", ErrInvalidInput, s)
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return "", fmt.Errorf("%w: account number %q: want 12 digits", ErrInvalidInput, s)
		}
	}
	return AccountNumber(s), nil
}

// Account is a bank account: its number, and a balance in one currency that the strong
// strategies never let go below zero. Its fields are unexported: it changes only through
// Deposit and Post, which record an event for every change.
//
// An Account belongs to one unit of work at a time and is not safe for concurrent use.
type Account struct {
	aggregate.Root[AccountNumber]
	balance  money.Money
	openedAt time.Time
}

// OpenAccount returns a new, empty account in currency c, recording AccountOpened. A malformed
// number wraps ErrInvalidInput.
func OpenAccount(number AccountNumber, c money.Currency, at time.Time) (*Account, error) {
	if _, err := ParseAccountNumber(string(number)); err != nil {
		return nil, err
	}
	if c.IsZero() {
		return nil, fmt.Errorf("%w: account %s: no currency", ErrInvalidInput, number)
	}
	root, err := aggregate.NewRoot(number)
	if err != nil {
		return nil, err
	}
	a := &Account{Root: root, balance: money.Zero(c), openedAt: stamp(at)}
	a.Record(AccountOpened{Account: number, Currency: c.Code(), At: a.openedAt})
	return a, nil
}

// restoreAccount rebuilds an account read from storage.
func restoreAccount(number AccountNumber, balance money.Money, openedAt time.Time, version int64) (*Account, error) {
	root, err := aggregate.RestoreRoot(number, version)
	if err != nil {
		return nil, err
	}
	return &Account{Root: root, balance: balance, openedAt: openedAt.UTC()}, nil
}

// Number returns the account's number.
func (a *Account) Number() AccountNumber { return a.ID() }

// Balance returns the account's balance.
func (a *Account) Balance() money.Money { return a.balance }

// Currency returns the account's currency.
func (a *Account) Currency() money.Currency { return a.balance.Currency() }

// OpenedAt returns when the account was opened.
func (a *Account) OpenedAt() time.Time { return a.openedAt }

// Deposit adds a positive amount in the account's currency, recording MoneyDeposited, and
// returns the deposit to store. Errors wrap ErrInvalidInput or ErrCurrencyMismatch; the account
// is then unchanged.
func (a *Account) Deposit(id DepositID, amount money.Money, at time.Time) (*Deposit, error) {
	if _, err := ParseDepositID(string(id)); err != nil {
		return nil, err
	}
	if err := a.accepts(amount); err != nil {
		return nil, err
	}
	balance, err := a.balance.Add(amount)
	if err != nil {
		return nil, err
	}
	root, err := aggregate.NewRoot(id)
	if err != nil {
		return nil, err
	}
	a.balance = balance
	d := &Deposit{Root: root, account: a.Number(), amount: amount, balance: balance, at: stamp(at)}
	a.Record(MoneyDeposited{Account: a.Number(), Deposit: id, Amount: amount, Balance: balance, At: d.at})
	return d, nil
}

// accepts checks that amount is positive and in the account's currency.
func (a *Account) accepts(amount money.Money) error {
	if amount.Currency() != a.Currency() {
		return fmt.Errorf("%w: %s into account %s in %s", ErrCurrencyMismatch, amount, a.Number(), a.Currency().Code())
	}
	if !amount.IsPositive() {
		return fmt.Errorf("%w: amount %s: must be positive", ErrInvalidInput, amount)
	}
	return nil
}

// accountDoc is an Account's JSON document, for stores that keep documents (memuow).
type accountDoc struct {
	Balance  money.Money `json:"balance"`
	OpenedAt time.Time   `json:"opened_at"`
}

// MarshalJSON encodes the account's state (not its number or version: storage keeps those).
func (a *Account) MarshalJSON() ([]byte, error) {
	return json.Marshal(accountDoc{Balance: a.balance, OpenedAt: a.openedAt})
}

// UnmarshalJSON decodes what MarshalJSON wrote, leaving a unchanged on error.
func (a *Account) UnmarshalJSON(b []byte) error {
	var d accountDoc
	if err := json.Unmarshal(b, &d); err != nil {
		return fmt.Errorf("transfer: account document: %w", err)
	}
	if d.Balance.Currency().IsZero() {
		return fmt.Errorf("transfer: account document: no balance")
	}
	a.balance, a.openedAt = d.Balance, d.OpenedAt.UTC()
	return nil
}

// stamp returns t as the bank keeps times: UTC, to the microsecond (what every store holds), so
// an outcome read back equals the one first returned.
func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

package transfer

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/money"
)

// TransferNumber is the number a client gives a transfer: its idempotency key. A request retried
// with the same number and the same content returns the first outcome; the same number with
// other content is ErrDuplicateTransfer.
type TransferNumber string

// ParseTransferNumber returns s as a TransferNumber, or an error wrapping ErrInvalidInput unless
// it is 1 to 64 ASCII letters, digits, '-', '_' and '.', starting with a letter or digit.
func ParseTransferNumber(s string) (TransferNumber, error) {
	n := TransferNumber(s)
	if err := n.Validate(); err != nil {
		return "", err
	}
	return n, nil
}

// Validate returns an error wrapping ErrInvalidInput unless n has ParseTransferNumber's syntax.
func (n TransferNumber) Validate() error { return checkReference("transfer number", n) }

// checkReference checks a client-chosen reference (a transfer number, a deposit ID).
func checkReference[S ~string](what string, s S) error {
	if s == "" || len(s) > 64 {
		return fmt.Errorf("%w: %s %q: want 1 to 64 characters", ErrInvalidInput, what, s)
	}
	for i := range len(s) {
		c := s[i]
		alnum := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !alnum && (i == 0 || c != '-' && c != '_' && c != '.') {
			return fmt.Errorf("%w: %s %q: want letters, digits, '-', '_' and '.', starting with a letter or digit",
				ErrInvalidInput, what, s)
		}
	}
	return nil
}

// TransferID identifies a transfer. It is derived from the transfer number (a name-based UUID),
// so a retried request finds the first transfer by ID on every store, and two requests racing
// with one number collide on the primary key instead of both posting.
type TransferID string

// transferSpace is the namespace of the name-based transfer IDs.
var transferSpace = uuid.MustParse("6f1c4f0e-8a4e-4b8e-9a52-3f7e2d6b9c01")

// TransferIDOf returns the ID of the transfer numbered n.
func TransferIDOf(n TransferNumber) TransferID {
	return TransferID(uuid.NewSHA1(transferSpace, []byte(n)).String())
}

// Request asks for a transfer of Amount from account From to account To.
type Request struct {
	Number TransferNumber `json:"number"`
	From   AccountNumber  `json:"from"`
	To     AccountNumber  `json:"to"`
	Amount money.Money    `json:"amount"`
}

// Validate checks what can be checked without the accounts: the numbers are well formed, the
// accounts differ and the amount is positive. Errors wrap ErrInvalidInput or ErrSameAccount.
func (r Request) Validate() error {
	if err := r.Number.Validate(); err != nil {
		return err
	}
	if err := r.From.Validate(); err != nil {
		return err
	}
	if err := r.To.Validate(); err != nil {
		return err
	}
	if r.From == r.To {
		return fmt.Errorf("%w: %s", ErrSameAccount, r.From)
	}
	if r.Amount.Currency().IsZero() || !r.Amount.IsPositive() {
		return fmt.Errorf("%w: amount %s: must be positive", ErrInvalidInput, r.Amount)
	}
	return checkAmount(r.Amount)
}

// Transfer is a posted transfer: immutable once created. Besides who, what and when it keeps
// the balances it left on both accounts, so its outcome can be returned again to a retried
// request and statements show a running balance.
type Transfer struct {
	aggregate.Root[TransferID]
	number        TransferNumber
	debited       AccountNumber
	credited      AccountNumber
	amount        money.Money
	createdAt     time.Time
	debitBalance  money.Money
	creditBalance money.Money
}

// AggregateType is Transfer's stable name: its storage kind and the topic of its events.
func (*Transfer) AggregateType() string { return "Transfer" }

// Number returns the transfer number.
func (t *Transfer) Number() TransferNumber { return t.number }

// Debited returns the debited account's number.
func (t *Transfer) Debited() AccountNumber { return t.debited }

// Credited returns the credited account's number.
func (t *Transfer) Credited() AccountNumber { return t.credited }

// Amount returns the amount moved.
func (t *Transfer) Amount() money.Money { return t.amount }

// CreatedAt returns when the transfer was posted.
func (t *Transfer) CreatedAt() time.Time { return t.createdAt }

// DebitBalance returns the balance the debit left on the debited account.
func (t *Transfer) DebitBalance() money.Money { return t.debitBalance }

// CreditBalance returns the balance the credit left on the credited account.
func (t *Transfer) CreditBalance() money.Money { return t.creditBalance }

// Outcome returns the transfer's outcome, the same whenever it is asked.
func (t *Transfer) Outcome() TransferCompleted {
	id := t.ID()
	return TransferCompleted{
		Debited:  AccountDebited{Account: t.debited, Transfer: id, Amount: t.amount, Balance: t.debitBalance},
		Credited: AccountCredited{Account: t.credited, Transfer: id, Amount: t.amount, Balance: t.creditBalance},
		Posted: TransferPosted{Transfer: id, Number: t.number, Debited: t.debited, Credited: t.credited,
			Amount: t.amount, At: t.createdAt},
		Overdrawn: t.debitBalance.IsNegative(),
	}
}

// Matches reports whether the transfer is what r asks for: a retry of the same request.
func (t *Transfer) Matches(r Request) bool {
	return t.number == r.Number && t.debited == r.From && t.credited == r.To && t.amount.Equal(r.Amount)
}

// newTransfer returns the transfer r posts at the given time, leaving the given balances,
// recording its outcome.
func newTransfer(r Request, at time.Time, debitBalance, creditBalance money.Money) (*Transfer, error) {
	root, err := aggregate.NewRoot(TransferIDOf(r.Number))
	if err != nil {
		return nil, err
	}
	t := &Transfer{Root: root, number: r.Number, debited: r.From, credited: r.To, amount: r.Amount,
		createdAt: stamp(at), debitBalance: debitBalance, creditBalance: creditBalance}
	t.Record(t.Outcome())
	return t, nil
}

// check applies every rule of r to the accounts as given: the request is valid, the accounts
// are r's, the amount is in both currencies, and the debited balance covers it.
func check(r Request, from, to *Account) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if from == nil || to == nil || from.Number() != r.From || to.Number() != r.To {
		return fmt.Errorf("%w: transfer %s needs accounts %s and %s", ErrInvalidInput, r.Number, r.From, r.To)
	}
	if err := from.accepts(r.Amount); err != nil {
		return err
	}
	if err := to.accepts(r.Amount); err != nil {
		return err
	}
	if from.balance.Amount().LessThan(r.Amount.Amount()) {
		return fmt.Errorf("%w: account %s holds %s, transfer %s needs %s",
			ErrInsufficientFunds, from.Number(), from.balance, r.Number, r.Amount)
	}
	return nil
}

// Post is the transfer of the strong strategies: it checks every rule against the accounts as
// loaded (the caller holds them consistently: locked, or version-checked at commit), debits
// from, credits to (each recording its event) and returns the new transfer, which records
// TransferCompleted. On error nothing changed. Errors wrap ErrInvalidInput (a credit that would
// leave a balance beyond the largest the bank keeps, among others), ErrSameAccount,
// ErrCurrencyMismatch or ErrInsufficientFunds.
func Post(r Request, from, to *Account, at time.Time) (*Transfer, error) {
	if err := check(r, from, to); err != nil {
		return nil, err
	}
	debited, err := from.moved(r.Amount.Neg())
	if err != nil {
		return nil, err
	}
	credited, err := to.moved(r.Amount)
	if err != nil {
		return nil, err
	}
	t, err := newTransfer(r, at, debited.Balance, credited.Balance)
	if err != nil {
		return nil, err
	}
	from.set(debited)
	to.set(credited)
	debit, credit := debited.Balance, credited.Balance
	from.Record(AccountDebited{Account: r.From, Transfer: t.ID(), Amount: r.Amount, Balance: debit})
	to.Record(AccountCredited{Account: r.To, Transfer: t.ID(), Amount: r.Amount, Balance: credit})
	return t, nil
}

// Change is a change to an account's balance, what the eventual strategy's domain returns
// instead of new state: storage adds Delta to the stored balance atomically, and its size to the
// account's lifetime credits (a positive Delta) or debits (a negative one), never taking the
// balance beyond ±(2^63-1) minor units.
type Change struct {
	Account AccountNumber
	Delta   money.Money
}

// Plan is the transfer of the eventual strategy: it checks the rules against the accounts as
// read, which may be stale (so the funds check, and the check that the credit leaves a balance
// the bank keeps, are best effort: storage applies the changes only within that range), and
// returns the changes to apply, debit first, without changing the accounts. Errors are Post's.
func Plan(r Request, from, to *Account) ([]Change, error) {
	if err := check(r, from, to); err != nil {
		return nil, err
	}
	if _, err := to.after(r.Amount); err != nil {
		return nil, err
	}
	return []Change{{Account: r.From, Delta: r.Amount.Neg()}, {Account: r.To, Delta: r.Amount}}, nil
}

// Posted returns the transfer the eventual strategy stores once its changes are applied,
// leaving the given balances (the debit's may be negative: an overdraft, reported in its
// outcome).
func Posted(r Request, at time.Time, debitBalance, creditBalance money.Money) (*Transfer, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return newTransfer(r, at, debitBalance, creditBalance)
}

// transferDoc is a Transfer's JSON document.
type transferDoc struct {
	Number        TransferNumber `json:"number"`
	Debited       AccountNumber  `json:"debited"`
	Credited      AccountNumber  `json:"credited"`
	Amount        money.Money    `json:"amount"`
	CreatedAt     time.Time      `json:"created_at"`
	DebitBalance  money.Money    `json:"debit_balance"`
	CreditBalance money.Money    `json:"credit_balance"`
}

// MarshalJSON encodes the transfer (not its ID or version: storage keeps those).
func (t *Transfer) MarshalJSON() ([]byte, error) {
	return json.Marshal(transferDoc{t.number, t.debited, t.credited, t.amount, t.createdAt,
		t.debitBalance, t.creditBalance})
}

// UnmarshalJSON decodes what MarshalJSON wrote, leaving t unchanged on error.
func (t *Transfer) UnmarshalJSON(b []byte) error {
	var d transferDoc
	if err := json.Unmarshal(b, &d); err != nil {
		return fmt.Errorf("transfer: transfer document: %w", err)
	}
	t.number, t.debited, t.credited, t.amount, t.createdAt = d.Number, d.Debited, d.Credited, d.Amount, d.CreatedAt.UTC()
	t.debitBalance, t.creditBalance = d.DebitBalance, d.CreditBalance
	return nil
}

// restoreTransfer rebuilds a transfer read from storage.
func restoreTransfer(d transferDoc, version int64) (*Transfer, error) {
	root, err := aggregate.RestoreRoot(TransferIDOf(d.Number), version)
	if err != nil {
		return nil, err
	}
	t := &Transfer{Root: root}
	t.number, t.debited, t.credited, t.amount, t.createdAt = d.Number, d.Debited, d.Credited, d.Amount, d.CreatedAt.UTC()
	t.debitBalance, t.creditBalance = d.DebitBalance, d.CreditBalance
	return t, nil
}

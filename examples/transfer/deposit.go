package transfer

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/money"
)

// DepositID identifies a deposit. The client chooses it, as an idempotency key: a deposit retried
// with the same ID and content returns the first outcome; the same ID with other content is
// ErrDuplicateDeposit.
type DepositID string

// ParseDepositID returns s as a DepositID, with ParseTransferNumber's syntax (errors wrap
// ErrInvalidInput).
func ParseDepositID(s string) (DepositID, error) {
	id := DepositID(s)
	if err := id.Validate(); err != nil {
		return "", err
	}
	return id, nil
}

// Validate returns an error wrapping ErrInvalidInput unless id has ParseDepositID's syntax.
func (id DepositID) Validate() error { return checkReference("deposit ID", id) }

// DepositRequest asks for a deposit of Amount into Account.
type DepositRequest struct {
	ID      DepositID     `json:"id"`
	Account AccountNumber `json:"account"`
	Amount  money.Money   `json:"amount"`
}

// Deposit is money paid into an account from outside the bank: immutable once made. It keeps
// the balance it left.
type Deposit struct {
	aggregate.Root[DepositID]
	account AccountNumber
	amount  money.Money
	balance money.Money
	at      time.Time
}

// AggregateType is Deposit's stable name: its storage kind and the topic of its events.
func (*Deposit) AggregateType() string { return "Deposit" }

// Account returns the credited account's number.
func (d *Deposit) Account() AccountNumber { return d.account }

// Amount returns the amount deposited.
func (d *Deposit) Amount() money.Money { return d.amount }

// Balance returns the balance the deposit left.
func (d *Deposit) Balance() money.Money { return d.balance }

// At returns when the deposit was made.
func (d *Deposit) At() time.Time { return d.at }

// Outcome returns the deposit's event, the same whenever it is asked.
func (d *Deposit) Outcome() MoneyDeposited {
	return MoneyDeposited{Account: d.account, Deposit: d.ID(), Amount: d.amount, Balance: d.balance, At: d.at}
}

// Matches reports whether the deposit is what r asks for: a retry of the same request.
func (d *Deposit) Matches(r DepositRequest) bool {
	return d.ID() == r.ID && d.account == r.Account && d.amount.Equal(r.Amount)
}

// depositDoc is a Deposit's JSON document.
type depositDoc struct {
	Account AccountNumber `json:"account"`
	Amount  money.Money   `json:"amount"`
	Balance money.Money   `json:"balance"`
	At      time.Time     `json:"at"`
}

// MarshalJSON encodes the deposit (not its ID or version: storage keeps those).
func (d *Deposit) MarshalJSON() ([]byte, error) {
	return json.Marshal(depositDoc{d.account, d.amount, d.balance, d.at})
}

// UnmarshalJSON decodes what MarshalJSON wrote, leaving d unchanged on error.
func (d *Deposit) UnmarshalJSON(b []byte) error {
	var doc depositDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("transfer: deposit document: %w", err)
	}
	d.account, d.amount, d.balance, d.at = doc.Account, doc.Amount, doc.Balance, doc.At.UTC()
	return nil
}

// restoreDeposit rebuilds a deposit read from storage.
func restoreDeposit(id DepositID, doc depositDoc, version int64) (*Deposit, error) {
	root, err := aggregate.RestoreRoot(id, version)
	if err != nil {
		return nil, err
	}
	return &Deposit{Root: root, account: doc.Account, amount: doc.Amount, balance: doc.Balance, at: doc.At.UTC()}, nil
}

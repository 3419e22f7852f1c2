package transfer

import (
	"time"

	"github.com/dddkit/ddd/money"
)

// AccountOpened is recorded by OpenAccount.
type AccountOpened struct {
	Account  AccountNumber `json:"account"`
	Currency string        `json:"currency"`
	At       time.Time     `json:"at"`
}

// MoneyDeposited is recorded by Account.Deposit. Balance is the balance it left.
type MoneyDeposited struct {
	Account AccountNumber `json:"account"`
	Deposit DepositID     `json:"deposit"`
	Amount  money.Money   `json:"amount"`
	Balance money.Money   `json:"balance"`
	At      time.Time     `json:"at"`
}

// AccountDebited is the debit of a transfer. Balance is the balance the debit left: under the
// eventual strategy it can be negative (an overdraft).
type AccountDebited struct {
	Account  AccountNumber `json:"account"`
	Transfer TransferID    `json:"transfer"`
	Amount   money.Money   `json:"amount"`
	Balance  money.Money   `json:"balance"`
}

// AccountCredited is the credit of a transfer. Balance is the balance the credit left.
type AccountCredited struct {
	Account  AccountNumber `json:"account"`
	Transfer TransferID    `json:"transfer"`
	Amount   money.Money   `json:"amount"`
	Balance  money.Money   `json:"balance"`
}

// TransferPosted records the transfer itself.
type TransferPosted struct {
	Transfer TransferID     `json:"transfer"`
	Number   TransferNumber `json:"number"`
	Debited  AccountNumber  `json:"debited"`
	Credited AccountNumber  `json:"credited"`
	Amount   money.Money    `json:"amount"`
	At       time.Time      `json:"at"`
}

// TransferCompleted is the outcome of a transfer, an "event of events": the debit,
// the credit and the posting in one message, so a consumer never sees half a transfer.
// Overdrawn reports a debit that left a negative balance (possible only under the eventual
// strategy). The debited and credited accounts also record their own AccountDebited and
// AccountCredited, for consumers that follow one account.
type TransferCompleted struct {
	Debited   AccountDebited  `json:"debited"`
	Credited  AccountCredited `json:"credited"`
	Posted    TransferPosted  `json:"posted"`
	Overdrawn bool            `json:"overdrawn,omitempty"`
}

// EventName implements aggregate.Event.
func (AccountOpened) EventName() string { return "bank.AccountOpened" }

// EventName implements aggregate.Event.
func (MoneyDeposited) EventName() string { return "bank.MoneyDeposited" }

// EventName implements aggregate.Event.
func (AccountDebited) EventName() string { return "bank.AccountDebited" }

// EventName implements aggregate.Event.
func (AccountCredited) EventName() string { return "bank.AccountCredited" }

// EventName implements aggregate.Event.
func (TransferPosted) EventName() string { return "bank.TransferPosted" }

// EventName implements aggregate.Event.
func (TransferCompleted) EventName() string { return "bank.TransferCompleted" }

// Command tour is a short run through the foundation of ddd: Money that never rounds silently,
// an aggregate that records events and refuses to break its rules, and the envelopes a unit of
// work would write to the outbox.
//
//	go run ./examples/tour
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/shopspring/decimal"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/money"
)

// WalletID identifies a Wallet.
type WalletID string

// Wallet is a minimal aggregate: a balance that never goes below zero.
type Wallet struct {
	aggregate.Root[WalletID]
	Balance money.Money `json:"balance"`
}

// AggregateType is Wallet's stable name: its storage kind and the topic of its events.
func (*Wallet) AggregateType() string { return "Wallet" }

// ErrInsufficientFunds is the wallet's business rule.
var ErrInsufficientFunds = aggregate.NewRule("insufficient_funds", "insufficient funds")

// Deposited and Withdrawn are the wallet's events.
type (
	Deposited struct {
		Wallet WalletID    `json:"wallet"`
		Amount money.Money `json:"amount"`
	}
	Withdrawn struct {
		Wallet WalletID    `json:"wallet"`
		Amount money.Money `json:"amount"`
	}
)

// EventName implements aggregate.Event.
func (Deposited) EventName() string { return "wallet.Deposited" }

// EventName implements aggregate.Event.
func (Withdrawn) EventName() string { return "wallet.Withdrawn" }

// OpenWallet returns an empty wallet in currency c.
func OpenWallet(id WalletID, c money.Currency) (*Wallet, error) {
	root, err := aggregate.NewRoot(id)
	if err != nil {
		return nil, err
	}
	return &Wallet{Root: root, Balance: money.Zero(c)}, nil
}

// Deposit adds a positive amount.
func (w *Wallet) Deposit(amount money.Money) error {
	if !amount.IsPositive() {
		return fmt.Errorf("deposit of %s: amount must be positive", amount)
	}
	balance, err := w.Balance.Add(amount)
	if err != nil {
		return err
	}
	w.Balance = balance
	w.Record(Deposited{Wallet: w.ID(), Amount: amount})
	return nil
}

// Withdraw takes a positive amount out, never below zero.
func (w *Wallet) Withdraw(amount money.Money) error {
	balance, err := w.Balance.Sub(amount)
	if err != nil {
		return err
	}
	if balance.IsNegative() {
		return fmt.Errorf("%w: balance %s, withdrawal %s", ErrInsufficientFunds, w.Balance, amount)
	}
	w.Balance = balance
	w.Record(Withdrawn{Wallet: w.ID(), Amount: amount})
	return nil
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tour:", err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	eur := money.MustLookup("EUR")
	fmt.Fprintln(out, "== money")
	bill := money.MustParse("100.00 EUR")
	shares, err := bill.Allocate(1, 1, 1)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "100.00 EUR split three ways:", shares)
	vat, err := shares[0].Mul(decimal.RequireFromString("0.077"), money.HalfEven)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "7.7% VAT on 33.34 EUR, rounded half-even:", vat)
	if _, err := money.FromString("0.001", eur); err != nil {
		fmt.Fprintln(out, "refused:", err)
	}
	if _, err := bill.Add(money.MustParse("1.00 USD")); err != nil {
		fmt.Fprintln(out, "refused:", err)
	}

	fmt.Fprintln(out, "== aggregate")
	w, err := OpenWallet(aggregate.NewID[WalletID](), eur)
	if err != nil {
		return err
	}
	if err := w.Deposit(money.MustParse("50.00 EUR")); err != nil {
		return err
	}
	if err := w.Withdraw(money.MustParse("20.00 EUR")); err != nil {
		return err
	}
	err = w.Withdraw(money.MustParse("45.00 EUR"))
	var rule *aggregate.RuleError
	if errors.As(err, &rule) {
		fmt.Fprintf(out, "rule %q: %v\n", rule.Code, err)
	}
	fmt.Fprintln(out, "balance:", w.Balance, "version:", w.Version())

	fmt.Fprintln(out, "== envelopes for the outbox")
	envs, err := aggregate.Seal(w, aggregate.Metadata{CorrelationID: "tour"})
	if err != nil {
		return err
	}
	for _, e := range envs {
		fmt.Fprintf(out, "%s %s v%d %s\n", e.AggregateType, e.Name, e.Version, e.Payload)
	}
	return nil
}

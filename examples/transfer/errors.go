package transfer

import "github.com/dddkit/ddd/aggregate"

// The bank's business rules. Each is an *aggregate.RuleError, returned wrapped with detail: test
// one with errors.Is(err, ErrInsufficientFunds), any with errors.Is(err, aggregate.ErrRule), and
// read its Code with errors.As. The unit of work never retries them.
var (
	// ErrInvalidInput is input the bank cannot take: a malformed account or transfer number,
	// an amount that is not positive or too large to store, a deposit or transfer that would
	// leave a balance beyond ±(2^63-1) minor units, an unknown strategy.
	ErrInvalidInput = aggregate.NewRule("invalid_input", "invalid input")
	// ErrInsufficientFunds refuses a debit below zero (the strong strategies) or, under the
	// eventual strategy, a debit the balance as read could not cover.
	ErrInsufficientFunds = aggregate.NewRule("insufficient_funds", "insufficient funds")
	// ErrCurrencyMismatch is an amount whose currency is not the account's.
	ErrCurrencyMismatch = aggregate.NewRule("currency_mismatch", "the amount's currency is not the account's")
	// ErrSameAccount is a transfer from an account to itself.
	ErrSameAccount = aggregate.NewRule("same_account", "the debited and credited accounts are the same")
	// ErrUnknownAccount is an account number no account has.
	ErrUnknownAccount = aggregate.NewRule("unknown_account", "unknown account")
	// ErrDuplicateTransfer is a transfer number already used by a different transfer (a retry
	// of the same request is not an error: it returns the first outcome).
	ErrDuplicateTransfer = aggregate.NewRule("duplicate_transfer", "the transfer number was used for another transfer")
	// ErrDuplicateDeposit is a deposit ID already used by a different deposit.
	ErrDuplicateDeposit = aggregate.NewRule("duplicate_deposit", "the deposit ID was used for another deposit")
	// ErrAccountExists is an account opened with a number that is taken.
	ErrAccountExists = aggregate.NewRule("account_exists", "an account with this number exists")
)

package money

import (
	"errors"
	"fmt"
)

// The errors of this package. Every error it returns wraps exactly one of them, so callers test
// with [errors.Is]; the message adds the detail (the codes, the amount, the offending input).
var (
	// ErrUnknownCurrency: a currency code that is not in ISO 4217 nor in the [Registry] consulted.
	ErrUnknownCurrency = errors.New("money: unknown currency")
	// ErrInvalidCurrency: the zero Currency where one is required, or a malformed custom currency.
	ErrInvalidCurrency = errors.New("money: invalid currency")
	// ErrCurrencyMismatch: an operation on amounts of two different currencies.
	ErrCurrencyMismatch = errors.New("money: currency mismatch")
	// ErrPrecision: an amount with more decimals than its currency allows, where the caller gave
	// no rounding mode (or [Exact]).
	ErrPrecision = errors.New("money: more decimals than the currency allows")
	// ErrSyntax: text that is not an amount or not the canonical form "12.34 USD", a malformed
	// currency code in a decoder's input, JSON that is not a money object.
	ErrSyntax = errors.New("money: invalid syntax")
	// ErrOverflow: a result that does not fit where it must go: an amount of more than
	// [MaxDigits] digits, MinorUnits beyond an int64; or an operand beyond what the package
	// accepts (a factor, divisor, rate or increment of more than 1000 digits or with an exponent
	// beyond ±1000, an amount for New of more than 1000 digits).
	ErrOverflow = errors.New("money: overflow")
	// ErrInvalidArgument: allocation ratios that are negative or sum to zero, a split into fewer
	// than one part, more than [MaxParts] parts, a zero divisor, a rate or rounding increment that
	// is not positive, an unknown rounding mode.
	ErrInvalidArgument = errors.New("money: invalid argument")
)

func mismatch(a, b Currency) error {
	return fmt.Errorf("%w: %s and %s", ErrCurrencyMismatch, a.display(), b.display())
}

// display names a currency in error messages, including the zero one.
func (c Currency) display() string {
	if c.code == "" {
		return "no currency"
	}
	return c.code
}

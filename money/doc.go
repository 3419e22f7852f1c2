// Package money is a Money value object for services that move money: an exact decimal amount in
// a currency, with rounding that only happens when the caller asks for it.
//
// # Currencies
//
// [Lookup] finds any of the active ISO 4217 currencies of the built-in table, in any case; the
// table is generated from iso4217.csv by internal/gencurrency (go generate). Each [Currency]
// knows its code, numeric code and minor units (JPY 0, USD 2, BHD 3, CLF 4). Currencies ISO 4217
// does not list, a crypto-asset or loyalty points, are made with [NewCurrency]; collect them in a
// [Registry] to parse them. Nothing in the package is a mutable global.
//
// # Money
//
// A [Money] always holds exactly its currency's number of decimals. Constructors ([New],
// [FromString], [FromMinorUnits], [Parse]) refuse an amount with more decimals; [NewRounded],
// [Money.Mul], [Money.Div], [Money.Convert] and [Money.RoundTo] take a [Rounding] mode, and the
// zero mode, [Exact], refuses to round. Arithmetic between currencies is an error, never a panic;
// amounts have no size limit ([Money.MinorUnits] reports an int64 overflow instead of wrapping).
//
// # Allocation
//
// [Money.Allocate] and [Money.Split] share an amount by ratios or equally without losing a minor
// unit: the parts sum to the whole, each is within one minor unit of its exact share, the result
// is deterministic, and allocating a negative amount gives exactly the negated parts.
//
// # Encoding
//
// The canonical text form is "12.34 USD" ([Money.String], [Parse], text marshalling, and the SQL
// [Money.Value] / [Money.Scan] for a single text column). JSON is
// {"amount":"12.34","currency":"USD"}, the amount a string; a JSON number is also accepted and
// read exactly. For an amount column and a currency column, use [Money.Columns] and
// [FromColumns]. Decoders validate everything and leave the target unchanged on error.
//
// # Errors
//
// Every error wraps one of the package's sentinels ([ErrUnknownCurrency], [ErrInvalidCurrency],
// [ErrCurrencyMismatch], [ErrPrecision], [ErrSyntax], [ErrOverflow], [ErrInvalidArgument]); test
// them with [errors.Is].
//
// # Concurrency
//
// Money, Currency and *Registry values are immutable and safe for concurrent use.
package money

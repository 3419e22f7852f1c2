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
// zero mode, [Exact], refuses to round. Arithmetic between currencies is an error, never a panic.
//
// # Limits
//
// An amount has at most [MaxDigits] (64) digits, its decimals included: in USD, up to 62 nines
// before the point.
// Every way of making a Money enforces it (constructors, decoders, Add, Sub, Sum, Mul, Div,
// Convert, RoundTo; Neg, Abs and allocation cannot exceed it), and a result beyond it is an error
// wrapping [ErrOverflow], so that every Money the package makes reads back through every encoding.
// [Money.MinorUnits] reports an amount beyond an int64 with ErrOverflow too, instead of wrapping.
//
// The decimals that operations take from callers are bounded as well: the amount of [New] and
// [NewRounded] has at most 1000 digits (any exponent), and factors, divisors, rates and increments
// at most 1000 digits and an exponent within ±1000. Beyond, the error wraps [ErrOverflow]. The
// bounds keep every operation fast whatever it is given (1e-1000000000 is refused or rounded in
// microseconds), and error messages never spell a long number out.
//
// [Money.Split] and [Money.Allocate] make at most [MaxParts] parts; more is an error wrapping
// [ErrInvalidArgument], before anything is allocated.
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
// Decoding is strict. The text form is the amount, exactly one ASCII space and a code; other
// blanks, and a code that is not 3 to 12 ASCII letters and digits starting with a letter, are
// errors wrapping [ErrSyntax] (a well-formed code nobody defined wraps [ErrUnknownCurrency]).
// [FromColumns] ignores the trailing spaces a CHAR(n) column pads a code with, and nothing else.
// JSON names are matched exactly ("amount", "currency", "minorUnits"), each once; unknown names
// and data after the object are errors wrapping ErrSyntax; strings are read as JSON defines them,
// escapes included.
//
// JSON carries the minor units of a custom currency, so [Money.UnmarshalJSON] makes whatever
// custom currency the JSON describes. To accept only ISO 4217 and the currencies of a [Registry],
// with the minor units it defines, decode with [Registry.ParseJSON], or declare the struct field
// as [Registered].
//
// # Errors
//
// Every error wraps one of the package's sentinels ([ErrUnknownCurrency], [ErrInvalidCurrency],
// [ErrCurrencyMismatch], [ErrPrecision], [ErrSyntax], [ErrOverflow], [ErrInvalidArgument]); test
// them with [errors.Is].
//
// # Concurrency
//
// Money, Currency and *Registry values are immutable and safe for concurrent use. A [Registered]
// is safe to share while nothing decodes into it.
package money

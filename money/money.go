package money

import (
	"errors"
	"fmt"
	"math/big"
	"math/bits"

	"github.com/shopspring/decimal"
)

// Money is an amount in a currency: an immutable value of a [decimal.Decimal] and a [Currency].
//
// The amount always has exactly the currency's number of decimals: constructors refuse an amount
// with more (an error wrapping [ErrPrecision]) unless the caller names a [Rounding] mode, and
// every operation that could produce more decimals (Mul, Div, Convert, RoundTo) takes one. It
// has at most [MaxDigits] digits: an operation whose result would have more returns an error
// wrapping [ErrOverflow]. No operation rounds silently, wraps around or panics; mixing currencies
// is an error wrapping [ErrCurrencyMismatch].
//
// Money values are safe to copy and to share between goroutines. Compare them with
// [Money.Equal] or [Money.Cmp], not ==.
//
// The zero Money is zero in no currency. It reports IsZero, Sign 0 and String "0"; it encodes to
// JSON null, empty text and SQL NULL, which decode back to it; arithmetic between it and a Money
// in a real currency is an error wrapping [ErrCurrencyMismatch], and constructors never return it
// without an error.
type Money struct {
	amount   decimal.Decimal // exponent is always -currency.minor
	currency Currency
}

// New returns amount in currency c. An amount with more decimals than c allows (1.234 USD) is an
// error wrapping [ErrPrecision]; trailing zeros do not count (1.2300 USD is 1.23 USD). The zero
// Currency is an error wrapping [ErrInvalidCurrency]; an amount of more than [MaxDigits] digits
// with c's decimals, or whose coefficient has more than 1000 digits, one wrapping [ErrOverflow].
func New(amount decimal.Decimal, c Currency) (Money, error) {
	return NewRounded(amount, c, Exact)
}

// NewRounded returns amount in currency c, rounded to c's decimals by mode. With mode [Exact] it
// is [New]. The zero Currency is an error wrapping [ErrInvalidCurrency], an unknown mode one
// wrapping [ErrInvalidArgument]. A result of more than [MaxDigits] digits, or an amount whose
// coefficient has more than 1000 digits, is an error wrapping [ErrOverflow]; the amount may have
// any exponent (1e-2000000000 rounds to 0.00 or 0.01 USD at once).
func NewRounded(amount decimal.Decimal, c Currency, mode Rounding) (Money, error) {
	if c.IsZero() {
		return Money{}, fmt.Errorf("%w: no currency given", ErrInvalidCurrency)
	}
	if err := mode.valid(); err != nil {
		return Money{}, err
	}
	target := -int64(c.minor)
	exp := int64(amount.Exponent())
	if v, ok := smallCoefficient(amount); ok {
		switch {
		case exp == target:
			return Money{amount: amount, currency: c}, nil // an int64 has at most 19 digits
		case v == 0:
			return Zero(c), nil
		case exp < target:
			q, ok, err := shift64(v < 0, 0, abs64(v), target-exp, mode)
			if ok {
				if err != nil {
					return Money{}, precisionError(amount, c)
				}
				return Money{amount: decimal.New(q, int32(target)), currency: c}, nil
			}
		}
	}
	coef, ok := boundedCoefficient(amount)
	if !ok {
		return Money{}, fmt.Errorf("%w: amount has more than %d digits", ErrOverflow, maxOperandDigits)
	}
	v, err := rescale(coef, exp, target, mode)
	if err != nil {
		if errors.Is(err, ErrPrecision) {
			return Money{}, precisionError(amount, c)
		}
		return Money{}, overflowError("amount " + show(amount) + " in " + c.code)
	}
	if !withinLimit(v) {
		return Money{}, overflowError("amount " + show(amount) + " in " + c.code)
	}
	return Money{amount: decimal.NewFromBigInt(v, int32(target)), currency: c}, nil
}

func precisionError(amount decimal.Decimal, c Currency) error {
	return fmt.Errorf("%w: %s has more than %d decimals for %s", ErrPrecision, show(amount), c.minor, c.code)
}

// FromString returns the amount written in s in currency c. s is a plain decimal: an optional
// minus sign, digits, and an optional point with digits ("-1234.50"); no exponent, spaces or
// group separators. Malformed text is an error wrapping [ErrSyntax]; text of more than
// [MaxDigits] digits, or an amount of more than MaxDigits digits with the currency's decimals, one
// wrapping [ErrOverflow]; other errors are those of [New].
func FromString(s string, c Currency) (Money, error) {
	d, err := parseAmount(s, false)
	if err != nil {
		return Money{}, err
	}
	return newParsed(d, c)
}

// FromMinorUnits returns units minor units of currency c: FromMinorUnits(1234, USD) is 12.34 USD
// and FromMinorUnits(1234, JPY) is 1234 JPY. The zero Currency is an error wrapping
// [ErrInvalidCurrency].
func FromMinorUnits(units int64, c Currency) (Money, error) {
	if c.IsZero() {
		return Money{}, fmt.Errorf("%w: no currency given", ErrInvalidCurrency)
	}
	return Money{amount: decimal.New(units, -int32(c.minor)), currency: c}, nil
}

// Zero returns zero in currency c (the zero Money if c is the zero Currency).
func Zero(c Currency) Money {
	return Money{amount: decimal.New(0, -int32(c.minor)), currency: c}
}

// Amount returns the amount, with exactly Currency().MinorUnits() decimals.
func (m Money) Amount() decimal.Decimal { return m.amount }

// Currency returns the currency.
func (m Money) Currency() Currency { return m.currency }

// IsZero reports whether the amount is zero (in any currency, or none).
func (m Money) IsZero() bool { return m.amount.IsZero() }

// IsPositive reports whether the amount is greater than zero.
func (m Money) IsPositive() bool { return m.amount.IsPositive() }

// IsNegative reports whether the amount is less than zero.
func (m Money) IsNegative() bool { return m.amount.IsNegative() }

// Sign returns -1, 0 or +1 as the amount is negative, zero or positive.
func (m Money) Sign() int { return m.amount.Sign() }

// Add returns m + o. Different currencies are an error wrapping [ErrCurrencyMismatch]; a sum of
// more than [MaxDigits] digits one wrapping [ErrOverflow].
func (m Money) Add(o Money) (Money, error) {
	if !sameCurrency(m.currency, o.currency) {
		return Money{}, mismatch(m.currency, o.currency)
	}
	// Both amounts are at the currency's exponent. Two of at most 18 digits add up in an int64,
	// far within MaxDigits: no digit counting.
	if m.amount.NumDigits() <= 18 && o.amount.NumDigits() <= 18 {
		return Money{amount: decimal.New(m.amount.CoefficientInt64()+o.amount.CoefficientInt64(), m.amount.Exponent()), currency: m.currency}, nil
	}
	s := m.amount.Add(o.amount)
	if s.NumDigits() > MaxDigits { // cheap: both amounts are within MaxDigits
		return Money{}, overflowError("the sum in " + m.currency.code)
	}
	return Money{amount: s, currency: m.currency}, nil
}

// Sub returns m - o. Different currencies are an error wrapping [ErrCurrencyMismatch]; a
// difference of more than [MaxDigits] digits one wrapping [ErrOverflow].
func (m Money) Sub(o Money) (Money, error) {
	if !sameCurrency(m.currency, o.currency) {
		return Money{}, mismatch(m.currency, o.currency)
	}
	if m.amount.NumDigits() <= 18 && o.amount.NumDigits() <= 18 {
		return Money{amount: decimal.New(m.amount.CoefficientInt64()-o.amount.CoefficientInt64(), m.amount.Exponent()), currency: m.currency}, nil
	}
	d := m.amount.Sub(o.amount)
	if d.NumDigits() > MaxDigits {
		return Money{}, overflowError("the difference in " + m.currency.code)
	}
	return Money{amount: d, currency: m.currency}, nil
}

// Neg returns -m. It cannot fail: -m has the digits of m.
func (m Money) Neg() Money { return Money{amount: m.amount.Neg(), currency: m.currency} }

// Abs returns |m|. It cannot fail: |m| has the digits of m.
func (m Money) Abs() Money { return Money{amount: m.amount.Abs(), currency: m.currency} }

// Cmp compares m and o and returns -1, 0 or +1 as m is less than, equal to or greater than o.
// Different currencies are an error wrapping [ErrCurrencyMismatch].
func (m Money) Cmp(o Money) (int, error) {
	if !sameCurrency(m.currency, o.currency) {
		return 0, mismatch(m.currency, o.currency)
	}
	return m.amount.Cmp(o.amount), nil
}

// Equal reports whether m and o are the same amount in the same currency. Amounts in different
// currencies are never equal, and that is not an error.
func (m Money) Equal(o Money) bool {
	return sameCurrency(m.currency, o.currency) && m.amount.Cmp(o.amount) == 0
}

// LessThan reports whether m < o. Different currencies are an error wrapping
// [ErrCurrencyMismatch].
func (m Money) LessThan(o Money) (bool, error) {
	c, err := m.Cmp(o)
	return c < 0, err
}

// GreaterThan reports whether m > o. Different currencies are an error wrapping
// [ErrCurrencyMismatch].
func (m Money) GreaterThan(o Money) (bool, error) {
	c, err := m.Cmp(o)
	return c > 0, err
}

// Sum returns the total of ms in currency c: zero in c when ms is empty. An element in another
// currency is an error wrapping [ErrCurrencyMismatch]; a total of more than [MaxDigits] digits one
// wrapping [ErrOverflow] (partial sums may exceed it: only the total counts).
func Sum(c Currency, ms ...Money) (Money, error) {
	total := new(big.Int)
	for _, m := range ms {
		if !sameCurrency(m.currency, c) {
			return Money{}, mismatch(c, m.currency)
		}
		total.Add(total, m.amount.Coefficient())
	}
	if !withinLimit(total) {
		return Money{}, overflowError("the total in " + c.code)
	}
	return Money{amount: decimal.NewFromBigInt(total, -int32(c.minor)), currency: c}, nil
}

// Mul returns m × factor rounded to the currency's decimals by mode: a rate, a percentage, a
// quantity. With [Exact], a product that needs rounding is an error wrapping [ErrPrecision]; a
// product of more than [MaxDigits] digits, or a factor with more than 1000 digits or an exponent
// beyond ±1000, is one wrapping [ErrOverflow]; an unknown mode one wrapping [ErrInvalidArgument].
func (m Money) Mul(factor decimal.Decimal, mode Rounding) (Money, error) {
	// The fast path of mul64, written out here: the call costs a tenth of a Mul.
	e := factor.Exponent()
	if int(mode) < len(roundingNames) && e <= maxOperandExponent && e >= -maxOperandExponent && m.amount.NumDigits() <= 18 {
		if f, small := smallCoefficient(factor); small {
			a := m.amount.CoefficientInt64()
			target := -int64(m.currency.minor)
			hi, lo := bits.Mul64(abs64(a), abs64(f))
			if q, ok, err := shift64((a < 0) != (f < 0), hi, lo, target-int64(m.amount.Exponent())-int64(e), mode); ok {
				if err != nil {
					return Money{}, mulPrecisionError(m.amount, factor, m.currency)
				}
				return Money{amount: decimal.New(q, int32(target)), currency: m.currency}, nil // at most 19 digits
			}
		}
	}
	if err := mode.valid(); err != nil {
		return Money{}, err
	}
	if err := checkOperand("factor", factor); err != nil {
		return Money{}, err
	}
	return mulRound(m.amount, factor, m.currency, mode)
}

// Div returns m ÷ divisor rounded to the currency's decimals by mode. A zero divisor is an error
// wrapping [ErrInvalidArgument]; with [Exact], a quotient that needs rounding one wrapping
// [ErrPrecision]; a quotient of more than [MaxDigits] digits, or a divisor with more than 1000
// digits or an exponent beyond ±1000, one wrapping [ErrOverflow]. To share an amount without
// losing a minor unit, use [Money.Allocate] or [Money.Split] instead.
func (m Money) Div(divisor decimal.Decimal, mode Rounding) (Money, error) {
	if err := mode.valid(); err != nil {
		return Money{}, err
	}
	if divisor.IsZero() {
		return Money{}, fmt.Errorf("%w: division by zero", ErrInvalidArgument)
	}
	if err := checkOperand("divisor", divisor); err != nil {
		return Money{}, err
	}
	// m / (dc × 10^de), at m's exponent, is round(mc / (dc × 10^de)).
	num, den := m.amount.Coefficient(), divisor.Coefficient()
	if e := int64(divisor.Exponent()); e < 0 {
		num.Mul(num, pow10(-e))
	} else {
		den.Mul(den, pow10(e))
	}
	if den.Sign() < 0 {
		num.Neg(num)
		den.Neg(den)
	}
	q, err := roundQuo(num, den, mode)
	if err != nil {
		return Money{}, fmt.Errorf("%w: %s / %s needs rounding", ErrPrecision, m, show(divisor))
	}
	if !withinLimit(q) {
		return Money{}, overflowError("the quotient in " + m.currency.display())
	}
	return Money{amount: decimal.NewFromBigInt(q, m.amount.Exponent()), currency: m.currency}, nil
}

// Convert returns m converted into currency to at rate (units of to per unit of m's currency),
// rounded to to's decimals by mode: 10.00 USD at 151.237 JPY per USD is 1512 JPY with [HalfEven].
// The zero Currency is an error wrapping [ErrInvalidCurrency]; a zero or negative rate one
// wrapping [ErrInvalidArgument]; the other errors are those of [Money.Mul].
func (m Money) Convert(to Currency, rate decimal.Decimal, mode Rounding) (Money, error) {
	if to.IsZero() {
		return Money{}, fmt.Errorf("%w: no currency to convert to", ErrInvalidCurrency)
	}
	if rate.Sign() <= 0 {
		return Money{}, fmt.Errorf("%w: rate %s must be positive", ErrInvalidArgument, show(rate))
	}
	if got, ok, err := mul64(m.amount, rate, to, mode); ok {
		return got, err
	}
	if err := mode.valid(); err != nil {
		return Money{}, err
	}
	if err := checkOperand("rate", rate); err != nil {
		return Money{}, err
	}
	return mulRound(m.amount, rate, to, mode)
}

// RoundTo rounds m to a multiple of increment by mode: cash rounding, such as CHF to 0.05 or an
// amount to whole units. The increment must be positive and a multiple of the currency's minor
// unit (0.05 is, for CHF; 0.005 is not), or the error wraps [ErrInvalidArgument]. With [Exact], an
// amount that is not a multiple is an error wrapping [ErrPrecision]; a result of more than
// [MaxDigits] digits, or an increment with more than 1000 digits or an exponent beyond ±1000, one
// wrapping [ErrOverflow].
func (m Money) RoundTo(increment decimal.Decimal, mode Rounding) (Money, error) {
	if err := mode.valid(); err != nil {
		return Money{}, err
	}
	if !increment.IsPositive() {
		return Money{}, fmt.Errorf("%w: rounding increment %s must be positive", ErrInvalidArgument, show(increment))
	}
	if err := checkOperand("rounding increment", increment); err != nil {
		return Money{}, err
	}
	scale := -int64(m.currency.minor)
	coef, e := increment.Coefficient(), int64(increment.Exponent())
	var inc *big.Int
	if e >= scale {
		inc = coef.Mul(coef, pow10(e-scale)) // at most 1000 + 1018 digits: the operand bounds
	} else {
		var err error
		if inc, err = rescale(coef, e, scale, Exact); err != nil {
			return Money{}, fmt.Errorf("%w: rounding increment %s is finer than the minor unit of %s", ErrInvalidArgument, show(increment), m.currency.display())
		}
	}
	q, err := roundQuo(m.amount.Coefficient(), inc, mode)
	if err != nil {
		return Money{}, fmt.Errorf("%w: %s is not a multiple of %s", ErrPrecision, m, show(increment))
	}
	if q.Mul(q, inc); !withinLimit(q) {
		return Money{}, overflowError("the rounded amount in " + m.currency.display())
	}
	return Money{amount: decimal.NewFromBigInt(q, int32(scale)), currency: m.currency}, nil
}

// mul64 is the fast path of Convert (and of Mul, which has it written out): amount × factor in c, rounded to c's decimals by
// mode, for an amount of at most 18 digits, a factor whose coefficient fits an int64 and an
// exponent within the operand bounds, a valid mode and a result that fits an int64 (and so
// MaxDigits). ok is false when it does not apply; the caller then checks everything and takes
// mulRound.
func mul64(amount, factor decimal.Decimal, c Currency, mode Rounding) (m Money, ok bool, err error) {
	e := factor.Exponent()
	if int(mode) >= len(roundingNames) || e > maxOperandExponent || e < -maxOperandExponent || amount.NumDigits() > 18 {
		return Money{}, false, nil
	}
	f, small := smallCoefficient(factor)
	if !small {
		return Money{}, false, nil
	}
	a := amount.CoefficientInt64()
	target := -int64(c.minor)
	// The product's exponent is amount's plus factor's: shift it down to the target.
	hi, lo := bits.Mul64(abs64(a), abs64(f))
	q, ok, err := shift64((a < 0) != (f < 0), hi, lo, target-int64(amount.Exponent())-int64(e), mode)
	if !ok {
		return Money{}, false, nil
	}
	if err != nil {
		return Money{}, true, mulPrecisionError(amount, factor, c)
	}
	return Money{amount: decimal.New(q, int32(target)), currency: c}, true, nil // at most 19 digits
}

// mulRound returns amount × factor as Money in c, rounded to c's decimals by mode, for any
// operands: the amount is a Money's, at its currency's exponent; the factor has passed
// checkOperand.
func mulRound(amount, factor decimal.Decimal, c Currency, mode Rounding) (Money, error) {
	v := amount.Mul(factor)
	q, err := rescale(v.Coefficient(), int64(v.Exponent()), -int64(c.minor), mode)
	if err != nil {
		if errors.Is(err, ErrPrecision) {
			return Money{}, mulPrecisionError(amount, factor, c)
		}
		return Money{}, overflowError("the product in " + c.display())
	}
	if !withinLimit(q) {
		return Money{}, overflowError("the product in " + c.display())
	}
	return Money{amount: decimal.NewFromBigInt(q, -int32(c.minor)), currency: c}, nil
}

func mulPrecisionError(amount, factor decimal.Decimal, c Currency) error {
	return fmt.Errorf("%w: %s × %s needs rounding to %d decimals for %s", ErrPrecision, show(amount), show(factor), c.minor, c.display())
}

// MinorUnits returns the amount in minor units: 1234 for 12.34 USD, 1234 for 1234 JPY. An amount
// that does not fit an int64 is an error wrapping [ErrOverflow]; it never wraps around.
func (m Money) MinorUnits() (int64, error) {
	if m.amount.NumDigits() <= 18 {
		return m.amount.CoefficientInt64(), nil
	}
	c := m.amount.Coefficient()
	if !c.IsInt64() {
		return 0, fmt.Errorf("%w: %s is beyond int64 minor units", ErrOverflow, m)
	}
	return c.Int64(), nil
}

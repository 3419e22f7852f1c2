package money

import (
	"fmt"
	"math/big"
	"strconv"

	"github.com/shopspring/decimal"
)

// MaxDigits is the most digits an amount may have, counting its decimals: the largest amount in
// USD is 62 nines, a point and two nines; in JPY, 64 nines; in a custom currency of 18 decimals,
// 46 nines, a point and 18 nines. It is far beyond any amount of money, and every [Money] the
// package makes is within it, so that whatever it makes its decoders read back: [New],
// [NewRounded], the decoders and every operation refuse a result beyond it with an error wrapping
// [ErrOverflow].
const MaxDigits = 64

// MaxParts is the most parts [Money.Split] and [Money.Allocate] make; more is an error wrapping
// [ErrInvalidArgument], refused before anything is allocated. The bound is about a million so
// that one call can pay out to every holder of a large issue, while its memory stays modest: a
// part allocates about 100 bytes (its Money and amount, and the working share, remainder and
// order), 400 for an amount of more than 18 digits, so a call at the bound allocates 100 to 420
// MiB and takes a fraction of a second to one second. To share among more, allocate in two steps
// (to groups, then within each group), which still loses no minor unit.
const MaxParts = 1 << 20

// maxCoefficient is 10^MaxDigits: every amount's coefficient is below it in absolute value.
var maxCoefficient = pow10(MaxDigits)

// withinLimit reports whether a coefficient has at most MaxDigits digits.
func withinLimit(coef *big.Int) bool { return coef.CmpAbs(maxCoefficient) < 0 }

// The bounds of the decimals that operations take from callers: the amount of New and NewRounded
// and the factors, divisors, rates and increments. Real ones have a handful of digits; the bounds
// keep the work an operation does, and so the time it takes, small whatever it is given (a
// coefficient of a million digits, an exponent of a billion).
const (
	// maxOperandDigits bounds the digits of an operand's coefficient.
	maxOperandDigits = 1000
	// maxOperandExponent bounds the exponent of factors, divisors, rates and increments. The
	// amount of New may have any exponent: rounding a tiny amount costs no more than a small one.
	maxOperandExponent = 1000
)

// operandBound is 10^maxOperandDigits, and its negation.
var operandBound, negOperandBound = func() (*big.Int, *big.Int) {
	b := pow10(maxOperandDigits)
	return b, new(big.Int).Neg(b)
}()

// smallCoefficient returns d's coefficient when it fits an int64. Its cost does not depend on the
// size of the coefficient, and it does not allocate: decimal's Cmp of two decimals with one
// exponent compares the coefficients, and big.Int's Cmp of numbers of different lengths stops at
// their lengths.
func smallCoefficient(d decimal.Decimal) (int64, bool) {
	c := d.CoefficientInt64() // the low bits, whatever the size
	return c, decimal.New(c, d.Exponent()).Cmp(d) == 0
}

// boundedCoefficient returns d's coefficient when it has at most maxOperandDigits digits, in time
// that does not depend on its size (comparing it first, as smallCoefficient does).
func boundedCoefficient(d decimal.Decimal) (*big.Int, bool) {
	e := d.Exponent()
	if d.Sign() >= 0 {
		if d.Cmp(decimal.NewFromBigInt(operandBound, e)) >= 0 {
			return nil, false
		}
	} else if d.Cmp(decimal.NewFromBigInt(negOperandBound, e)) <= 0 {
		return nil, false
	}
	return d.Coefficient(), true
}

// checkOperand refuses a factor, divisor, rate or increment whose exponent or coefficient is
// beyond the operand bounds; what names it in the message.
func checkOperand(what string, d decimal.Decimal) error {
	if e := d.Exponent(); e > maxOperandExponent || e < -maxOperandExponent {
		return fmt.Errorf("%w: %s %s has an exponent beyond ±%d", ErrOverflow, what, show(d), maxOperandExponent)
	}
	if _, ok := smallCoefficient(d); ok {
		return nil
	}
	if _, ok := boundedCoefficient(d); !ok {
		return fmt.Errorf("%w: %s has more than %d digits", ErrOverflow, what, maxOperandDigits)
	}
	return nil
}

// overflowError reports a result beyond MaxDigits; what describes the operation.
func overflowError(what string) error {
	return fmt.Errorf("%w: %s has more than %d digits", ErrOverflow, what, MaxDigits)
}

// showDigits is how many leading digits show prints of a long coefficient.
const showDigits = 20

// show renders d for an error message in a few dozen bytes whatever its size, so that an error
// never spells out a number of a million digits: plainly when that is short ("12.345", "-0.001"),
// otherwise as its coefficient and exponent ("7e-2000000000"), with the coefficient cut to its
// leading digits and its length ("12345678901234567890…(1000 digits)e-3") or, beyond
// maxOperandDigits, only its length.
func show(d decimal.Decimal) string {
	e := int64(d.Exponent())
	sign := ""
	if d.Sign() < 0 {
		sign = "-"
	}
	var digits string
	if c, ok := smallCoefficient(d); ok {
		digits = strconv.FormatUint(abs64(c), 10)
	} else if c, ok := boundedCoefficient(d); ok {
		digits = c.Abs(c).String()
	} else {
		return sign + "(more than " + strconv.Itoa(maxOperandDigits) + " digits)e" + strconv.FormatInt(e, 10)
	}
	n := int64(len(digits))
	switch {
	case n > showDigits+4:
		return sign + digits[:showDigits] + "…(" + strconv.FormatInt(n, 10) + " digits)e" + strconv.FormatInt(e, 10)
	case e >= 0 && n+e <= 24:
		if digits == "0" {
			return "0"
		}
		return sign + digits + zeros(e)
	case e < 0 && -e <= 24:
		if n > -e {
			return sign + digits[:n+e] + "." + digits[n+e:]
		}
		return sign + "0." + zeros(-e-n) + digits
	default:
		return sign + digits + "e" + strconv.FormatInt(e, 10)
	}
}

func zeros(n int64) string {
	const z = "000000000000000000000000"
	return z[:n]
}

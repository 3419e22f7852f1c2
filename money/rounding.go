package money

import (
	"fmt"
	"math"
	"math/big"
	"math/bits"
)

// Rounding says how to round a result that has more decimals than its currency allows. Nothing in
// this package rounds unless the caller passes a mode; the zero value, [Exact], refuses to round.
type Rounding uint8

// The rounding modes. The examples round to whole units.
const (
	// Exact does not round: a result that would need rounding is an error wrapping ErrPrecision.
	Exact Rounding = iota
	// HalfEven rounds to the nearest, ties to the even neighbour (banker's rounding):
	// 2.5 -> 2, 3.5 -> 4, -2.5 -> -2.
	HalfEven
	// HalfUp rounds to the nearest, ties away from zero: 2.5 -> 3, -2.5 -> -3.
	HalfUp
	// HalfDown rounds to the nearest, ties toward zero: 2.5 -> 2, -2.5 -> -2.
	HalfDown
	// Up rounds away from zero: 2.1 -> 3, -2.1 -> -3.
	Up
	// Down rounds toward zero (truncates): 2.9 -> 2, -2.9 -> -2.
	Down
	// Ceiling rounds toward positive infinity: 2.1 -> 3, -2.9 -> -2.
	Ceiling
	// Floor rounds toward negative infinity: 2.9 -> 2, -2.1 -> -3.
	Floor
)

var roundingNames = [...]string{"Exact", "HalfEven", "HalfUp", "HalfDown", "Up", "Down", "Ceiling", "Floor"}

// String returns the mode's name, such as "HalfEven".
func (r Rounding) String() string {
	if int(r) < len(roundingNames) {
		return roundingNames[r]
	}
	return fmt.Sprintf("Rounding(%d)", uint8(r))
}

func (r Rounding) valid() error {
	if int(r) < len(roundingNames) {
		return nil
	}
	return fmt.Errorf("%w: rounding mode %d", ErrInvalidArgument, uint8(r))
}

// roundsAway reports whether a quotient truncated toward zero must move one unit away from zero.
// half compares the remainder with half the divisor (-1 below, 0 a tie, +1 above); odd tells
// whether the truncated quotient is odd. mode is not Exact, and the remainder is not zero.
func roundsAway(mode Rounding, negative, odd bool, half int) bool {
	switch mode {
	case Up:
		return true
	case Down:
		return false
	case Ceiling:
		return !negative
	case Floor:
		return negative
	}
	switch {
	case half > 0:
		return true
	case half < 0:
		return false
	case mode == HalfUp:
		return true
	case mode == HalfDown:
		return false
	default: // HalfEven
		return odd
	}
}

// roundQuo returns n/d rounded to an integer by mode. d must be positive. An inexact quotient
// with mode Exact returns an error wrapping ErrPrecision.
func roundQuo(n, d *big.Int, mode Rounding) (*big.Int, error) {
	q, r := new(big.Int).QuoRem(n, d, new(big.Int)) // truncated: r has the sign of n
	if r.Sign() == 0 {
		return q, nil
	}
	if mode == Exact {
		return nil, ErrPrecision
	}
	twice := new(big.Int).Abs(r)
	half := twice.Lsh(twice, 1).Cmp(d)
	if roundsAway(mode, n.Sign() < 0, q.Bit(0) == 1, half) {
		q.Add(q, big.NewInt(int64(n.Sign())))
	}
	return q, nil
}

// pow10u64 holds 10^0 to 10^19, every power of ten an uint64 holds.
var pow10u64 = func() (t [20]uint64) {
	t[0] = 1
	for i := 1; i < len(t); i++ {
		t[i] = t[i-1] * 10
	}
	return t
}()

// shift64 is the fast path of rescaling down: it returns ±(hi·2^64 + lo) / 10^shift rounded by
// mode, for results that fit an int64. ok is false when the fast path does not apply (shift beyond
// 19, or a result that does not fit); the caller then takes the big.Int path.
func shift64(negative bool, hi, lo uint64, shift int64, mode Rounding) (q int64, ok bool, err error) {
	if shift < 0 || shift >= int64(len(pow10u64)) {
		return 0, false, nil
	}
	d := pow10u64[shift]
	if hi >= d {
		return 0, false, nil // the quotient needs more than 64 bits
	}
	quo, rem := bits.Div64(hi, lo, d)
	if rem != 0 {
		if mode == Exact {
			return 0, true, ErrPrecision
		}
		half := 0
		if rem > d-rem {
			half = 1
		} else if rem < d-rem {
			half = -1
		}
		if roundsAway(mode, negative, quo&1 == 1, half) {
			if quo == math.MaxUint64 {
				return 0, false, nil // quo+1 would wrap to 0
			}
			quo++
		}
	}
	if quo > math.MaxInt64 {
		return 0, false, nil
	}
	if negative {
		return -int64(quo), true, nil
	}
	return int64(quo), true, nil
}

// abs64 returns |v| as an uint64 (correct for math.MinInt64 too).
func abs64(v int64) uint64 {
	if v < 0 {
		return uint64(-v)
	}
	return uint64(v)
}

// rescale returns coefficient*10^exp expressed as a coefficient at exponent target, rounding by
// mode when digits are lost. It returns the bare ErrPrecision when mode is Exact and digits would
// be lost, and the bare ErrOverflow when scaling a non-zero coefficient up by MaxDigits places or
// more, which gives more than MaxDigits digits; the callers say what overflowed.
func rescale(coef *big.Int, exp, target int64, mode Rounding) (*big.Int, error) {
	switch {
	case exp == target:
		return coef, nil
	case exp > target:
		if coef.Sign() == 0 {
			return new(big.Int), nil
		}
		if exp-target >= MaxDigits {
			return nil, ErrOverflow
		}
		return new(big.Int).Mul(coef, pow10(exp-target)), nil
	default:
		shift := target - exp
		// Dividing by a power of ten larger than the coefficient gives a zero quotient and a
		// remainder below half of the divisor whatever the power, so cap it: a huge shift
		// (1e-2000000000) costs no more than a small one.
		if limit := int64(coef.BitLen())*30103/100000 + 3; shift > limit {
			shift = limit
		}
		return roundQuo(coef, pow10(shift), mode)
	}
}

// pow10 returns 10^n. Results below 10^40 are shared: callers must not modify them.
func pow10(n int64) *big.Int {
	if n < int64(len(smallPow10)) {
		return smallPow10[n]
	}
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(n), nil)
}

var smallPow10 = func() [40]*big.Int {
	var t [40]*big.Int
	t[0] = big.NewInt(1)
	for i := 1; i < len(t); i++ {
		t[i] = new(big.Int).Mul(t[i-1], big.NewInt(10))
	}
	return t
}()

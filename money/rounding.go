package money

import (
	"fmt"
	"math/big"
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
	sign := n.Sign()
	var away bool
	switch mode {
	case Up:
		away = true
	case Down:
		away = false
	case Ceiling:
		away = sign > 0
	case Floor:
		away = sign < 0
	default: // the half modes
		half := new(big.Int).Abs(r)
		switch half.Lsh(half, 1).Cmp(d) {
		case 1:
			away = true
		case -1:
			away = false
		default:
			switch mode {
			case HalfUp:
				away = true
			case HalfDown:
				away = false
			default: // HalfEven
				away = q.Bit(0) == 1
			}
		}
	}
	if away {
		q.Add(q, big.NewInt(int64(sign)))
	}
	return q, nil
}

// rescale returns coefficient*10^exp expressed as a coefficient at exponent target, rounding by
// mode when digits are lost.
func rescale(coef *big.Int, exp, target int64, mode Rounding) (*big.Int, error) {
	switch {
	case exp == target:
		return coef, nil
	case exp > target:
		if exp-target > maxShift {
			return nil, fmt.Errorf("%w: amount has more than %d digits", ErrOverflow, maxShift)
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

// maxShift bounds how far an amount is scaled up: 10^maxShift is far beyond any amount of money,
// and the bound keeps a hostile exponent from allocating gigabytes.
const maxShift = 1000

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

package money

import (
	"cmp"
	"fmt"
	"math/big"
	"math/bits"
	"slices"

	"github.com/shopspring/decimal"
)

// Allocate divides m into len(ratios) parts in proportion to ratios without losing or creating a
// minor unit: the parts sum exactly to m, and each part is within one minor unit of its exact
// share m×ratio/Σratios. The minor units left over after every part gets the floor of its share go
// one each to the parts with the largest remainders, the earlier part first on a tie, so the
// result is deterministic. Allocation is symmetric in sign: allocating -m gives exactly the
// negated parts of allocating m. A part whose ratio is zero gets zero.
//
// Ratios must not be negative and must not sum to zero (no ratios at all sum to zero), and there
// may be at most [MaxParts] of them; otherwise the error wraps [ErrInvalidArgument]. The parts
// cannot exceed [MaxDigits]: none is larger than m.
func (m Money) Allocate(ratios ...int64) ([]Money, error) {
	if len(ratios) > MaxParts {
		return nil, fmt.Errorf("%w: %d ratios, more than %d parts", ErrInvalidArgument, len(ratios), MaxParts)
	}
	var total uint64
	overflow := false
	for i, r := range ratios {
		if r < 0 {
			return nil, fmt.Errorf("%w: ratio %d at index %d is negative", ErrInvalidArgument, r, i)
		}
		var carry uint64
		total, carry = bits.Add64(total, uint64(r), 0)
		overflow = overflow || carry != 0
	}
	if total == 0 && !overflow {
		return nil, fmt.Errorf("%w: %d ratios sum to zero", ErrInvalidArgument, len(ratios))
	}
	if !overflow && m.amount.NumDigits() <= 18 {
		return m.allocate64(ratios, total), nil
	}
	return m.allocateBig(ratios), nil
}

// allocate64 is Allocate for an amount of at most 18 digits and ratios whose sum fits an uint64:
// every share and remainder then fits 64 bits.
func (m Money) allocate64(ratios []int64, total uint64) []Money {
	a := m.amount.CoefficientInt64()
	whole := abs64(a)
	parts := make([]uint64, len(ratios))
	rems := make([]uint64, len(ratios))
	left := whole
	for i, r := range ratios {
		// whole×r < 2^64×total because r <= total, so the quotient fits 64 bits.
		hi, lo := bits.Mul64(whole, uint64(r))
		parts[i], rems[i] = bits.Div64(hi, lo, total)
		left -= parts[i]
	}
	for _, i := range largestFirst(len(ratios), int(left), func(i, j int) int { return cmp.Compare(rems[j], rems[i]) }) {
		parts[i]++
	}
	out := make([]Money, len(parts))
	exp := m.amount.Exponent()
	for i, p := range parts {
		v := int64(p) // p <= whole < 10^18
		if a < 0 {
			v = -v
		}
		out[i] = Money{amount: decimal.New(v, exp), currency: m.currency}
	}
	return out
}

// allocateBig is Allocate for any amount and ratios.
func (m Money) allocateBig(ratios []int64) []Money {
	total := new(big.Int)
	for _, r := range ratios {
		total.Add(total, big.NewInt(r))
	}
	whole := m.amount.Coefficient()
	negative := whole.Sign() < 0
	whole.Abs(whole)
	parts := make([]*big.Int, len(ratios))
	rems := make([]*big.Int, len(ratios))
	left := new(big.Int).Set(whole)
	for i, r := range ratios {
		parts[i], rems[i] = new(big.Int).QuoRem(new(big.Int).Mul(whole, big.NewInt(r)), total, new(big.Int))
		left.Sub(left, parts[i])
	}
	one := big.NewInt(1)
	for _, i := range largestFirst(len(ratios), int(left.Int64()), func(i, j int) int { return rems[j].Cmp(rems[i]) }) {
		parts[i].Add(parts[i], one)
	}
	out := make([]Money, len(parts))
	for i, p := range parts {
		if negative {
			p.Neg(p)
		}
		out[i] = Money{amount: decimal.NewFromBigInt(p, m.amount.Exponent()), currency: m.currency}
	}
	return out
}

// largestFirst returns the indexes of the k parts that get one more minor unit: the largest
// remainders first (byRemainder orders larger first), the lower index first on a tie. k is below
// n: each of the n floors lost less than one unit.
func largestFirst(n, k int, byRemainder func(i, j int) int) []int {
	if k == 0 {
		return nil
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, byRemainder)
	return order[:k]
}

// Split divides m into n parts as equal as possible without losing a minor unit: the same as
// allocating n equal ratios, so the first parts get the extra minor units. n < 1 or n >
// [MaxParts] is an error wrapping [ErrInvalidArgument], returned before anything is allocated.
func (m Money) Split(n int) ([]Money, error) {
	if n < 1 || n > MaxParts {
		return nil, fmt.Errorf("%w: cannot split into %d parts (1 to %d)", ErrInvalidArgument, n, MaxParts)
	}
	if m.amount.NumDigits() > 18 {
		ratios := make([]int64, n)
		for i := range ratios {
			ratios[i] = 1
		}
		return m.allocateBig(ratios), nil
	}
	a := m.amount.CoefficientInt64()
	whole := abs64(a)
	share, extra := whole/uint64(n), whole%uint64(n)
	out := make([]Money, n)
	exp := m.amount.Exponent()
	for i := range out {
		v := int64(share)
		if uint64(i) < extra {
			v++
		}
		if a < 0 {
			v = -v
		}
		out[i] = Money{amount: decimal.New(v, exp), currency: m.currency}
	}
	return out, nil
}

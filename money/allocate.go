package money

import (
	"fmt"
	"math/big"
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
// Ratios must not be negative and must not sum to zero (no ratios at all sum to zero); otherwise
// the error wraps [ErrInvalidArgument].
func (m Money) Allocate(ratios ...int64) ([]Money, error) {
	total := new(big.Int)
	for i, r := range ratios {
		if r < 0 {
			return nil, fmt.Errorf("%w: ratio %d at index %d is negative", ErrInvalidArgument, r, i)
		}
		total.Add(total, big.NewInt(r))
	}
	if total.Sign() == 0 {
		return nil, fmt.Errorf("%w: ratios %v sum to zero", ErrInvalidArgument, ratios)
	}
	amount := m.amount.Coefficient()
	neg := amount.Sign() < 0
	amount.Abs(amount)

	type share struct {
		index int
		rem   *big.Int
	}
	parts := make([]*big.Int, len(ratios))
	shares := make([]share, len(ratios))
	left := new(big.Int).Set(amount)
	for i, r := range ratios {
		q, rem := new(big.Int).QuoRem(new(big.Int).Mul(amount, big.NewInt(r)), total, new(big.Int))
		parts[i] = q
		shares[i] = share{index: i, rem: rem}
		left.Sub(left, q)
	}
	// left < len(ratios): each floor lost less than one unit.
	slices.SortStableFunc(shares, func(a, b share) int { return b.rem.Cmp(a.rem) })
	for k := range left.Int64() {
		p := parts[shares[k].index]
		p.Add(p, big.NewInt(1))
	}
	out := make([]Money, len(parts))
	exp := -int32(m.currency.minor)
	for i, p := range parts {
		if neg {
			p.Neg(p)
		}
		out[i] = Money{amount: decimal.NewFromBigInt(p, exp), currency: m.currency}
	}
	return out, nil
}

// Split divides m into n parts as equal as possible without losing a minor unit: the same as
// allocating n equal ratios, so the first parts get the extra minor units. n < 1 is an error
// wrapping [ErrInvalidArgument].
func (m Money) Split(n int) ([]Money, error) {
	if n < 1 {
		return nil, fmt.Errorf("%w: cannot split into %d parts", ErrInvalidArgument, n)
	}
	ratios := make([]int64, n)
	for i := range ratios {
		ratios[i] = 1
	}
	return m.Allocate(ratios...)
}

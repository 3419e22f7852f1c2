package money_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/dddkit/ddd/money"
)

// ---------------------------------------------------------------------------------------------
// Generators

var (
	isoCurrencies = money.Currencies()

	// roundingModes lists every mode, Exact first.
	roundingModes = []money.Rounding{
		money.Exact, money.HalfEven, money.HalfUp, money.HalfDown,
		money.Up, money.Down, money.Ceiling, money.Floor,
	}

	// allSentinels lists the package's errors; every error it returns wraps one of them.
	allSentinels = []error{
		money.ErrUnknownCurrency, money.ErrInvalidCurrency, money.ErrCurrencyMismatch,
		money.ErrPrecision, money.ErrSyntax, money.ErrOverflow, money.ErrInvalidArgument,
	}
)

// isoCurrencyGen draws a currency of the built-in ISO 4217 table.
func isoCurrencyGen() *rapid.Generator[money.Currency] {
	return rapid.SampledFrom(isoCurrencies)
}

// customCurrencyGen draws a currency made with NewCurrency: a code of 4 to 12 characters (so
// never an ISO code), in any case, and 0 to 18 minor units.
func customCurrencyGen() *rapid.Generator[money.Currency] {
	return rapid.Custom(func(t *rapid.T) money.Currency {
		code := rapid.StringMatching(`[A-Za-z][A-Za-z0-9]{3,11}`).Draw(t, "code")
		minor := rapid.IntRange(0, 18).Draw(t, "minor")
		c, err := money.NewCurrency(code, minor)
		require.NoError(t, err)
		require.True(t, c.IsCustom())
		require.Equal(t, minor, c.MinorUnits())
		return c
	})
}

// currencyGen draws an ISO currency two times in three, a custom one otherwise.
func currencyGen() *rapid.Generator[money.Currency] {
	return rapid.OneOf(isoCurrencyGen(), isoCurrencyGen(), customCurrencyGen())
}

// unitsGen draws an amount in minor units: zero, small values, any int64, a huge value of 20 to
// 40 digits far beyond int64, or one of 60 to 64 digits, at or near MaxDigits; both signs.
func unitsGen() *rapid.Generator[*big.Int] {
	return rapid.Custom(func(t *rapid.T) *big.Int {
		switch rapid.IntRange(0, 9).Draw(t, "unitsKind") {
		case 0:
			return new(big.Int)
		case 1, 2:
			return hugeGen().Draw(t, "huge")
		case 9:
			return nearLimitGen().Draw(t, "nearLimit")
		case 3:
			return big.NewInt(rapid.Int64Range(-10000, 10000).Draw(t, "small"))
		case 4:
			return boundaryGen().Draw(t, "boundary")
		default:
			return big.NewInt(rapid.Int64().Draw(t, "int64"))
		}
	})
}

// hugeGen draws a non-zero integer of 20 to 40 digits, of either sign.
func hugeGen() *rapid.Generator[*big.Int] {
	return rapid.Custom(func(t *rapid.T) *big.Int {
		digits := rapid.StringMatching(`[1-9][0-9]{19,39}`).Draw(t, "digits")
		v, ok := new(big.Int).SetString(digits, 10)
		require.True(t, ok)
		if rapid.Bool().Draw(t, "neg") {
			v.Neg(v)
		}
		return v
	})
}

// limitUnits is 10^MaxDigits: amounts in minor units are below it in absolute value.
var limitUnits = pow10(money.MaxDigits)

// nearLimitGen draws an integer of 60 to 64 digits, often within a few units of 10^64 - 1 (the
// largest amount) or of 10^63, of either sign.
func nearLimitGen() *rapid.Generator[*big.Int] {
	return rapid.Custom(func(t *rapid.T) *big.Int {
		var v *big.Int
		switch rapid.IntRange(0, 2).Draw(t, "nearKind") {
		case 0:
			v = new(big.Int).Sub(limitUnits, big.NewInt(rapid.Int64Range(1, 5).Draw(t, "below")))
		case 1:
			v = new(big.Int).Add(pow10(money.MaxDigits-1), big.NewInt(rapid.Int64Range(-3, 3).Draw(t, "offset")))
		default:
			digits := rapid.StringMatching(`[1-9][0-9]{59,63}`).Draw(t, "digits")
			v, _ = new(big.Int).SetString(digits, 10)
		}
		if rapid.Bool().Draw(t, "neg") {
			v.Neg(v)
		}
		return v
	})
}

// boundaryBases are where fixed-width fast paths end: 10^18 (the digits an int64 always holds),
// 2^63 (int64), 10^19 and 2^64 (uint64).
var boundaryBases = []*big.Int{
	pow10(18), new(big.Int).Lsh(big.NewInt(1), 63), pow10(19), new(big.Int).Lsh(big.NewInt(1), 64),
}

// boundaryGen draws an integer within a few units of a boundary base, of either sign.
func boundaryGen() *rapid.Generator[*big.Int] {
	return rapid.Custom(func(t *rapid.T) *big.Int {
		v := new(big.Int).Set(rapid.SampledFrom(boundaryBases).Draw(t, "base"))
		v.Add(v, big.NewInt(rapid.Int64Range(-3, 3).Draw(t, "offset")))
		if rapid.Bool().Draw(t, "neg") {
			v.Neg(v)
		}
		return v
	})
}

// moneyIn draws an amount in currency c.
func moneyIn(c money.Currency) *rapid.Generator[money.Money] {
	return rapid.Custom(func(t *rapid.T) money.Money {
		return mustMoney(t, unitsGen().Draw(t, "units"), c)
	})
}

// moneyGen draws an amount in a random currency.
func moneyGen() *rapid.Generator[money.Money] {
	return rapid.Custom(func(t *rapid.T) money.Money {
		return moneyIn(currencyGen().Draw(t, "currency")).Draw(t, "money")
	})
}

// mustMoney builds units minor units of c through New (not FromMinorUnits, which takes int64).
func mustMoney(t require.TestingT, units *big.Int, c money.Currency) money.Money {
	m, err := money.New(decimal.NewFromBigInt(units, -int32(c.MinorUnits())), c)
	require.NoError(t, err)
	return m
}

// decimalGen draws a decimal: coefficient any int64, a huge big integer or a value ending in 5
// (to hit the ties of the half modes often), exponent -12..+3.
func decimalGen() *rapid.Generator[decimal.Decimal] {
	return rapid.Custom(func(t *rapid.T) decimal.Decimal {
		var coef *big.Int
		switch rapid.IntRange(0, 6).Draw(t, "decKind") {
		case 0:
			coef = hugeGen().Draw(t, "huge")
		case 3:
			coef = boundaryGen().Draw(t, "boundary")
		case 1, 2:
			// n*10 + 5: a tie when the last digit is the first dropped one.
			n := rapid.Int64Range(-100000, 100000).Draw(t, "tie")
			coef = big.NewInt(n*10 + 5)
			if rapid.Bool().Draw(t, "tieNeg") {
				coef.Neg(coef)
			}
		default:
			coef = big.NewInt(rapid.Int64().Draw(t, "coef"))
		}
		exp := rapid.Int32Range(-12, 3).Draw(t, "exp")
		return decimal.NewFromBigInt(coef, exp)
	})
}

// factorGen draws factors, divisors and rates: random decimals and simple ones that make ties.
func factorGen() *rapid.Generator[decimal.Decimal] {
	simple := rapid.Custom(func(t *rapid.T) decimal.Decimal {
		s := rapid.SampledFrom([]string{
			"0.5", "-0.5", "1.5", "2.5", "0.25", "0.125", "0.05", "0.005", "0.1", "-0.1",
			"1", "-1", "2", "-2", "3", "7", "0.3", "1.0000", "100", "0.0001", "1000.000",
			"151.237", "0.000000000001", "1e3", "-2e2",
		}).Draw(t, "simple")
		return decimal.RequireFromString(s)
	})
	return rapid.OneOf(decimalGen(), decimalGen(), simple)
}

func modeGen() *rapid.Generator[money.Rounding] { return rapid.SampledFrom(roundingModes) }

// ---------------------------------------------------------------------------------------------
// Helpers

// requireCanonical checks the invariant of Money: the amount has exactly the currency's decimals.
func requireCanonical(t require.TestingT, m money.Money) {
	require.Equal(t, int32(-m.Currency().MinorUnits()), m.Amount().Exponent(),
		"amount %s of %s has exponent %d", m.Amount(), m.Currency(), m.Amount().Exponent())
}

func requireMoneyEqual(t require.TestingT, want, got money.Money, msgAndArgs ...any) {
	require.True(t, want.Equal(got), "want %s (%#v), got %s (%#v) %s",
		want, want.Currency(), got, got.Currency(), fmt.Sprint(msgAndArgs...))
	requireCanonical(t, got)
}

// requireSentinel checks that err wraps exactly one of the package's sentinels, and that it is
// one of sentinels.
func requireSentinel(t require.TestingT, err error, sentinels ...error) {
	require.Error(t, err)
	require.Equal(t, 1, sentinelCount(err), "%v", err)
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return
		}
	}
	require.Failf(t, "unexpected error", "%v wraps none of %v", err, sentinels)
}

func pow10(n int64) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(n), nil) }

// ratOf returns d exactly as a rational.
func ratOf(d decimal.Decimal) *big.Rat {
	r := new(big.Rat).SetInt(d.Coefficient())
	if e := int64(d.Exponent()); e >= 0 {
		r.Mul(r, new(big.Rat).SetInt(pow10(e)))
	} else {
		r.Quo(r, new(big.Rat).SetInt(pow10(-e)))
	}
	return r
}

// units returns m in minor units, exactly, as a rational.
func unitsRat(m money.Money) *big.Rat {
	r := ratOf(m.Amount())
	return r.Mul(r, new(big.Rat).SetInt(pow10(int64(m.Currency().MinorUnits()))))
}

func unitsOf(m money.Money) *big.Int {
	r := unitsRat(m)
	if !r.IsInt() {
		panic(fmt.Sprintf("%s is not a whole number of minor units", m))
	}
	return new(big.Int).Set(r.Num())
}

// refRound is the reference rounding, independent of the package: it rounds r to an integer by
// mode, from the floor and the ceiling of r and the comparison of its fractional part with 1/2.
// With Exact it returns nil when r is not an integer.
func refRound(r *big.Rat, mode money.Rounding) *big.Int {
	// Euclidean division by a positive denominator is the floor.
	floor := new(big.Int).Div(r.Num(), r.Denom())
	if r.IsInt() {
		return floor
	}
	ceil := new(big.Int).Add(floor, big.NewInt(1))
	frac := new(big.Rat).Sub(r, new(big.Rat).SetInt(floor)) // in (0, 1)
	positive := r.Sign() > 0
	towardZero, awayFromZero := floor, ceil
	if !positive {
		towardZero, awayFromZero = ceil, floor
	}
	half := frac.Cmp(big.NewRat(1, 2))
	switch mode {
	case money.Exact:
		return nil
	case money.Floor:
		return floor
	case money.Ceiling:
		return ceil
	case money.Down:
		return towardZero
	case money.Up:
		return awayFromZero
	}
	// Half modes: the nearest, and on a tie the one the mode says.
	switch {
	case half < 0:
		return floor
	case half > 0:
		return ceil
	}
	switch mode {
	case money.HalfUp:
		return awayFromZero
	case money.HalfDown:
		return towardZero
	case money.HalfEven:
		if floor.Bit(0) == 0 { // Bit of a negative big.Int is its two's-complement bit: parity holds
			return floor
		}
		return ceil
	}
	panic("unknown rounding mode " + mode.String())
}

// requireRounded checks a result against the exact value in minor units of c, rounded by mode.
func requireRounded(t require.TestingT, exactUnits *big.Rat, mode money.Rounding, c money.Currency, got money.Money, err error) {
	want := refRound(exactUnits, mode)
	if want == nil {
		require.ErrorIs(t, err, money.ErrPrecision, "exact %s units needs rounding, got %s", exactUnits.RatString(), got)
		return
	}
	if want.CmpAbs(limitUnits) >= 0 {
		require.ErrorIs(t, err, money.ErrOverflow, "%s units is beyond MaxDigits, got %s", want, got)
		return
	}
	require.NoError(t, err, "exact %s units, mode %s", exactUnits.RatString(), mode)
	require.Equal(t, c, got.Currency())
	requireCanonical(t, got)
	require.Zero(t, want.Cmp(unitsOf(got)), "exact %s units, mode %s: want %s units, got %s (%s units)",
		exactUnits.FloatString(30), mode, want, got, unitsOf(got))
}

// ---------------------------------------------------------------------------------------------
// Arithmetic

func TestPropAddCommutative(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := currencyGen().Draw(t, "c")
		a, b := moneyIn(c).Draw(t, "a"), moneyIn(c).Draw(t, "b")
		ab, err := a.Add(b)
		sum := new(big.Int).Add(unitsOf(a), unitsOf(b))
		if sum.CmpAbs(limitUnits) >= 0 {
			require.ErrorIs(t, err, money.ErrOverflow)
			_, err = b.Add(a)
			require.ErrorIs(t, err, money.ErrOverflow)
			return
		}
		require.NoError(t, err)
		ba, err := b.Add(a)
		require.NoError(t, err)
		requireMoneyEqual(t, ab, ba)
		requireMoneyEqual(t, mustMoney(t, sum, c), ab)
	})
}

func TestPropAddAssociative(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := currencyGen().Draw(t, "c")
		a, b, d := moneyIn(c).Draw(t, "a"), moneyIn(c).Draw(t, "b"), moneyIn(c).Draw(t, "d")
		total := new(big.Int).Add(unitsOf(a), unitsOf(b))
		total.Add(total, unitsOf(d))
		sum, err := money.Sum(c, a, b, d)
		if total.CmpAbs(limitUnits) >= 0 {
			require.ErrorIs(t, err, money.ErrOverflow)
			return
		}
		require.NoError(t, err, "only the total counts")
		requireMoneyEqual(t, mustMoney(t, total, c), sum)
		// Both groupings agree with Sum unless a partial sum is beyond the limit.
		if ab, err := a.Add(b); err == nil {
			left, err := ab.Add(d)
			require.NoError(t, err)
			requireMoneyEqual(t, sum, left)
		} else {
			require.ErrorIs(t, err, money.ErrOverflow)
		}
		if bd, err := b.Add(d); err == nil {
			right, err := a.Add(bd)
			require.NoError(t, err)
			requireMoneyEqual(t, sum, right)
		} else {
			require.ErrorIs(t, err, money.ErrOverflow)
		}
	})
}

func TestPropSubInverseOfAdd(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := currencyGen().Draw(t, "c")
		a, b := moneyIn(c).Draw(t, "a"), moneyIn(c).Draw(t, "b")
		if ab, err := a.Add(b); err == nil {
			back, err := ab.Sub(b)
			require.NoError(t, err)
			requireMoneyEqual(t, a, back)
		} else {
			require.ErrorIs(t, err, money.ErrOverflow)
		}
		diff, err := a.Sub(b)
		plusNeg, err2 := a.Add(b.Neg())
		if want := new(big.Int).Sub(unitsOf(a), unitsOf(b)); want.CmpAbs(limitUnits) >= 0 {
			require.ErrorIs(t, err, money.ErrOverflow)
			require.ErrorIs(t, err2, money.ErrOverflow)
			return
		}
		require.NoError(t, err)
		require.NoError(t, err2)
		requireMoneyEqual(t, diff, plusNeg)
	})
}

func TestPropNegInvolution(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := moneyGen().Draw(t, "a")
		n := a.Neg()
		requireCanonical(t, n)
		require.Equal(t, -a.Sign(), n.Sign())
		requireMoneyEqual(t, a, n.Neg())
	})
}

func TestPropAddNegIsZero(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := moneyGen().Draw(t, "a")
		z, err := a.Add(a.Neg())
		require.NoError(t, err)
		require.True(t, z.IsZero())
		require.Zero(t, z.Sign())
		requireMoneyEqual(t, money.Zero(a.Currency()), z)
	})
}

func TestPropAbs(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := moneyGen().Draw(t, "a")
		abs := a.Abs()
		requireCanonical(t, abs)
		require.GreaterOrEqual(t, abs.Sign(), 0)
		require.False(t, abs.IsNegative())
		require.True(t, abs.Equal(a) || abs.Equal(a.Neg()))
		if a.Sign() >= 0 {
			requireMoneyEqual(t, a, abs)
		} else {
			requireMoneyEqual(t, a.Neg(), abs)
		}
		requireMoneyEqual(t, abs, abs.Abs())
	})
}

// otherCurrencyGen draws a currency different from c: another ISO or custom one, the zero
// Currency, or (for a custom c) the same code with other minor units.
func otherCurrencyGen(c money.Currency) *rapid.Generator[money.Currency] {
	return rapid.Custom(func(t *rapid.T) money.Currency {
		if c.IsCustom() && rapid.IntRange(0, 3).Draw(t, "sameCode") == 0 {
			minor := (c.MinorUnits() + rapid.IntRange(1, 18).Draw(t, "shift")) % 19
			o, err := money.NewCurrency(c.Code(), minor)
			require.NoError(t, err)
			return o
		}
		if !c.IsZero() && rapid.IntRange(0, 5).Draw(t, "zeroCurrency") == 0 {
			return money.Currency{}
		}
		return currencyGen().Filter(func(o money.Currency) bool { return o != c }).Draw(t, "other")
	})
}

// moneyInAny is moneyIn that also accepts the zero Currency, giving the zero Money.
func moneyInAny(c money.Currency) *rapid.Generator[money.Money] {
	if c.IsZero() {
		return rapid.Just(money.Money{})
	}
	return moneyIn(c)
}

func TestPropMixedCurrenciesError(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c1 := currencyGen().Draw(t, "c1")
		c2 := otherCurrencyGen(c1).Draw(t, "c2")
		require.NotEqual(t, c1, c2)
		a, b := moneyIn(c1).Draw(t, "a"), moneyInAny(c2).Draw(t, "b")
		if rapid.Bool().Draw(t, "swap") {
			a, b = b, a
		}
		{
			_, err := a.Add(b)
			require.ErrorIs(t, err, money.ErrCurrencyMismatch)
			_, err = a.Sub(b)
			require.ErrorIs(t, err, money.ErrCurrencyMismatch)
			cmp, err := a.Cmp(b)
			require.ErrorIs(t, err, money.ErrCurrencyMismatch)
			require.Zero(t, cmp)
			lt, err := a.LessThan(b)
			require.ErrorIs(t, err, money.ErrCurrencyMismatch)
			require.False(t, lt)
			gt, err := a.GreaterThan(b)
			require.ErrorIs(t, err, money.ErrCurrencyMismatch)
			require.False(t, gt)
			require.False(t, a.Equal(b))
			for _, c := range []money.Currency{c1, c2} {
				_, err = money.Sum(c, a, b)
				require.ErrorIs(t, err, money.ErrCurrencyMismatch)
				_, err = money.Sum(c, b, a, a)
				require.ErrorIs(t, err, money.ErrCurrencyMismatch)
			}
			_, err = money.Sum(b.Currency(), a)
			require.ErrorIs(t, err, money.ErrCurrencyMismatch)
		}
	})
}

// ---------------------------------------------------------------------------------------------
// Allocation

func ratiosGen() *rapid.Generator[[]int64] {
	ratio := rapid.OneOf(
		rapid.Int64Range(0, 10),
		rapid.Int64Range(0, 1000),
		rapid.Int64Range(0, 1_000_000_000_000),
		rapid.Just(int64(0)),
		rapid.Just(int64(math.MaxInt64)),
	)
	return rapid.Custom(func(t *rapid.T) []int64 {
		rs := rapid.SliceOfN(ratio, 1, 20).Draw(t, "ratios")
		for _, r := range rs {
			if r != 0 {
				return rs
			}
		}
		i := rapid.IntRange(0, len(rs)-1).Draw(t, "nonZeroAt")
		rs[i] = rapid.Int64Range(1, 1_000_000_000_000).Draw(t, "nonZero")
		return rs
	})
}

func TestPropAllocate(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := moneyGen().Draw(t, "m")
		c := m.Currency()
		ratios := ratiosGen().Draw(t, "ratios")
		parts, err := m.Allocate(ratios...)
		require.NoError(t, err)
		require.Len(t, parts, len(ratios))

		// The parts sum exactly to the whole.
		sum, err := money.Sum(c, parts...)
		require.NoError(t, err)
		requireMoneyEqual(t, m, sum)

		// Each part is within one minor unit of its exact share; a zero ratio gets zero.
		total := new(big.Int)
		for _, r := range ratios {
			total.Add(total, big.NewInt(r))
		}
		whole := unitsOf(m)
		for i, p := range parts {
			require.Equal(t, c, p.Currency())
			requireCanonical(t, p)
			share := new(big.Rat).SetFrac(new(big.Int).Mul(whole, big.NewInt(ratios[i])), total)
			diff := new(big.Rat).Sub(new(big.Rat).SetInt(unitsOf(p)), share)
			require.Negative(t, diff.Abs(diff).Cmp(big.NewRat(1, 1)),
				"part %d = %s, exact share %s units", i, p, share.FloatString(6))
			if ratios[i] == 0 {
				require.True(t, p.IsZero(), "part %d has ratio 0 but is %s", i, p)
			}
			// A part never has the opposite sign of the whole.
			require.GreaterOrEqual(t, p.Sign()*m.Sign(), 0)
		}

		// Sign symmetry.
		negParts, err := m.Neg().Allocate(ratios...)
		require.NoError(t, err)
		require.Len(t, negParts, len(parts))
		for i := range parts {
			requireMoneyEqual(t, parts[i].Neg(), negParts[i], "part ", i)
		}

		// Determinism.
		again, err := m.Allocate(ratios...)
		require.NoError(t, err)
		for i := range parts {
			requireMoneyEqual(t, parts[i], again[i], "part ", i)
		}
	})
}

func TestPropSplitEqualsAllocateOnes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := moneyGen().Draw(t, "m")
		n := rapid.IntRange(1, 50).Draw(t, "n")
		parts, err := m.Split(n)
		require.NoError(t, err)
		ones := make([]int64, n)
		for i := range ones {
			ones[i] = 1
		}
		alloc, err := m.Allocate(ones...)
		require.NoError(t, err)
		require.Len(t, parts, n)
		require.Len(t, alloc, n)
		for i := range parts {
			requireMoneyEqual(t, alloc[i], parts[i], "part ", i)
		}
		// Equal parts differ by at most one minor unit, the larger ones first.
		for i := 1; i < n; i++ {
			d := new(big.Int).Sub(unitsOf(parts[i-1].Abs()), unitsOf(parts[i].Abs()))
			require.True(t, d.Sign() == 0 || d.Cmp(big.NewInt(1)) == 0, "parts %s, %s", parts[i-1], parts[i])
		}
	})
}

func TestPropAllocateInvalid(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := moneyGen().Draw(t, "m")

		_, err := m.Allocate()
		require.ErrorIs(t, err, money.ErrInvalidArgument)

		zeros := make([]int64, rapid.IntRange(1, 20).Draw(t, "zeros"))
		_, err = m.Allocate(zeros...)
		require.ErrorIs(t, err, money.ErrInvalidArgument)

		ratios := ratiosGen().Draw(t, "ratios")
		i := rapid.IntRange(0, len(ratios)).Draw(t, "negAt")
		neg := rapid.OneOf(rapid.Int64Range(math.MinInt64, -1), rapid.Just(int64(-1))).Draw(t, "neg")
		ratios = slices.Insert(ratios, i, neg)
		parts, err := m.Allocate(ratios...)
		require.ErrorIs(t, err, money.ErrInvalidArgument)
		require.Nil(t, parts)

		n := rapid.OneOf(rapid.IntRange(-100, 0), rapid.Just(math.MinInt)).Draw(t, "n")
		parts, err = m.Split(n)
		require.ErrorIs(t, err, money.ErrInvalidArgument)
		require.Nil(t, parts)
	})
}

// ---------------------------------------------------------------------------------------------
// Text, JSON and SQL

// registryFor returns a registry that knows c if it is custom.
func registryFor(t require.TestingT, c money.Currency) *money.Registry {
	var custom []money.Currency
	if c.IsCustom() {
		custom = append(custom, c)
	}
	r, err := money.NewRegistry(custom...)
	require.NoError(t, err)
	return r
}

func TestPropParseRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := moneyGen().Draw(t, "m")
		s := m.String()
		reg := registryFor(t, m.Currency())

		got, err := reg.Parse(s)
		require.NoError(t, err, s)
		requireMoneyEqual(t, m, got)
		require.Equal(t, s, got.String())

		// The code may be in any case.
		amount, code, ok := strings.Cut(s, " ")
		require.True(t, ok)
		got, err = reg.Parse(amount + " " + strings.ToLower(code))
		require.NoError(t, err)
		requireMoneyEqual(t, m, got)

		got, err = money.FromString(amount, m.Currency())
		require.NoError(t, err)
		requireMoneyEqual(t, m, got)

		got, err = money.Parse(s)
		if m.Currency().IsCustom() {
			require.ErrorIs(t, err, money.ErrUnknownCurrency)
			return
		}
		require.NoError(t, err, s)
		requireMoneyEqual(t, m, got)
	})
}

func TestPropJSONRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := moneyGen().Draw(t, "m")
		b, err := json.Marshal(m)
		require.NoError(t, err)
		require.True(t, json.Valid(b), "%s", b)

		var got money.Money
		require.NoError(t, json.Unmarshal(b, &got), "%s", b)
		requireMoneyEqual(t, m, got)

		// The amount may also be a JSON number, read exactly.
		amount, _, _ := strings.Cut(m.String(), " ")
		number := fmt.Sprintf(`{"amount":%s,"currency":%q`, amount, strings.ToLower(m.Currency().Code()))
		if m.Currency().IsCustom() {
			number += fmt.Sprintf(`,"minorUnits":%d`, m.Currency().MinorUnits())
		}
		number += "}"
		got = money.Money{}
		require.NoError(t, json.Unmarshal([]byte(number), &got), number)
		requireMoneyEqual(t, m, got)
	})
}

type priced struct {
	Name  string       `json:"name"`
	Price money.Money  `json:"price"`
	Extra *money.Money `json:"extra,omitempty"`
	None  money.Money  `json:"none"`
}

func TestPropJSONStructField(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := priced{Name: "x", Price: moneyGen().Draw(t, "price")}
		if rapid.Bool().Draw(t, "hasExtra") {
			e := moneyGen().Draw(t, "extra")
			in.Extra = &e
		}
		b, err := json.Marshal(in)
		require.NoError(t, err)
		require.Contains(t, string(b), `"none":null`)

		// Decode over non-zero values: null must reset None to the zero Money.
		out := priced{None: money.MustParse("1.00 USD")}
		require.NoError(t, json.Unmarshal(b, &out), "%s", b)
		require.Equal(t, in.Name, out.Name)
		requireMoneyEqual(t, in.Price, out.Price)
		require.True(t, out.None.Equal(money.Money{}))
		require.True(t, out.None.Currency().IsZero())
		if in.Extra == nil {
			require.Nil(t, out.Extra)
		} else {
			require.NotNil(t, out.Extra)
			requireMoneyEqual(t, *in.Extra, *out.Extra)
		}
	})
}

func TestZeroMoneyEncodings(t *testing.T) {
	var zero money.Money
	b, err := json.Marshal(zero)
	require.NoError(t, err)
	require.Equal(t, "null", string(b))

	got := money.MustParse("1.23 USD")
	require.NoError(t, json.Unmarshal(b, &got))
	require.True(t, got.Equal(zero))
	require.True(t, got.Currency().IsZero())

	text, err := zero.MarshalText()
	require.NoError(t, err)
	require.Empty(t, text)
	got = money.MustParse("1.23 USD")
	require.NoError(t, got.UnmarshalText(text))
	require.True(t, got.Equal(zero))

	v, err := zero.Value()
	require.NoError(t, err)
	require.Nil(t, v)
	got = money.MustParse("1.23 USD")
	require.NoError(t, got.Scan(v))
	require.True(t, got.Equal(zero))

	a, c := zero.Columns()
	require.Nil(t, a)
	require.Nil(t, c)
	got, err = money.FromColumns(a, c)
	require.NoError(t, err)
	require.True(t, got.Equal(zero))

	require.Equal(t, "0", zero.String())
	require.True(t, zero.IsZero())
	require.Zero(t, zero.Sign())
}

func TestPropSQLValueScanRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := moneyGen().Draw(t, "m")
		v, err := m.Value()
		require.NoError(t, err)
		s, ok := v.(string)
		require.True(t, ok, "Value gave %T", v)
		require.Equal(t, m.String(), s)

		if m.Currency().IsCustom() {
			// Scan knows ISO 4217 only; a custom column is read as a string and parsed.
			var got money.Money
			require.ErrorIs(t, got.Scan(s), money.ErrUnknownCurrency)
			parsed, err := registryFor(t, m.Currency()).Parse(s)
			require.NoError(t, err)
			requireMoneyEqual(t, m, parsed)
			return
		}
		for _, src := range []any{s, []byte(s)} {
			got := money.MustParse("-7.5 EUR")
			require.NoError(t, got.Scan(src), "%T %q", src, s)
			requireMoneyEqual(t, m, got)
		}
	})
}

func TestPropSQLColumnsRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := moneyGen().Draw(t, "m")
		c := m.Currency()
		reg := registryFor(t, c)
		amount, code := m.Columns()
		as, ok := amount.(string)
		require.True(t, ok, "amount column is %T", amount)
		cs, ok := code.(string)
		require.True(t, ok, "currency column is %T", code)
		require.Equal(t, c.Code(), cs)

		// As a Postgres driver returns them, as a MySQL driver does ([]byte), and with the code
		// padded as a CHAR(n) column pads it.
		padded := cs + strings.Repeat(" ", 12-len(cs))
		inputs := [][2]any{{as, cs}, {[]byte(as), []byte(cs)}, {as, []byte(cs)}, {[]byte(as), padded}}
		if c.MinorUnits() == 0 {
			if u, err := m.MinorUnits(); err == nil {
				inputs = append(inputs, [2]any{u, cs}) // an integer column
			}
		}
		for _, in := range inputs {
			got, err := reg.FromColumns(in[0], in[1])
			require.NoError(t, err, "%#v", in)
			requireMoneyEqual(t, m, got)
			got, err = money.FromColumns(in[0], in[1])
			if c.IsCustom() {
				require.ErrorIs(t, err, money.ErrUnknownCurrency)
				continue
			}
			require.NoError(t, err, "%#v", in)
			requireMoneyEqual(t, m, got)
		}

		// One NULL, or an amount that came as a float, is refused.
		_, err := reg.FromColumns(nil, cs)
		require.ErrorIs(t, err, money.ErrSyntax)
		_, err = reg.FromColumns(as, nil)
		require.ErrorIs(t, err, money.ErrSyntax)
		_, err = reg.FromColumns(1.5, cs)
		require.ErrorIs(t, err, money.ErrSyntax)
	})
}

func TestPropTextRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := moneyIn(isoCurrencyGen().Draw(t, "c")).Draw(t, "m")
		text, err := m.MarshalText()
		require.NoError(t, err)
		require.Equal(t, m.String(), string(text))
		got := money.MustParse("3 JPY")
		require.NoError(t, got.UnmarshalText(text))
		requireMoneyEqual(t, m, got)
	})
}

// TestPropBeyondMaxDigits: no Money has more than MaxDigits digits. New refuses such an amount,
// and every decoder refuses its text forms, with ErrOverflow.
func TestPropBeyondMaxDigits(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := currencyGen().Draw(t, "c")
		digits := rapid.StringMatching(`[1-9][0-9]{64,79}`).Draw(t, "digits")
		v, ok := new(big.Int).SetString(digits, 10)
		require.True(t, ok)
		if rapid.Bool().Draw(t, "neg") {
			v.Neg(v)
		}
		d := decimal.NewFromBigInt(v, -int32(c.MinorUnits()))
		_, err := money.New(d, c)
		require.ErrorIs(t, err, money.ErrOverflow)
		_, err = money.NewRounded(d, c, modeGen().Draw(t, "mode"))
		require.ErrorIs(t, err, money.ErrOverflow)
		reg := registryFor(t, c)

		// The canonical text of that amount.
		amount := d.StringFixed(int32(c.MinorUnits()))
		_, err = reg.Parse(amount + " " + c.Code())
		require.ErrorIs(t, err, money.ErrOverflow)
		_, err = reg.FromColumns(amount, c.Code())
		require.ErrorIs(t, err, money.ErrOverflow)
		_, err = money.FromString(amount, c)
		require.ErrorIs(t, err, money.ErrOverflow)
		doc := fmt.Sprintf(`{"amount":%q,"currency":%q,"minorUnits":%d}`, amount, c.Code(), c.MinorUnits())
		got := money.MustParse("1 JPY")
		require.ErrorIs(t, json.Unmarshal([]byte(doc), &got), money.ErrOverflow)
		requireMoneyEqual(t, money.MustParse("1 JPY"), got)
		_, err = reg.ParseJSON([]byte(doc))
		require.ErrorIs(t, err, money.ErrOverflow)
		if !c.IsCustom() {
			require.ErrorIs(t, got.Scan(amount+" "+c.Code()), money.ErrOverflow)
			require.ErrorIs(t, got.UnmarshalText([]byte(amount+" "+c.Code())), money.ErrOverflow)
		}
	})
}

// ---------------------------------------------------------------------------------------------
// Minor units

func TestPropMinorUnitsRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		u := rapid.OneOf(rapid.Int64(), rapid.SampledFrom([]int64{
			math.MinInt64, math.MinInt64 + 1, math.MaxInt64, math.MaxInt64 - 1, 0, 1, -1,
			999_999_999_999_999_999, -999_999_999_999_999_999, 1_000_000_000_000_000_000,
		})).Draw(t, "u")
		c := currencyGen().Draw(t, "c")
		m, err := money.FromMinorUnits(u, c)
		require.NoError(t, err)
		requireCanonical(t, m)
		require.Equal(t, c, m.Currency())
		got, err := m.MinorUnits()
		require.NoError(t, err)
		require.Equal(t, u, got)
		require.Zero(t, big.NewInt(u).Cmp(unitsOf(m)))

		// Through New and through text, the same.
		requireMoneyEqual(t, mustMoney(t, big.NewInt(u), c), m)
		got, err = mustMoney(t, big.NewInt(u), c).MinorUnits()
		require.NoError(t, err)
		require.Equal(t, u, got)
	})
}

func TestPropMinorUnitsOverflow(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := currencyGen().Draw(t, "c")
		var v *big.Int
		switch rapid.IntRange(0, 2).Draw(t, "kind") {
		case 0: // just beyond int64
			v = new(big.Int).Add(big.NewInt(math.MaxInt64), big.NewInt(rapid.Int64Range(1, 1000).Draw(t, "k")))
		case 1:
			v = new(big.Int).Sub(big.NewInt(math.MinInt64), big.NewInt(rapid.Int64Range(1, 1000).Draw(t, "k")))
		default:
			v = hugeGen().Draw(t, "huge")
		}
		if v.IsInt64() {
			return
		}
		m := mustMoney(t, v, c)
		got, err := m.MinorUnits()
		require.ErrorIs(t, err, money.ErrOverflow, "%s gave %d", m, got)
		require.Zero(t, got)

		// Reaching it by arithmetic on int64 amounts does not wrap either.
		a, err := money.FromMinorUnits(math.MaxInt64, c)
		require.NoError(t, err)
		one, err := money.FromMinorUnits(1, c)
		require.NoError(t, err)
		s, err := a.Add(one)
		require.NoError(t, err)
		_, err = s.MinorUnits()
		require.ErrorIs(t, err, money.ErrOverflow)
		n, err := money.FromMinorUnits(math.MinInt64, c)
		require.NoError(t, err)
		_, err = n.Neg().MinorUnits()
		require.ErrorIs(t, err, money.ErrOverflow)
		_, err = n.Abs().MinorUnits()
		require.ErrorIs(t, err, money.ErrOverflow)
		below, err := n.Sub(one)
		require.NoError(t, err)
		_, err = below.MinorUnits()
		require.ErrorIs(t, err, money.ErrOverflow)
	})
}

// ---------------------------------------------------------------------------------------------
// Rounding against the reference

func TestRefRoundSelfCheck(t *testing.T) {
	// The reference itself, on the textbook table.
	for _, tc := range canonicalRounding {
		r, ok := new(big.Rat).SetString(tc.in)
		require.True(t, ok)
		for i, mode := range roundingModes[1:] {
			require.Equal(t, tc.want[i], refRound(r, mode).Int64(), "%s %s", tc.in, mode)
		}
		require.Nil(t, refRound(r, money.Exact))
	}
}

// canonicalRounding is the textbook table: want is for HalfEven, HalfUp, HalfDown, Up, Down,
// Ceiling, Floor.
var canonicalRounding = []struct {
	in   string
	want [7]int64
}{
	{"2.5", [7]int64{2, 3, 2, 3, 2, 3, 2}},
	{"-2.5", [7]int64{-2, -3, -2, -3, -2, -2, -3}},
	{"2.4", [7]int64{2, 2, 2, 3, 2, 3, 2}},
	{"2.6", [7]int64{3, 3, 3, 3, 2, 3, 2}},
	{"3.5", [7]int64{4, 4, 3, 4, 3, 4, 3}},
	{"-3.5", [7]int64{-4, -4, -3, -4, -3, -3, -4}},
	{"2.1", [7]int64{2, 2, 2, 3, 2, 3, 2}},
	{"-2.1", [7]int64{-2, -2, -2, -3, -2, -2, -3}},
}

func TestRoundingCanonicalExamples(t *testing.T) {
	jpy := money.MustLookup("JPY")
	usd := money.MustLookup("USD")
	for _, tc := range canonicalRounding {
		d := decimal.RequireFromString(tc.in)
		tenths, err := money.FromMinorUnits(d.Shift(1).IntPart(), jpy) // 2.5 -> 25 JPY
		require.NoError(t, err)
		inUSD, err := money.New(d, usd)
		require.NoError(t, err)
		for i, mode := range roundingModes {
			t.Run(tc.in+"/"+mode.String(), func(t *testing.T) {
				results := map[string]func() (money.Money, error){
					"NewRounded": func() (money.Money, error) { return money.NewRounded(d, jpy, mode) },
					"Mul":        func() (money.Money, error) { return tenths.Mul(decimal.RequireFromString("0.1"), mode) },
					"Div":        func() (money.Money, error) { return tenths.Div(decimal.NewFromInt(10), mode) },
					"Convert":    func() (money.Money, error) { return inUSD.Convert(jpy, decimal.NewFromInt(1), mode) },
					"RoundTo": func() (money.Money, error) {
						r, err := inUSD.RoundTo(decimal.NewFromInt(1), mode)
						if err != nil {
							return r, err
						}
						return money.New(r.Amount(), jpy)
					},
				}
				for name, f := range results {
					got, err := f()
					if mode == money.Exact {
						require.ErrorIs(t, err, money.ErrPrecision, name)
						continue
					}
					require.NoError(t, err, name)
					require.Equal(t, decimal.NewFromInt(tc.want[i-1]).String(), got.Amount().String(), name)
					require.Equal(t, jpy, got.Currency(), name)
				}
			})
		}
	}
}

func TestInvalidRoundingMode(t *testing.T) {
	m := money.MustParse("1.00 USD")
	for _, mode := range []money.Rounding{8, 9, 255} {
		_, err := money.NewRounded(decimal.NewFromInt(1), m.Currency(), mode)
		require.ErrorIs(t, err, money.ErrInvalidArgument)
		_, err = m.Mul(decimal.NewFromInt(1), mode)
		require.ErrorIs(t, err, money.ErrInvalidArgument)
		_, err = m.Div(decimal.NewFromInt(1), mode)
		require.ErrorIs(t, err, money.ErrInvalidArgument)
		_, err = m.Convert(m.Currency(), decimal.NewFromInt(1), mode)
		require.ErrorIs(t, err, money.ErrInvalidArgument)
		_, err = m.RoundTo(decimal.NewFromInt(1), mode)
		require.ErrorIs(t, err, money.ErrInvalidArgument)
	}
}

func TestPropNewRoundedReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		d := decimalGen().Draw(t, "d")
		c := currencyGen().Draw(t, "c")
		mode := modeGen().Draw(t, "mode")
		got, err := money.NewRounded(d, c, mode)
		exact := ratOf(d)
		exact.Mul(exact, new(big.Rat).SetInt(pow10(int64(c.MinorUnits()))))
		requireRounded(t, exact, mode, c, got, err)
		if mode == money.Exact {
			n, err := money.New(d, c)
			if refRound(exact, mode) == nil {
				require.ErrorIs(t, err, money.ErrPrecision)
			} else {
				require.NoError(t, err)
				requireMoneyEqual(t, got, n)
				require.Zero(t, ratOf(d).Cmp(ratOf(n.Amount())))
			}
		}
	})
}

func TestPropMulReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := moneyGen().Draw(t, "m")
		factor := factorGen().Draw(t, "factor")
		mode := modeGen().Draw(t, "mode")
		got, err := m.Mul(factor, mode)
		exact := new(big.Rat).Mul(unitsRat(m), ratOf(factor))
		requireRounded(t, exact, mode, m.Currency(), got, err)
	})
}

// TestPropMulAt64BitBoundary aims Mul and Convert at products whose quotient by the dropped power
// of ten is just below 2^63 or 2^64 with a non-zero remainder, where a 64-bit fast path must
// round without wrapping. Random amounts almost never land there.
func TestPropMulAt64BitBoundary(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.Int64Range(1, 4).Draw(t, "factorDecimals")
		d := pow10(s)
		b := new(big.Int).Lsh(big.NewInt(1), uint(rapid.SampledFrom([]uint{63, 64}).Draw(t, "bits")))
		b.Sub(b, big.NewInt(rapid.Int64Range(1, 2).Draw(t, "below")))
		// Want amount × factor in [b·d+1, b·d+d-1]: quotient b, remainder not zero.
		lo := new(big.Int).Add(new(big.Int).Mul(b, d), big.NewInt(1))
		hi := new(big.Int).Add(new(big.Int).Mul(b, d), new(big.Int).Sub(d, big.NewInt(1)))
		maxAmount := new(big.Int).Sub(pow10(18), big.NewInt(1))
		f := new(big.Int).Quo(lo, maxAmount)
		f.Add(f, big.NewInt(1+rapid.Int64Range(0, 100000).Draw(t, "factorStart")))
		var a *big.Int
		for range 100000 {
			a = new(big.Int).Quo(new(big.Int).Add(lo, new(big.Int).Sub(f, big.NewInt(1))), f) // ceil(lo/f)
			if p := new(big.Int).Mul(a, f); p.Cmp(hi) <= 0 {
				break
			}
			f.Add(f, big.NewInt(1))
			a = nil
		}
		if a == nil {
			t.Skip("no amount found")
		}
		require.Negative(t, a.Cmp(pow10(18)))
		if rapid.Bool().Draw(t, "negAmount") {
			a.Neg(a)
		}
		if rapid.Bool().Draw(t, "negFactor") {
			f.Neg(f)
		}
		c := isoCurrencyGen().Draw(t, "c")
		m := mustMoney(t, a, c)
		factor := decimal.NewFromBigInt(f, -int32(s))
		mode := modeGen().Draw(t, "mode")

		got, err := m.Mul(factor, mode)
		requireRounded(t, new(big.Rat).Mul(unitsRat(m), ratOf(factor)), mode, c, got, err)

		to := currencyGen().Draw(t, "to")
		got, err = m.Convert(to, factor, mode)
		if factor.Sign() < 0 {
			require.ErrorIs(t, err, money.ErrInvalidArgument, "a negative rate")
			return
		}
		exact := new(big.Rat).Mul(ratOf(m.Amount()), ratOf(factor))
		exact.Mul(exact, new(big.Rat).SetInt(pow10(int64(to.MinorUnits()))))
		requireRounded(t, exact, mode, to, got, err)
	})
}

func TestPropDivReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := moneyGen().Draw(t, "m")
		divisor := factorGen().Draw(t, "divisor")
		mode := modeGen().Draw(t, "mode")
		got, err := m.Div(divisor, mode)
		if divisor.IsZero() {
			require.ErrorIs(t, err, money.ErrInvalidArgument)
			return
		}
		exact := new(big.Rat).Quo(unitsRat(m), ratOf(divisor))
		requireRounded(t, exact, mode, m.Currency(), got, err)
	})
}

func TestPropRoundToReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := moneyGen().Draw(t, "m")
		c := m.Currency()
		minor := int32(c.MinorUnits())
		mode := modeGen().Draw(t, "mode")

		// A positive multiple k of the minor unit, written with extra trailing zeros or as whole
		// units times a power of ten.
		k := rapid.OneOf(rapid.Int64Range(1, 1000), rapid.SampledFrom([]int64{1, 2, 5, 10, 25, 50, 100})).Draw(t, "k")
		var inc decimal.Decimal
		incUnits := big.NewInt(k)
		if rapid.Bool().Draw(t, "wholeUnits") {
			j := rapid.Int32Range(0, 3).Draw(t, "j")
			inc = decimal.New(k, j)
			incUnits.Mul(incUnits, pow10(int64(j+minor)))
		} else {
			z := rapid.Int32Range(0, 3).Draw(t, "trailingZeros")
			inc = decimal.NewFromBigInt(new(big.Int).Mul(big.NewInt(k), pow10(int64(z))), -minor-z)
		}
		got, err := m.RoundTo(inc, mode)
		q := refRound(new(big.Rat).SetFrac(unitsOf(m), incUnits), mode)
		if q == nil {
			require.ErrorIs(t, err, money.ErrPrecision)
			return
		}
		want := q.Mul(q, incUnits)
		if want.CmpAbs(limitUnits) >= 0 {
			require.ErrorIs(t, err, money.ErrOverflow, "%s to %s by %s", m, inc, mode)
			return
		}
		require.NoError(t, err, "%s to %s", m, inc)
		requireCanonical(t, got)
		require.Equal(t, c, got.Currency())
		require.Zero(t, want.Cmp(unitsOf(got)), "%s to %s by %s: want %s units, got %s", m, inc, mode, want, got)

		// Increments finer than the minor unit, or not positive, are refused.
		_, err = m.RoundTo(decimal.New(k*10+1, -minor-1), mode)
		require.ErrorIs(t, err, money.ErrInvalidArgument)
		_, err = m.RoundTo(inc.Neg(), mode)
		require.ErrorIs(t, err, money.ErrInvalidArgument)
		_, err = m.RoundTo(decimal.Zero, mode)
		require.ErrorIs(t, err, money.ErrInvalidArgument)
	})
}

func TestPropConvertReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := moneyGen().Draw(t, "m")
		to := currencyGen().Draw(t, "to")
		rate := factorGen().Draw(t, "rate")
		mode := modeGen().Draw(t, "mode")
		got, err := m.Convert(to, rate, mode)
		if rate.Sign() <= 0 {
			require.ErrorIs(t, err, money.ErrInvalidArgument)
			return
		}
		exact := new(big.Rat).Mul(ratOf(m.Amount()), ratOf(rate))
		exact.Mul(exact, new(big.Rat).SetInt(pow10(int64(to.MinorUnits()))))
		requireRounded(t, exact, mode, to, got, err)

		_, err = m.Convert(money.Currency{}, rate, mode)
		require.ErrorIs(t, err, money.ErrInvalidCurrency)
	})
}

// ---------------------------------------------------------------------------------------------
// The invariant of every result

func TestPropAmountExponent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := currencyGen().Draw(t, "c")
		a, b := moneyIn(c).Draw(t, "a"), moneyIn(c).Draw(t, "b")
		d := decimalGen().Draw(t, "d")
		f := factorGen().Draw(t, "f")
		mode := modeGen().Draw(t, "mode")
		to := currencyGen().Draw(t, "to")
		u := rapid.Int64().Draw(t, "u")
		reg := registryFor(t, c)

		var results []money.Money
		add := func(m money.Money, err error) {
			if err != nil {
				requireSentinel(t, err, allSentinels...)
				return
			}
			results = append(results, m)
		}
		add(a, nil)
		add(money.New(d, c))
		add(money.NewRounded(d, c, mode))
		add(money.NewRounded(d, c, money.HalfEven))
		add(money.FromString(d.String(), c))
		add(money.FromString(d.StringFixed(int32(c.MinorUnits())), c))
		add(money.FromMinorUnits(u, c))
		add(money.Zero(c), nil)
		add(a.Add(b))
		add(a.Sub(b))
		add(a.Neg(), nil)
		add(a.Abs(), nil)
		add(money.Sum(c))
		add(money.Sum(c, a, b))
		add(a.Mul(f, mode))
		add(a.Mul(f, money.Up))
		add(a.Div(f, mode))
		add(a.Div(f, money.HalfUp))
		add(a.Convert(to, f, mode))
		add(a.Convert(to, f, money.Floor))
		add(a.RoundTo(f.Abs(), mode))
		add(a.RoundTo(decimal.New(5, -int32(c.MinorUnits())+1), money.HalfEven))
		if parts, err := a.Allocate(3, 0, 7); err == nil {
			results = append(results, parts...)
		}
		if parts, err := a.Split(rapid.IntRange(1, 7).Draw(t, "n")); err == nil {
			results = append(results, parts...)
		}
		add(reg.Parse(a.String()))
		amount, code := a.Columns()
		add(reg.FromColumns(amount, code))
		var j money.Money
		if bs, err := json.Marshal(a); err == nil && json.Unmarshal(bs, &j) == nil {
			results = append(results, j)
		}
		if !c.IsCustom() {
			var s money.Money
			err := s.Scan(a.String())
			add(s, err)
			var x money.Money
			err = x.UnmarshalText([]byte(a.String()))
			add(x, err)
		}
		for _, r := range results {
			requireCanonical(t, r)
			require.False(t, r.Currency().IsZero())
		}
	})
}

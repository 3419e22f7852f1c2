package money_test

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/money"
)

// maxErrorLen bounds the length of every error message of the package in these tests: an error
// names the operands, never spells out a number of a million digits.
const maxErrorLen = 200

// hostileDecimals are decimals no real amount or factor looks like, which reach the package from
// JSON (shopspring reads 1e-1000000000 if its MaxDecodeExponent allows) or from arithmetic on
// decimals. Their names are the subtest names.
var hostileDecimals = []struct {
	name string
	d    decimal.Decimal
}{
	{"exp_-1000000000", decimal.New(1, -1_000_000_000)},
	{"exp_3000000", decimal.New(1, 3_000_000)},
	{"exp_-3000000", decimal.New(7, -3_000_000)},
	{"exp_maxint32", decimal.New(3, math.MaxInt32)},
	{"exp_minint32", decimal.New(3, math.MinInt32)},
	// 2^3400000 has 1,023,514 digits; Lsh builds it at once, where parsing it would take seconds.
	{"coef_1M_digits", decimal.NewFromBigInt(new(big.Int).Lsh(big.NewInt(1), 3_400_000), 0)},
	{"coef_1M_digits_exp_-1023512", decimal.NewFromBigInt(new(big.Int).Lsh(big.NewInt(1), 3_400_000), -1_023_512)},
	{"coef_1001_digits", decimal.NewFromBigInt(new(big.Int).Add(bigPow10(1000), big.NewInt(7)), -1000)},
}

func bigPow10(n int64) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(n), nil) }

// TestHostileDecimalsRefusedShortly: every operation that takes a decimal refuses these with a
// sentinel and a short message. Before, New built messages that spelled the number out (3 MB for
// exponent -3000000, a gigabyte and a minute for -1000000000), Mul, Div, Convert and RoundTo did
// the same for a huge exponent, and a coefficient of a million digits was multiplied out into a
// Money no decoder could read.
func TestHostileDecimalsRefusedShortly(t *testing.T) {
	usd := money.MustLookup("USD")
	m := money.MustParse("10.00 USD")
	type op struct {
		name string
		do   func(d decimal.Decimal) (money.Money, error)
	}
	ops := []op{
		{"New", func(d decimal.Decimal) (money.Money, error) { return money.New(d, usd) }},
		{"NewRounded", func(d decimal.Decimal) (money.Money, error) { return money.NewRounded(d, usd, money.Up) }},
		{"Mul", func(d decimal.Decimal) (money.Money, error) { return m.Mul(d, money.HalfEven) }},
		{"Div", func(d decimal.Decimal) (money.Money, error) { return m.Div(d, money.HalfEven) }},
		{"Convert", func(d decimal.Decimal) (money.Money, error) { return m.Convert(usd, d, money.HalfEven) }},
		{"RoundTo", func(d decimal.Decimal) (money.Money, error) { return m.RoundTo(d, money.HalfEven) }},
	}
	// want is the sentinel per operation, in the order of ops; nil means a result, checked below.
	want := map[string][]error{
		"exp_-1000000000":             {money.ErrPrecision, nil, money.ErrOverflow, money.ErrOverflow, money.ErrOverflow, money.ErrOverflow},
		"exp_3000000":                 {money.ErrOverflow, money.ErrOverflow, money.ErrOverflow, money.ErrOverflow, money.ErrOverflow, money.ErrOverflow},
		"exp_-3000000":                {money.ErrPrecision, nil, money.ErrOverflow, money.ErrOverflow, money.ErrOverflow, money.ErrOverflow},
		"exp_maxint32":                {money.ErrOverflow, money.ErrOverflow, money.ErrOverflow, money.ErrOverflow, money.ErrOverflow, money.ErrOverflow},
		"exp_minint32":                {money.ErrPrecision, nil, money.ErrOverflow, money.ErrOverflow, money.ErrOverflow, money.ErrOverflow},
		"coef_1M_digits":              {money.ErrOverflow, money.ErrOverflow, money.ErrOverflow, money.ErrOverflow, money.ErrOverflow, money.ErrOverflow},
		"coef_1M_digits_exp_-1023512": {money.ErrOverflow, money.ErrOverflow, money.ErrOverflow, money.ErrOverflow, money.ErrOverflow, money.ErrOverflow},
		"coef_1001_digits":            {money.ErrOverflow, money.ErrOverflow, money.ErrOverflow, money.ErrOverflow, money.ErrOverflow, money.ErrOverflow},
	}
	for _, h := range hostileDecimals {
		for i, o := range ops {
			for _, neg := range []bool{false, true} {
				name := h.name
				d := h.d
				if neg {
					name += "_negative"
					d = d.Neg()
				}
				t.Run(o.name+"/"+name, func(t *testing.T) {
					got, err := o.do(d)
					w := want[h.name][i]
					if neg && (o.name == "Convert" || o.name == "RoundTo") {
						w = money.ErrInvalidArgument // a rate and an increment must be positive
					}
					if w == nil {
						// A tiny amount rounds, away from zero with Up, to one minor unit.
						require.NoError(t, err)
						want := "0.01 USD"
						if neg {
							want = "-0.01 USD"
						}
						require.Equal(t, want, got.String())
						return
					}
					require.ErrorIs(t, err, w)
					require.Equal(t, 1, sentinelCount(err), "%v", err)
					require.Less(t, len(err.Error()), maxErrorLen, "%.300s", err.Error())
					require.True(t, got.Equal(money.Money{}))
				})
			}
		}
	}
}

// sentinelCount returns how many of the package's sentinels err wraps.
func sentinelCount(err error) int {
	n := 0
	for _, s := range allSentinels {
		if errors.Is(err, s) {
			n++
		}
	}
	return n
}

// BenchmarkHostileDecimal measures what refusing a hostile decimal costs: microseconds, where it
// took over a minute and gigabytes (1e-1000000000) before.
func BenchmarkHostileDecimal(b *testing.B) {
	usd := money.MustLookup("USD")
	m := money.MustParse("10.00 USD")
	for _, h := range hostileDecimals {
		d := h.d
		b.Run(h.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, sinkErr = money.New(d, usd)
				_, sinkErr = money.NewRounded(d, usd, money.HalfEven)
				_, sinkErr = m.Mul(d, money.HalfEven)
				_, sinkErr = m.Div(d, money.HalfEven)
				_, sinkErr = m.Convert(usd, d, money.HalfEven)
				_, sinkErr = m.RoundTo(d, money.HalfEven)
			}
		})
	}
}

// TestMaxDigits: one limit for every Money. Before, arithmetic made amounts of up to about 1000
// digits that the decoders, limited to 64, refused: 10^62 - 0.01 USD + 0.01 USD could never be
// read back.
func TestMaxDigits(t *testing.T) {
	usd := money.MustLookup("USD")
	jpy := money.MustLookup("JPY")
	top := money.MustParse(strings.Repeat("9", 62) + ".99 USD") // the largest USD amount
	cent := money.MustParse("0.01 USD")
	require.Equal(t, 64, money.MaxDigits)

	_, err := top.Add(cent)
	require.ErrorIs(t, err, money.ErrOverflow, "10^62 USD has 65 digits")
	_, err = top.Neg().Sub(cent)
	require.ErrorIs(t, err, money.ErrOverflow)
	_, err = money.Sum(usd, top, cent)
	require.ErrorIs(t, err, money.ErrOverflow)
	sum, err := money.Sum(usd, top, cent, cent.Neg())
	require.NoError(t, err, "only the total counts")
	require.True(t, sum.Equal(top))
	_, err = top.Mul(decimal.NewFromInt(2), money.Exact)
	require.ErrorIs(t, err, money.ErrOverflow)
	_, err = top.Div(decimal.RequireFromString("0.5"), money.Exact)
	require.ErrorIs(t, err, money.ErrOverflow)
	inJPY, err := top.Convert(jpy, decimal.NewFromInt(100), money.Exact)
	require.NoError(t, err, "10^64 - 1 JPY: 64 digits")
	requireRoundTrips(t, inJPY)
	_, err = top.Convert(jpy, decimal.NewFromInt(1000), money.Exact)
	require.ErrorIs(t, err, money.ErrOverflow, "65 digits in JPY")
	_, err = top.RoundTo(decimal.NewFromInt(1), money.Up)
	require.ErrorIs(t, err, money.ErrOverflow, "rounds up to 10^62")
	down, err := top.RoundTo(decimal.NewFromInt(1), money.Down)
	require.NoError(t, err)
	require.Equal(t, strings.Repeat("9", 62)+".00 USD", down.String())
	_, err = money.New(decimal.New(1, 62), usd)
	require.ErrorIs(t, err, money.ErrOverflow)
	_, err = money.NewRounded(decimal.RequireFromString(strings.Repeat("9", 62)+".999"), usd, money.HalfEven)
	require.ErrorIs(t, err, money.ErrOverflow, "rounds to 10^62")
	_, err = money.FromString(strings.Repeat("9", 63), usd)
	require.ErrorIs(t, err, money.ErrOverflow)

	// At the limit: made, and read back by every decoder.
	for _, m := range []money.Money{top, top.Neg(), money.MustParse(strings.Repeat("9", 64) + " JPY")} {
		requireRoundTrips(t, m)
		half, err := m.Split(2)
		require.NoError(t, err)
		requireRoundTrips(t, half[0])
	}
	zero, err := money.New(decimal.New(0, 3_000_000), usd)
	require.NoError(t, err, "zero is zero whatever its exponent")
	require.Equal(t, "0.00 USD", zero.String())
}

// TestPartsBound: Split and Allocate refuse more than MaxParts parts before allocating them.
// Before, Split(math.MaxInt) panicked in makeslice and Split(1<<40) exhausted memory.
func TestPartsBound(t *testing.T) {
	m := money.MustParse("100.00 USD")
	for _, n := range []int{money.MaxParts + 1, 1 << 40, math.MaxInt} {
		var parts []money.Money
		var err error
		require.NotPanics(t, func() { parts, err = m.Split(n) })
		require.ErrorIs(t, err, money.ErrInvalidArgument, "Split(%d)", n)
		require.Nil(t, parts)
		require.Less(t, len(err.Error()), maxErrorLen)
	}
	ratios := make([]int64, money.MaxParts+1)
	ratios[0] = 1
	parts, err := m.Allocate(ratios...)
	require.ErrorIs(t, err, money.ErrInvalidArgument)
	require.Nil(t, parts)
	require.Less(t, len(err.Error()), maxErrorLen)

	// Zero ratios, many of them: the message does not list them.
	_, err = m.Allocate(make([]int64, 100_000)...)
	require.ErrorIs(t, err, money.ErrInvalidArgument)
	require.Less(t, len(err.Error()), maxErrorLen)

	parts, err = money.MustParse("1.00 USD").Split(money.MaxParts)
	require.NoError(t, err, "the bound itself is allowed")
	require.Len(t, parts, money.MaxParts)
	require.Equal(t, "0.01 USD", parts[99].String())
	require.Equal(t, "0.00 USD", parts[100].String())
}

// TestConvertRate: a rate must be positive. Before, a negative rate turned 10 USD into -10 EUR
// and a zero rate into 0 EUR.
func TestConvertRate(t *testing.T) {
	m := money.MustParse("10.00 USD")
	eur := money.MustLookup("EUR")
	for _, rate := range []string{"0", "-1", "-0.0001", "0e5"} {
		_, err := m.Convert(eur, decimal.RequireFromString(rate), money.HalfEven)
		require.ErrorIs(t, err, money.ErrInvalidArgument, rate)
	}
	got, err := m.Convert(eur, decimal.RequireFromString("0.9"), money.HalfEven)
	require.NoError(t, err)
	require.Equal(t, "9.00 EUR", got.String())
}

// TestErrorMessagesBounded: inputs as long as you like give messages of a few dozen bytes.
func TestErrorMessagesBounded(t *testing.T) {
	long := strings.Repeat("Z", 1<<20)
	_, err := money.Lookup(long)
	requireShortError(t, err, money.ErrUnknownCurrency)
	_, err = money.LookupNumeric(long)
	requireShortError(t, err, money.ErrUnknownCurrency)
	_, err = money.NewCurrency(long, 2)
	requireShortError(t, err, money.ErrInvalidCurrency)
	_, err = (*money.Registry)(nil).Lookup(long)
	requireShortError(t, err, money.ErrUnknownCurrency)
	_, err = money.Parse("1 " + long)
	requireShortError(t, err, money.ErrSyntax)
	_, err = money.Parse(strings.Repeat("1", 1<<20) + " USD")
	requireShortError(t, err, money.ErrOverflow)
	_, err = money.FromColumns(nil, long)
	requireShortError(t, err, money.ErrSyntax)
	_, err = money.FromColumns(long, nil)
	requireShortError(t, err, money.ErrSyntax)
	_, err = money.FromColumns("1", long)
	requireShortError(t, err, money.ErrSyntax)
	var m money.Money
	requireShortError(t, m.UnmarshalJSON([]byte(`{"amount":"1","currency":"USD","`+long+`":1}`)), money.ErrSyntax)
	requireShortError(t, m.UnmarshalJSON([]byte(`{"amount":"1","currency":"`+long+`"}`)), money.ErrSyntax)
	requireShortError(t, m.UnmarshalJSON([]byte(`{"amount":"1","currency":"BTC","minorUnits":`+strings.Repeat("9", 1<<20)+`}`)), money.ErrInvalidCurrency)
}

func requireShortError(t *testing.T, err, sentinel error) {
	t.Helper()
	require.ErrorIs(t, err, sentinel)
	require.Equal(t, 1, sentinelCount(err), "%.200v", err)
	require.Less(t, len(err.Error()), maxErrorLen, "%.300s", err.Error())
}

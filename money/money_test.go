package money_test

import (
	"encoding/json"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/money"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		name, code, want string
		minor            int
		err              error
	}{
		{name: "upper", code: "USD", want: "USD", minor: 2},
		{name: "lower", code: "jpy", want: "JPY", minor: 0},
		{name: "mixed", code: "Kwd", want: "KWD", minor: 3},
		{name: "four decimals", code: "CLF", want: "CLF", minor: 4},
		{name: "unknown", code: "ZZZ", err: money.ErrUnknownCurrency},
		{name: "withdrawn", code: "HRK", err: money.ErrUnknownCurrency},
		{name: "no minor unit", code: "XAU", err: money.ErrUnknownCurrency},
		{name: "empty", code: "", err: money.ErrUnknownCurrency},
		{name: "too long", code: "USDX", err: money.ErrUnknownCurrency},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := money.Lookup(tt.code)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				require.True(t, c.IsZero())
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, c.Code())
			require.Equal(t, tt.minor, c.MinorUnits())
			require.False(t, c.IsCustom())
		})
	}
}

func TestISOTableFacts(t *testing.T) {
	want := map[string]int{
		"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "USD": 2, "EUR": 2, "GBP": 2,
		"BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3, "LYD": 3, "IQD": 3, "CLF": 4, "UYW": 4,
	}
	for code, minor := range want {
		require.Equal(t, minor, money.MustLookup(code).MinorUnits(), code)
	}
	all := money.Currencies()
	require.Greater(t, len(all), 150)
	seen := map[string]bool{}
	for i, c := range all {
		require.Len(t, c.Code(), 3)
		require.Len(t, c.Numeric(), 3)
		require.False(t, seen[c.Code()], "duplicate %s", c.Code())
		seen[c.Code()] = true
		if i > 0 {
			require.Less(t, all[i-1].Code(), c.Code())
		}
		byNum, err := money.LookupNumeric(c.Numeric())
		require.NoError(t, err)
		require.Equal(t, c, byNum)
	}
	all[0] = money.Currency{} // a copy: the table is not changed
	require.False(t, money.Currencies()[0].IsZero())
}

func TestLookupNumeric(t *testing.T) {
	c, err := money.LookupNumeric("036")
	require.NoError(t, err)
	require.Equal(t, "AUD", c.Code())
	for _, bad := range []string{"", "36", "0036", "abc", "000", "999"} {
		_, err := money.LookupNumeric(bad)
		require.ErrorIs(t, err, money.ErrUnknownCurrency, bad)
	}
}

func TestNewCurrency(t *testing.T) {
	tests := []struct {
		name  string
		code  string
		minor int
		want  string
		ok    bool
	}{
		{name: "bitcoin", code: "btc", minor: 8, want: "BTC", ok: true},
		{name: "points", code: "POINTS", minor: 0, want: "POINTS", ok: true},
		{name: "ether", code: "ETH", minor: 18, want: "ETH", ok: true},
		{name: "letters and digits", code: "A1B2", minor: 2, want: "A1B2", ok: true},
		{name: "metal without minor unit in ISO", code: "XAU", minor: 3, want: "XAU", ok: true},
		{name: "iso code", code: "usd", minor: 2},
		{name: "too short", code: "AB", minor: 2},
		{name: "too long", code: "ABCDEFGHIJKLM", minor: 2},
		{name: "leading digit", code: "1AB", minor: 2},
		{name: "punctuation", code: "AB-C", minor: 2},
		{name: "non-ascii", code: "ÄBC", minor: 2},
		{name: "negative minor", code: "ABC", minor: -1},
		{name: "minor too large", code: "ABC", minor: 19},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := money.NewCurrency(tt.code, tt.minor)
			if !tt.ok {
				require.ErrorIs(t, err, money.ErrInvalidCurrency)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, c.Code())
			require.Equal(t, tt.minor, c.MinorUnits())
			require.True(t, c.IsCustom())
			require.Empty(t, c.Numeric())
			again, _ := money.NewCurrency(tt.code, tt.minor)
			require.Equal(t, c, again, "same definition, equal currencies")
		})
	}
}

func TestRegistry(t *testing.T) {
	btc, _ := money.NewCurrency("BTC", 8)
	pts, _ := money.NewCurrency("POINTS", 0)
	reg, err := money.NewRegistry(btc, pts)
	require.NoError(t, err)

	c, err := reg.Lookup("points")
	require.NoError(t, err)
	require.Equal(t, pts, c)
	c, err = reg.Lookup("usd")
	require.NoError(t, err)
	require.Equal(t, "USD", c.Code())
	_, err = reg.Lookup("ETH")
	require.ErrorIs(t, err, money.ErrUnknownCurrency)
	_, err = reg.Lookup("ABCDEFGHIJKLMNOP")
	require.ErrorIs(t, err, money.ErrUnknownCurrency)

	m, err := reg.Parse("1.5 BTC")
	require.NoError(t, err)
	require.Equal(t, "1.50000000 BTC", m.String())
	_, err = money.Parse("1.5 BTC")
	require.ErrorIs(t, err, money.ErrUnknownCurrency, "the package-level parser knows ISO only")

	var none *money.Registry
	_, err = none.Lookup("BTC")
	require.ErrorIs(t, err, money.ErrUnknownCurrency)
	_, err = none.Lookup("EUR")
	require.NoError(t, err)

	_, err = money.NewRegistry(btc, btc)
	require.ErrorIs(t, err, money.ErrInvalidCurrency)
	_, err = money.NewRegistry(money.MustLookup("USD"))
	require.ErrorIs(t, err, money.ErrInvalidCurrency)
	_, err = money.NewRegistry(money.Currency{})
	require.ErrorIs(t, err, money.ErrInvalidCurrency)
}

func TestConstructors(t *testing.T) {
	usd := money.MustLookup("USD")
	tests := []struct {
		name   string
		amount string
		want   string
		err    error
	}{
		{name: "integer", amount: "12", want: "12.00 USD"},
		{name: "exact", amount: "12.34", want: "12.34 USD"},
		{name: "trailing zeros", amount: "12.3400", want: "12.34 USD"},
		{name: "negative", amount: "-0.5", want: "-0.50 USD"},
		{name: "negative zero", amount: "-0.00", want: "0.00 USD"},
		{name: "large", amount: "123456789012345678901234567890.12", want: "123456789012345678901234567890.12 USD"},
		{name: "too precise", amount: "12.345", err: money.ErrPrecision},
		{name: "comma", amount: "12,34", err: money.ErrSyntax},
		{name: "exponent", amount: "1e2", err: money.ErrSyntax},
		{name: "plus sign", amount: "+1", err: money.ErrSyntax},
		{name: "leading point", amount: ".5", err: money.ErrSyntax},
		{name: "trailing point", amount: "5.", err: money.ErrSyntax},
		{name: "empty", amount: "", err: money.ErrSyntax},
		{name: "space", amount: " 1", err: money.ErrSyntax},
		{name: "65 digits", amount: "1" + string(make([]byte, 0)) + "0000000000000000000000000000000000000000000000000000000000000000", err: money.ErrOverflow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := money.FromString(tt.amount, usd)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, m.String())
			require.Equal(t, int32(-2), m.Amount().Exponent())
		})
	}

	_, err := money.New(decimal.NewFromInt(1), money.Currency{})
	require.ErrorIs(t, err, money.ErrInvalidCurrency)
	_, err = money.FromMinorUnits(1, money.Currency{})
	require.ErrorIs(t, err, money.ErrInvalidCurrency)
	_, err = money.NewRounded(decimal.NewFromInt(1), usd, money.Rounding(42))
	require.ErrorIs(t, err, money.ErrInvalidArgument)
	_, err = money.New(decimal.New(1, 5000), usd)
	require.ErrorIs(t, err, money.ErrOverflow, "a hostile exponent is refused, not expanded")
	m, err := money.NewRounded(decimal.New(7, -2_000_000_000), usd, money.Up)
	require.NoError(t, err, "a tiny amount rounds cheaply")
	require.Equal(t, "0.01 USD", m.String())
	require.Equal(t, "0.00 USD", money.Zero(usd).String())
}

func TestParseForms(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{in: "12.34 USD", want: "12.34 USD"},
		{in: "12.34 usd", want: "12.34 USD"},
		{in: "1200 JPY", want: "1200 JPY"},
		{in: "1.5 KWD", want: "1.500 KWD"},
		{in: "12.34", err: money.ErrSyntax},
		{in: "USD 12.34", err: money.ErrSyntax},
		{in: "12.34  USD", err: money.ErrSyntax},
		{in: "12.34 USD ", err: money.ErrSyntax},
		{in: "12.5 JPY", err: money.ErrPrecision},
		{in: "12.34 XXX", err: money.ErrUnknownCurrency},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			m, err := money.Parse(tt.in)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, m.String())
		})
	}
	require.Panics(t, func() { money.MustParse("nope") })
}

func TestComparisons(t *testing.T) {
	a, b := money.MustParse("1.00 EUR"), money.MustParse("2.00 EUR")
	c, err := a.Cmp(b)
	require.NoError(t, err)
	require.Equal(t, -1, c)
	lt, err := a.LessThan(b)
	require.NoError(t, err)
	require.True(t, lt)
	gt, err := a.GreaterThan(b)
	require.NoError(t, err)
	require.False(t, gt)
	require.True(t, a.Equal(money.MustParse("1 EUR")))
	require.False(t, a.Equal(money.MustParse("1.00 USD")), "different currencies are not equal")

	require.True(t, b.IsPositive())
	require.True(t, b.Neg().IsNegative())
	require.Equal(t, -1, b.Neg().Sign())
	require.True(t, money.Zero(money.MustLookup("EUR")).IsZero())

	_, err = a.LessThan(money.MustParse("1.00 USD"))
	require.ErrorIs(t, err, money.ErrCurrencyMismatch)
}

func TestOperationArguments(t *testing.T) {
	m := money.MustParse("10.00 CHF")
	_, err := m.Div(decimal.Zero, money.HalfEven)
	require.ErrorIs(t, err, money.ErrInvalidArgument)
	_, err = m.RoundTo(decimal.Zero, money.HalfEven)
	require.ErrorIs(t, err, money.ErrInvalidArgument)
	_, err = m.RoundTo(decimal.RequireFromString("-0.05"), money.HalfEven)
	require.ErrorIs(t, err, money.ErrInvalidArgument)
	_, err = m.RoundTo(decimal.RequireFromString("0.005"), money.HalfEven)
	require.ErrorIs(t, err, money.ErrInvalidArgument, "finer than the minor unit")
	_, err = m.Mul(decimal.New(1, 100_000), money.HalfEven)
	require.ErrorIs(t, err, money.ErrOverflow)
	_, err = m.Mul(decimal.NewFromInt(2), money.Rounding(99))
	require.ErrorIs(t, err, money.ErrInvalidArgument)
	_, err = m.Convert(money.Currency{}, decimal.NewFromInt(1), money.HalfEven)
	require.ErrorIs(t, err, money.ErrInvalidCurrency)

	for factor, want := range map[string]string{
		"20": "200.00 CHF", "2E+1": "200.00 CHF", "0.5": "5.00 CHF", "-0.001": "-0.01 CHF",
		"123456789012345678901234567890": "1234567890123456789012345678900.00 CHF",
	} {
		got, err := m.Mul(decimal.RequireFromString(factor), money.HalfEven)
		require.NoError(t, err, factor)
		require.Equal(t, want, got.String(), factor)
	}
	d, err := m.Div(decimal.RequireFromString("-0.5"), money.Exact)
	require.NoError(t, err)
	require.Equal(t, "-20.00 CHF", d.String())
	_, err = money.MustParse("10.01 CHF").RoundTo(decimal.RequireFromString("0.05"), money.Exact)
	require.ErrorIs(t, err, money.ErrPrecision)
}

func TestJSONDecodeErrors(t *testing.T) {
	tests := []struct {
		name, in string
		err      error
	}{
		{name: "not an object", in: `"12.34 USD"`, err: money.ErrSyntax},
		{name: "unknown field", in: `{"amount":"1","currency":"USD","x":1}`, err: money.ErrSyntax},
		{name: "missing currency", in: `{"amount":"1"}`, err: money.ErrSyntax},
		{name: "missing amount", in: `{"currency":"USD"}`, err: money.ErrSyntax},
		{name: "null amount", in: `{"amount":null,"currency":"USD"}`, err: money.ErrSyntax},
		{name: "bool amount", in: `{"amount":true,"currency":"USD"}`, err: money.ErrSyntax},
		{name: "exponent in string", in: `{"amount":"1e2","currency":"USD"}`, err: money.ErrSyntax},
		{name: "huge exponent", in: `{"amount":1e999999,"currency":"USD"}`, err: money.ErrOverflow},
		{name: "too precise", in: `{"amount":"0.001","currency":"USD"}`, err: money.ErrPrecision},
		{name: "too precise number", in: `{"amount":0.001,"currency":"USD"}`, err: money.ErrPrecision},
		{name: "unknown currency", in: `{"amount":"1","currency":"BTC"}`, err: money.ErrUnknownCurrency},
		{name: "contradicting minor units", in: `{"amount":"1","currency":"USD","minorUnits":3}`, err: money.ErrInvalidCurrency},
		{name: "bad custom code", in: `{"amount":"1","currency":"B-C","minorUnits":3}`, err: money.ErrSyntax},
		{name: "trailing data", in: `{"amount":"1","currency":"USD"} x`, err: money.ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := money.MustParse("7.00 EUR")
			err := m.UnmarshalJSON([]byte(tt.in))
			require.ErrorIs(t, err, tt.err)
			require.Equal(t, "7.00 EUR", m.String(), "unchanged on error")
		})
	}

	var m money.Money
	require.NoError(t, json.Unmarshal([]byte(`{"amount":1.5e2,"currency":"JPY"}`), &m))
	require.Equal(t, "150 JPY", m.String())
	require.NoError(t, json.Unmarshal([]byte(`{"amount":"0.00000001","currency":"BTC","minorUnits":8}`), &m))
	require.Equal(t, "0.00000001 BTC", m.String())
	require.True(t, m.Currency().IsCustom())
}

func TestSQLAndColumnsEdges(t *testing.T) {
	var m money.Money
	require.NoError(t, m.Scan(nil))
	require.True(t, m.Currency().IsZero())
	v, err := m.Value()
	require.NoError(t, err)
	require.Nil(t, v)
	a, c := m.Columns()
	require.Nil(t, a)
	require.Nil(t, c)
	got, err := money.FromColumns(nil, nil)
	require.NoError(t, err)
	require.True(t, got.Currency().IsZero())

	m = money.MustParse("1.00 USD")
	require.ErrorIs(t, m.Scan(42), money.ErrSyntax)
	require.Equal(t, "1.00 USD", m.String(), "unchanged on error")

	for name, args := range map[string][2]any{
		"null amount":   {nil, "USD"},
		"null currency": {"1.00", nil},
		"float amount":  {1.5, "USD"},
		"bool amount":   {true, "USD"},
		"int currency":  {"1", 840},
	} {
		_, err := money.FromColumns(args[0], args[1])
		require.ErrorIs(t, err, money.ErrSyntax, name)
	}
	got, err = money.FromColumns(int64(1200), "JPY")
	require.NoError(t, err)
	require.Equal(t, "1200 JPY", got.String())
	got, err = money.FromColumns("12.5", "EUR  ")
	require.NoError(t, err, "CHAR padding is ignored")
	require.Equal(t, "12.50 EUR", got.String())
}

func TestCurrencyText(t *testing.T) {
	var c money.Currency
	require.NoError(t, c.UnmarshalText([]byte("eur")))
	require.Equal(t, "EUR", c.String())
	b, err := c.MarshalText()
	require.NoError(t, err)
	require.Equal(t, "EUR", string(b))
	require.ErrorIs(t, c.UnmarshalText([]byte("BTC")), money.ErrUnknownCurrency)
	require.Equal(t, "EUR", c.Code(), "unchanged on error")
	require.NoError(t, c.UnmarshalText(nil))
	require.True(t, c.IsZero())
	require.Equal(t, "money.Currency{USD 2}", money.MustLookup("USD").GoString())
	require.Equal(t, "HalfEven", money.HalfEven.String())
	require.Equal(t, "Rounding(42)", money.Rounding(42).String())
}

// TestConcurrentUse shares currencies, a Registry and Money values between goroutines; CI runs
// it under the race detector, which would report any hidden shared mutable state.
func TestConcurrentUse(t *testing.T) {
	btc, err := money.NewCurrency("BTC", 8)
	require.NoError(t, err)
	reg, err := money.NewRegistry(btc)
	require.NoError(t, err)
	shared := money.MustParse("100.00 USD")
	big := money.MustParse("123456789012345678901234567890.00 USD")

	const workers = 8
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			var err error
			for i := range 200 {
				if _, err = reg.Parse("0.5 BTC"); err != nil {
					break
				}
				if _, err = money.Lookup("eur"); err != nil {
					break
				}
				if _, err = shared.Allocate(int64(w+1), int64(i+1)); err != nil {
					break
				}
				if _, err = big.Split(3); err != nil {
					break
				}
				if _, err = shared.Mul(decimal.New(int64(i), -3), money.HalfEven); err != nil {
					break
				}
			}
			errs <- err
		}()
	}
	for range workers {
		require.NoError(t, <-errs)
	}
	require.Equal(t, "100.00 USD", shared.String())
}

package money_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/money"
)

// parseSentinels are the errors Parse, Scan and FromColumns may wrap.
var parseSentinels = []error{money.ErrSyntax, money.ErrUnknownCurrency, money.ErrPrecision, money.ErrOverflow}

// sentinelOf returns the package sentinel err wraps, or nil.
func sentinelOf(err error) error {
	for _, s := range allSentinels {
		if errors.Is(err, s) {
			return s
		}
	}
	return nil
}

// fuzzRegistry knows a few custom currencies, to fuzz Registry.Parse and Registry.FromColumns.
var fuzzRegistry = func() *money.Registry {
	var cs []money.Currency
	for _, def := range []struct {
		code  string
		minor int
	}{{"BTC", 8}, {"ETH", 18}, {"POINTS", 0}, {"SATS1", 3}} {
		c, err := money.NewCurrency(def.code, def.minor)
		if err != nil {
			panic(err)
		}
		cs = append(cs, c)
	}
	r, err := money.NewRegistry(cs...)
	if err != nil {
		panic(err)
	}
	return r
}()

// textSeeds are inputs for the text targets: valid, edge and hostile.
var textSeeds = []string{
	"12.34 USD", "-12.34 USD", "0.00 USD", "-0.00 USD", "0 USD", "12 USD", "12.3 USD", "12.30 USD",
	"12.300 USD", "12.345 USD", "12.34 usd", "12.34 UsD", "1200 JPY", "1200.0 JPY", "1200.5 JPY",
	"1.234 BHD", "1.2345 CLF", "1.23456 CLF", "0.5 CHF",
	"12.34", "USD", "12.34USD", "12.USD", "12. USD", ".5 USD", "-.5 USD", "+12 USD", "--1 USD",
	"- USD", "-", "", " ", " 12 USD", "12  USD", "12 USD ", "12\tUSD", "\t12 USD", "12\u00a0USD",
	"12 US", "12 USDD", "12 XXX", "12 ZZZ", "12 ÜSD", "12 U\u0301SD", "12.34 USD\x00", "\x0012 USD",
	"1e3 USD", "1E3 USD", "1e-2 USD", "1e-2000000000 USD", "1e2000000000 USD", "0x10 USD",
	"1_000 USD", "1,000.00 USD", "1.2.3 USD", "NaN USD", "Inf USD", "-Inf USD", "∞ USD",
	"١٢ USD", "１２ USD", "१२ USD", "12 ＵＳＤ",
	strings.Repeat("9", 64) + " JPY", strings.Repeat("9", 65) + " JPY",
	strings.Repeat("9", 62) + ".99 USD", strings.Repeat("9", 63) + ".99 USD", strings.Repeat("9", 63) + ".9 USD",
	strings.Repeat("9", 64) + " USD", strings.Repeat("9", 46) + " ETH", strings.Repeat("9", 47) + " ETH",
	"0." + strings.Repeat("0", 62) + "1 USD", strings.Repeat("0", 70) + " USD",
	"-" + strings.Repeat("1", 64) + " JPY",
	"9223372036854775807 JPY", "9223372036854775808 JPY", "-9223372036854775808 JPY",
	"-9223372036854775809 JPY", "18446744073709551615 JPY", "18446744073709551616 JPY",
	"99999999999999999.99 USD", "999999999999999999 JPY", "1000000000000000000 JPY",
	"0.00000001 BTC", "1 BTC", "0.000000000000000001 ETH", "12 POINTS", "12.5 POINTS", "12 points",
	"1 SATS1", "1 sats1", "1 BTCX", "1 " + strings.Repeat("A", 200),
}

// FuzzParse: Parse and Registry.Parse never panic and agree with the reference reading of the
// text form; what they accept prints canonically and reads back; what they refuse wraps exactly
// one sentinel. UnmarshalText is Parse, and leaves its target unchanged on error.
func FuzzParse(f *testing.F) {
	for _, s := range textSeeds {
		f.Add(s)
	}
	start := money.MustParse("-7.25 EUR")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := money.Parse(s)
		requireAsReference(t, m, err, func() (money.Money, error) { return refParse(s, nil) }, "Parse %q", s)
		rm, rerr := fuzzRegistry.Parse(s)
		requireAsReference(t, rm, rerr, func() (money.Money, error) { return refParse(s, fuzzRegistry) }, "Registry.Parse %q", s)
		if err == nil {
			// The registry knows ISO 4217 too: it agrees.
			require.NoError(t, rerr)
			require.True(t, m.Equal(rm))
		}
		text := start
		terr := text.UnmarshalText([]byte(s))
		if s == "" {
			require.NoError(t, terr, "empty text is the zero Money")
		} else {
			require.Equal(t, sentinelOf(err), sentinelOf(terr), "UnmarshalText %q: %v, Parse: %v", s, terr, err)
			if err != nil {
				require.True(t, text.Equal(start), "a failed UnmarshalText changed the target to %s", text)
				require.Equal(t, start.Currency(), text.Currency())
			} else {
				require.True(t, m.Equal(text))
			}
		}
		if rerr != nil {
			return
		}
		requireCanonical(t, rm)
		require.False(t, rm.Currency().IsZero())
		str := rm.String()
		again, err := fuzzRegistry.Parse(str)
		require.NoError(t, err, "%q printed as %q", s, str)
		require.True(t, rm.Equal(again), "%q: %s re-parsed as %s", s, str, again)
		require.Equal(t, str, again.String(), "String is not a fixed point")
		requireCanonical(t, again)
	})
}

// requireAsReference checks a decoder's result against the reference reading: the same sentinel
// (exactly one), or the same Money.
func requireAsReference(t *testing.T, got money.Money, err error, ref func() (money.Money, error), format string, args ...any) {
	t.Helper()
	what := fmt.Sprintf(format, args...)
	want, werr := ref()
	if werr != nil {
		require.Error(t, err, "%s: want %v", what, werr)
		requireSentinel(t, err, allSentinels...)
		require.Equal(t, werr, sentinelOf(err), "%s: %v", what, err)
		require.True(t, got.Equal(money.Money{}), "%s: a failed decoder returned %s", what, got)
		return
	}
	require.NoError(t, err, what)
	require.True(t, want.Equal(got), "%s: want %s, got %s", what, want, got)
	require.Equal(t, want.Currency(), got.Currency(), what)
	if !got.Currency().IsZero() {
		requireCanonical(t, got)
	}
}

// jsonSeeds are inputs for the JSON targets: valid, edge and hostile.
var jsonSeeds = []string{
	`{"amount":"12.34","currency":"USD"}`, `{"amount":12.34,"currency":"USD"}`,
	`{"amount":"-0.50","currency":"eur"}`, `{"currency":"USD","amount":"1"}`,
	`{"amount":"1200","currency":"JPY"}`, `{"amount":1.2E+3,"currency":"JPY"}`, `{"amount":1e-2,"currency":"USD"}`,
	`{"amount":"0.50000000","currency":"BTC","minorUnits":8}`, `{"amount":"1","currency":"btc","minorUnits":8}`,
	`{"amount":"1","currency":"BTC"}`, `{"amount":"1","currency":"USD","minorUnits":2}`,
	`{"amount":"1","currency":"BTC","minorUnits":2}`, `{"amount":"1","currency":"ETH","minorUnits":18}`,
	`{"amount":"1","currency":"ETH","minorUnits":8}`, `{"amount":"1","currency":"DOGE","minorUnits":8}`,
	`{"amount":"1","currency":"USD","minorUnits":3}`, `{"amount":"1","currency":"B","minorUnits":2}`,
	`{"amount":"1","currency":"BTC","minorUnits":-1}`, `{"amount":"1","currency":"BTC","minorUnits":19}`,
	`{"amount":"1","currency":"BTC","minorUnits":1e10}`, `{"amount":"1","currency":"BTC","minorUnits":null}`,
	`{"amount":"1","currency":"BTC","minorUnits":"8"}`, `{"amount":"1","currency":"BTC","minorUnits":8.0}`,
	`{"amount":"1","currency":"JPY","minorUnits":-0}`, `{"amount":"1","currency":"BTC","minorUnits":08}`,
	`null`, ` null `, "\tnull\n", `nul`, `NULL`, `null x`, `{}`, `[]`, `""`, `0`, `"12.34 USD"`, ``, ` `,
	`{"amount":"12.345","currency":"USD"}`, `{"amount":12.345,"currency":"USD"}`,
	`{"amount":12.340,"currency":"USD"}`, `{"amount":"12.340","currency":"USD"}`,
	`{"amount":1e-2000000000,"currency":"USD"}`, `{"amount":1e2000000000,"currency":"USD"}`,
	`{"amount":1e1000,"currency":"USD"}`, `{"amount":1e-1000,"currency":"USD"}`, `{"amount":0e-1000,"currency":"USD"}`,
	`{"amount":1e999,"currency":"USD"}`, `{"amount":1e982,"currency":"USD"}`, `{"amount":1e1001,"currency":"U$D"}`,
	`{"amount":"1e3","currency":"USD"}`, `{"amount":" 1","currency":"USD"}`, `{"amount":"+1","currency":"USD"}`,
	`{"amount":` + strings.Repeat("9", 65) + `,"currency":"JPY"}`,
	`{"amount":"` + strings.Repeat("9", 64) + `","currency":"JPY"}`,
	`{"amount":"` + strings.Repeat("9", 62) + `.99","currency":"USD"}`,
	`{"amount":123456789012345678901234567890,"currency":"USD"}`,
	`{"amount":null,"currency":"USD"}`, `{"amount":"1","currency":null}`, `{"amount":"1"}`, `{"currency":"USD"}`,
	`{"amount":true,"currency":"USD"}`, `{"amount":{},"currency":"USD"}`, `{"amount":[1],"currency":"USD"}`,
	`{"amount":"1","currency":1}`, `{"amount":"1","currency":"USD","extra":1}`,
	`{"AMOUNT":"1","Currency":"USD"}`, `{"amount":"1","amount":"2","currency":"USD"}`,
	`{"amount":"1","amoUnt":"2","currency":"USD"}`, `{"amount":"1","currency":"USD","currency":"EUR"}`,
	`{"amount":"1","\u0061mount":"2","currency":"USD"}`, `{"\u0061mount":"1","currency":"USD"}`,
	`{"amount":"\u0031","currency":"\u0055SD"}`, `{"amount":"١","currency":"USD"}`,
	`{"amount":"1","currency":"USD\u0020"}`, `{"amount":"1","currency":"\u0055\u0053\u0044"}`,
	`{"amount":"1","currency":"\ud83d\ude00"}`, `{"amount":"1","currency":"\ud800"}`, `{"amount":"1","currency":"\udc00x"}`,
	`{"amount":"1","currency":"U\SD"}`, `{"amount":"1","currency":"\u055SD"}`, `{"amount":"1","currency":"\/SD"}`,
	`{"amount":-0,"currency":"USD"}`, `{"amount":"-0.00","currency":"USD"}`, `{"amount":-0.0e5,"currency":"USD"}`,
	`{"amount":01,"currency":"USD"}`, `{"amount":+1,"currency":"USD"}`, `{"amount":1.,"currency":"USD"}`,
	`{"amount":.5,"currency":"USD"}`, `{"amount":-,"currency":"USD"}`, `{"amount":1e,"currency":"USD"}`,
	`{"amount":"1","currency":"USD"}x`, `{"amount":"1","currency":"USD"}}`, `{"amount":"1","currency":"USD"} {}`,
	`{"amount":"1","currency":"USD"`, `{"amount":"1","currency":"USD",}`, `{,"amount":"1","currency":"USD"}`,
	`{"amount" "1","currency":"USD"}`, `{'amount':'1','currency':'USD'}`, "\u00a0null", "\u0085null",
	"\xff", `{"amount":"1","currency":"\xff"}`, "{\"amount\":\"1\",\"currency\":\"US\tD\"}",
	"{\"amount\":\"1\",\"currency\":\"US\x7fD\"}",
}

// FuzzUnmarshalJSON: UnmarshalJSON never panics and agrees with the reference reading; what it
// accepts is valid JSON and survives a round trip (through Registry.ParseJSON too, with a registry
// of its currency); what it refuses leaves the target unchanged and wraps exactly one sentinel.
func FuzzUnmarshalJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	start := money.MustParse("-7.25 EUR")
	f.Fuzz(func(t *testing.T, data []byte) {
		m := start
		err := m.UnmarshalJSON(data)
		if err != nil {
			requireAsReference(t, money.Money{}, err, func() (money.Money, error) { return refJSON(data, nil, false) }, "%q", data)
			require.True(t, m.Equal(start), "a failed UnmarshalJSON changed the target to %s", m)
			require.Equal(t, start.Currency(), m.Currency())
			return
		}
		requireAsReference(t, m, nil, func() (money.Money, error) { return refJSON(data, nil, false) }, "%q", data)
		require.True(t, json.Valid(data), "UnmarshalJSON accepted invalid JSON %q", data)
		b, err := json.Marshal(m)
		require.NoError(t, err)
		var again money.Money
		require.NoError(t, json.Unmarshal(b, &again), "%s", b)
		require.True(t, m.Equal(again), "%q decoded to %s, re-encoded as %s, decoded again to %s", data, m, b, again)
		b2, err := json.Marshal(again)
		require.NoError(t, err)
		require.Equal(t, string(b), string(b2))
		if m.Currency().IsZero() {
			return
		}
		r := registryFor(t, m.Currency())
		fromReg, err := r.ParseJSON(data)
		require.NoError(t, err, "a registry of %#v refused %q", m.Currency(), data)
		require.True(t, m.Equal(fromReg))
	})
}

// FuzzRegistryParseJSON: Registry.ParseJSON never panics and agrees with the reference reading
// against the registry; it accepts only ISO 4217 and the registry's currencies, with their minor
// units; what it accepts re-encodes to JSON it reads back Equal; its errors wrap exactly one
// sentinel; the target of a Registered field is unchanged on error.
func FuzzRegistryParseJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	start := money.MustParse("-7.25 EUR")
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := fuzzRegistry.ParseJSON(data)
		requireAsReference(t, m, err, func() (money.Money, error) { return refJSON(data, fuzzRegistry, true) }, "%q", data)
		field := money.Registered{Money: start, Registry: fuzzRegistry}
		ferr := field.UnmarshalJSON(data)
		require.Equal(t, sentinelOf(err), sentinelOf(ferr))
		require.Same(t, fuzzRegistry, field.Registry)
		if err != nil {
			require.True(t, field.Money.Equal(start), "a failed Registered.UnmarshalJSON changed the target to %s", field.Money)
			// A syntax error is one whatever the registry.
			var plain money.Money
			if errors.Is(err, money.ErrSyntax) {
				require.ErrorIs(t, plain.UnmarshalJSON(data), money.ErrSyntax)
			}
			return
		}
		require.True(t, m.Equal(field.Money))
		if c := m.Currency(); c.IsCustom() {
			known, err := fuzzRegistry.Lookup(c.Code())
			require.NoError(t, err)
			require.Equal(t, known, c, "the registry's own currency")
		}
		b, err := json.Marshal(m)
		require.NoError(t, err)
		again, err := fuzzRegistry.ParseJSON(b)
		require.NoError(t, err, "%s", b)
		require.True(t, m.Equal(again), "%q decoded to %s, re-encoded as %s, decoded again to %s", data, m, b, again)
	})
}

// FuzzScan: Scan of a string or of []byte behaves exactly like Parse, leaves its target unchanged
// on error, and what it reads goes back through Value.
func FuzzScan(f *testing.F) {
	for _, s := range textSeeds {
		f.Add(s)
	}
	start := money.MustParse("3 JPY")
	f.Fuzz(func(t *testing.T, s string) {
		want, perr := money.Parse(s)
		for _, src := range []any{s, []byte(s)} {
			m := start
			err := m.Scan(src)
			if perr != nil {
				require.Error(t, err, "%T %q: Parse failed with %v", src, s, perr)
				requireSentinel(t, err, parseSentinels...)
				require.Equal(t, sentinelOf(perr), sentinelOf(err), "%T %q: %v vs %v", src, s, err, perr)
				require.True(t, m.Equal(start), "a failed Scan changed the target to %s", m)
				continue
			}
			require.NoError(t, err, "%T %q", src, s)
			require.True(t, want.Equal(m), "%T %q: Scan gave %s, Parse %s", src, s, m, want)
			requireCanonical(t, m)
			v, err := m.Value()
			require.NoError(t, err)
			var again money.Money
			require.NoError(t, again.Scan(v))
			require.True(t, m.Equal(again))
		}
	})
}

// FuzzFromColumns: FromColumns never panics, reads string and []byte alike, agrees with the
// reference reading of the columns (CHAR padding of the code ignored, nothing else), and what it
// returns goes back through Columns.
func FuzzFromColumns(f *testing.F) {
	for _, p := range [][2]string{
		{"12.34", "USD"}, {"12.34", "USD   "}, {"12.34", "usd"}, {"-0.50", "EUR"}, {"12", "JPY"}, {"12.0", "JPY"},
		{"12.345", "USD"}, {"12.340", "USD"}, {"", "USD"}, {"12", ""}, {"", ""}, {"1e3", "USD"}, {" 12", "USD"},
		{"12 ", "USD"}, {"12", " USD"}, {"12", "US D"}, {"12", "USD\x00"}, {"12", "USD\t"}, {"-0", "JPY"},
		{"-0.00", "USD"}, {".5", "USD"}, {"5.", "USD"}, {"+5", "USD"}, {"0.00000001", "BTC"}, {"0.00000001", "btc"},
		{"0.000000001", "BTC"}, {"1", "ETH"}, {"12", "POINTS      "}, {"12.5", "POINTS"}, {"1", "XXX"},
		{"1", "   "}, {"1", "U$D"}, {"1", "1USD"}, {"1", "ABCDEFGHIJKLM"}, {"1", "ABCDEFGHIJKL"}, {"1", "USD \t"},
		{strings.Repeat("9", 64), "JPY"}, {strings.Repeat("9", 65), "JPY"}, {strings.Repeat("9", 64), "USD"},
		{strings.Repeat("9", 65), "U$D"}, {strings.Repeat("9", 47), "ETH"}, {"9223372036854775808", "JPY"},
		{"１２", "USD"}, {"12", "ＵＳＤ"}, {"NaN", "USD"}, {"1e-2000000000", "USD"},
	} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, amount, code string) {
		m, err := money.FromColumns(amount, code)
		requireAsReference(t, m, err, func() (money.Money, error) { return refColumns(amount, code, nil) }, "%q %q", amount, code)
		mb, errb := money.FromColumns([]byte(amount), []byte(code))
		requireAsReference(t, mb, errb, func() (money.Money, error) { return refColumns(amount, code, nil) }, "%q %q", amount, code)
		rm, rerr := fuzzRegistry.FromColumns(amount, []byte(code))
		requireAsReference(t, rm, rerr, func() (money.Money, error) { return refColumns(amount, code, fuzzRegistry) }, "%q %q", amount, code)
		if err == nil {
			require.NoError(t, rerr, "the registry knows ISO 4217 too")
			require.True(t, m.Equal(rm))
		}
		if rerr != nil {
			return
		}
		c := rm.Currency()
		fs, err := money.FromString(amount, c)
		require.NoError(t, err)
		require.True(t, rm.Equal(fs))
		a, cc := rm.Columns()
		again, err := fuzzRegistry.FromColumns(a, cc)
		require.NoError(t, err)
		require.True(t, rm.Equal(again))
		require.Equal(t, rm.String(), a.(string)+" "+cc.(string))
	})
}

// FuzzMulDivConvert checks Mul, Div and Convert on int64 operands, where the fast paths live,
// against the big.Rat reference.
func FuzzMulDivConvert(f *testing.F) {
	f.Add(int64(1234), uint8(2), int64(5), int8(-1), uint8(1), uint8(0))
	f.Add(int64(103459024530059179), uint8(2), int64(1783), int8(-1), uint8(4), uint8(2)) // 2^64-1 and a remainder
	f.Add(int64(math.MaxInt64), uint8(0), int64(math.MaxInt64), int8(-19), uint8(2), uint8(18))
	f.Add(int64(math.MinInt64), uint8(18), int64(-1), int8(0), uint8(3), uint8(0))
	f.Add(int64(-25), uint8(0), int64(1), int8(-1), uint8(1), uint8(0))
	f.Add(int64(999999999999999999), uint8(4), int64(999999999999999999), int8(-30), uint8(7), uint8(4))
	f.Fuzz(func(t *testing.T, units int64, minor uint8, coef int64, exp int8, mode uint8, toMinor uint8) {
		c := fuzzCurrency(minor)
		to := fuzzCurrency(toMinor)
		r := money.Rounding(mode % 8)
		m, err := money.FromMinorUnits(units, c)
		require.NoError(t, err)
		factor := decimal.New(coef, int32(exp))

		got, err := m.Mul(factor, r)
		requireRounded(t, new(big.Rat).Mul(unitsRat(m), ratOf(factor)), r, c, got, err)

		exact := new(big.Rat).Mul(ratOf(m.Amount()), ratOf(factor))
		exact.Mul(exact, new(big.Rat).SetInt(pow10(int64(to.MinorUnits()))))
		got, err = m.Convert(to, factor, r)
		if coef <= 0 {
			require.ErrorIs(t, err, money.ErrInvalidArgument, "a rate must be positive")
		} else {
			requireRounded(t, exact, r, to, got, err)
		}

		got, err = m.Div(factor, r)
		if coef == 0 {
			require.ErrorIs(t, err, money.ErrInvalidArgument)
		} else {
			requireRounded(t, new(big.Rat).Quo(unitsRat(m), ratOf(factor)), r, c, got, err)
		}
	})
}

// fuzzCurrency returns an ISO currency with minor%5 decimals, or a custom one with up to 18.
func fuzzCurrency(minor uint8) money.Currency {
	switch minor % 24 {
	case 0:
		return money.MustLookup("JPY")
	case 1:
		return money.MustLookup("USD")
	case 2:
		return money.MustLookup("BHD")
	case 3:
		return money.MustLookup("CLF")
	case 4:
		return money.MustLookup("EUR")
	}
	c, err := money.NewCurrency("CUST", int(minor%19))
	if err != nil {
		panic(err)
	}
	return c
}

package money_test

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/dddkit/ddd/money"
)

// requireRoundTrips checks that m reads back, Equal, through every encoding of the package: the
// text form (Parse, Registry.Parse, UnmarshalText), JSON (UnmarshalJSON, Registry.ParseJSON, a
// Registered field), SQL (Value and Scan) and the two columns (FromColumns and
// Registry.FromColumns, with the code as a CHAR(n) column pads it). A custom currency reads back
// through the Registry variants and UnmarshalJSON; the ISO-only decoders refuse it as unknown.
func requireRoundTrips(t require.TestingT, m money.Money) {
	requireCanonical(t, m)
	c := m.Currency()
	require.False(t, c.IsZero())
	reg := registryFor(t, c)
	custom := c.IsCustom()
	same := func(got money.Money, err error, via string) {
		require.NoError(t, err, "%s of %s", via, m)
		requireMoneyEqual(t, m, got, via)
	}
	unknown := func(err error, via string) {
		require.ErrorIs(t, err, money.ErrUnknownCurrency, "%s of custom %s", via, m)
	}

	s := m.String()
	got, err := reg.Parse(s)
	same(got, err, "Registry.Parse")
	got, err = money.Parse(s)
	if custom {
		unknown(err, "Parse")
	} else {
		same(got, err, "Parse")
	}

	text, err := m.MarshalText()
	require.NoError(t, err)
	require.Equal(t, s, string(text))
	var fromText money.Money
	if err = fromText.UnmarshalText(text); custom {
		unknown(err, "UnmarshalText")
	} else {
		same(fromText, err, "UnmarshalText")
	}

	b, err := json.Marshal(m)
	require.NoError(t, err)
	var fromJSON money.Money
	same(fromJSON, json.Unmarshal(b, &fromJSON), "UnmarshalJSON")
	got, err = reg.ParseJSON(b)
	same(got, err, "Registry.ParseJSON")
	field := struct {
		M money.Registered `json:"m"`
	}{M: money.Registered{Registry: reg}}
	require.NoError(t, json.Unmarshal([]byte(`{"m":`+string(b)+`}`), &field))
	same(field.M.Money, nil, "Registered")

	v, err := m.Value()
	require.NoError(t, err)
	var scanned money.Money
	if err = scanned.Scan(v); custom {
		unknown(err, "Scan")
	} else {
		same(scanned, err, "Scan")
	}

	amount, code := m.Columns()
	padded := code.(string) + strings.Repeat(" ", 12-len(code.(string)))
	for _, cc := range []any{code, []byte(code.(string)), padded} {
		got, err = reg.FromColumns(amount, cc)
		same(got, err, "Registry.FromColumns")
		got, err = money.FromColumns([]byte(amount.(string)), cc)
		if custom {
			unknown(err, "FromColumns")
		} else {
			same(got, err, "FromColumns")
		}
	}
}

// TestPropEveryResultRoundTrips: whatever an operation returns, at the limit too, reads back
// through every encoding; an operation whose exact result is beyond MaxDigits returns ErrOverflow
// instead. Before, arithmetic made amounts of up to about 1000 digits that no decoder read.
func TestPropEveryResultRoundTrips(t *testing.T) {
	nearOne := rapid.Map(rapid.SampledFrom([]string{
		"1", "-1", "10", "0.1", "2", "0.5", "1.0001", "0.9999", "1.00000001", "100", "0.01", "1.5",
	}), decimal.RequireFromString)
	rapid.Check(t, func(t *rapid.T) {
		c := currencyGen().Draw(t, "c")
		a, b := moneyIn(c).Draw(t, "a"), moneyIn(c).Draw(t, "b")
		f := rapid.OneOf(factorGen(), nearOne).Draw(t, "f")
		mode := modeGen().Draw(t, "mode")
		to := currencyGen().Draw(t, "to")
		scale := new(big.Rat).SetInt(pow10(int64(c.MinorUnits())))

		// check compares a result with the exact one, in minor units of cur, and sends every
		// result through every encoding.
		check := func(exactUnits *big.Rat, mode money.Rounding, cur money.Currency, got money.Money, err error) {
			requireRounded(t, exactUnits, mode, cur, got, err)
			if err == nil {
				requireRoundTrips(t, got)
			} else {
				require.Equal(t, 1, sentinelCount(err), "%v", err)
			}
		}
		ua, ub := new(big.Rat).SetInt(unitsOf(a)), new(big.Rat).SetInt(unitsOf(b))

		requireRoundTrips(t, a)
		got, err := a.Add(b)
		check(new(big.Rat).Add(ua, ub), money.Exact, c, got, err)
		got, err = a.Sub(b)
		check(new(big.Rat).Sub(ua, ub), money.Exact, c, got, err)
		got, err = money.Sum(c, a, b, a)
		check(new(big.Rat).Add(new(big.Rat).Add(ua, ub), ua), money.Exact, c, got, err)
		requireRoundTrips(t, a.Neg())
		requireRoundTrips(t, a.Abs())

		got, err = a.Mul(f, mode)
		check(new(big.Rat).Mul(ua, ratOf(f)), mode, c, got, err)
		if !f.IsZero() {
			got, err = a.Div(f, mode)
			check(new(big.Rat).Quo(ua, ratOf(f)), mode, c, got, err)
		}
		if f.IsPositive() {
			got, err = a.Convert(to, f, mode)
			exact := new(big.Rat).Mul(ratOf(a.Amount()), ratOf(f))
			check(exact.Mul(exact, new(big.Rat).SetInt(pow10(int64(to.MinorUnits())))), mode, to, got, err)
		}
		// Rounding to a power of ten of minor units.
		j := rapid.IntRange(0, 3).Draw(t, "j")
		incUnits := pow10(int64(j))
		got, err = a.RoundTo(decimal.NewFromBigInt(incUnits, -int32(c.MinorUnits())), mode)
		if q := refRound(new(big.Rat).SetFrac(unitsOf(a), incUnits), mode); q != nil {
			check(new(big.Rat).SetInt(q.Mul(q, incUnits)), money.Exact, c, got, err)
		} else {
			require.ErrorIs(t, err, money.ErrPrecision)
		}

		// An amount with more decimals than c, near the limit too.
		extra := rapid.IntRange(0, 3).Draw(t, "extra")
		d := decimal.NewFromBigInt(new(big.Int).Add(new(big.Int).Mul(unitsOf(a), pow10(int64(extra))), big.NewInt(int64(rapid.IntRange(-9, 9).Draw(t, "tail")))),
			-int32(c.MinorUnits()+extra))
		got, err = money.NewRounded(d, c, mode)
		check(new(big.Rat).Mul(ratOf(d), scale), mode, c, got, err)

		if parts, err := a.Allocate(rapid.SliceOfN(rapid.Int64Range(1, 1000), 1, 5).Draw(t, "ratios")...); err == nil {
			for _, p := range parts {
				requireRoundTrips(t, p)
			}
		} else {
			require.Failf(t, "Allocate", "%v", err)
		}
		parts, err := a.Split(rapid.IntRange(1, 5).Draw(t, "n"))
		require.NoError(t, err)
		for _, p := range parts {
			requireRoundTrips(t, p)
		}
	})
}

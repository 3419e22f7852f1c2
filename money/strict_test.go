package money_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/money"
)

// TestParseStrict: the text form is the amount, exactly one ASCII space and a code. Before, any
// blank after the first space went into the code, so these were unknown currencies, not syntax
// errors.
func TestParseStrict(t *testing.T) {
	tests := []struct {
		in   string
		want string
		err  error
	}{
		{in: "1.00 USD", want: "1.00 USD"},
		{in: "1.00 usd", want: "1.00 USD"},
		{in: "1.00 USD ", err: money.ErrSyntax},
		{in: "1.00  USD", err: money.ErrSyntax},
		{in: " 1.00 USD", err: money.ErrSyntax},
		{in: "1.00\tUSD", err: money.ErrSyntax},
		{in: "1.00 \tUSD", err: money.ErrSyntax},
		{in: "1.00 USD\n", err: money.ErrSyntax},
		{in: "1.00\u00a0USD", err: money.ErrSyntax},
		{in: "1.00 US D", err: money.ErrSyntax},
		{in: "1.00 U$D", err: money.ErrSyntax},
		{in: "1.00 US", err: money.ErrSyntax},
		{in: "1.00 1USD", err: money.ErrSyntax},
		{in: "1.00 ABCDEFGHIJKLM", err: money.ErrSyntax},
		{in: "1.00 ÜSD", err: money.ErrSyntax},
		{in: "1.00 ", err: money.ErrSyntax},
		{in: "1.00 ZZZ", err: money.ErrUnknownCurrency},
		{in: "1.00 BTC", err: money.ErrUnknownCurrency},
		{in: "1.00 ABCDEFGHIJKL", err: money.ErrUnknownCurrency},
		{in: "abc ZZZ", err: money.ErrSyntax},
		{in: "1.234 U$D", err: money.ErrSyntax},
		{in: "1x USD", err: money.ErrSyntax},
		{in: "1.234 ZZZ", err: money.ErrUnknownCurrency},
		{in: "1.234 USD", err: money.ErrPrecision},
		{in: "99999999999999999999999999999999999999999999999999999999999999999 U$D", err: money.ErrSyntax},
		{in: "99999999999999999999999999999999999999999999999999999999999999999x USD", err: money.ErrSyntax},
		{in: "99999999999999999999999999999999999999999999999999999999999999999 ZZZ", err: money.ErrUnknownCurrency},
		{in: "99999999999999999999999999999999999999999999999999999999999999999 JPY", err: money.ErrOverflow},
	}
	reg := fuzzRegistry
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			m, err := money.Parse(tt.in)
			rm, rerr := reg.Parse(tt.in)
			var text, scanned money.Money
			terr := text.UnmarshalText([]byte(tt.in))
			serr := scanned.Scan(tt.in)
			if tt.err == nil {
				require.NoError(t, err)
				require.Equal(t, tt.want, m.String())
				require.NoError(t, rerr)
				require.True(t, m.Equal(rm))
				require.NoError(t, terr)
				require.NoError(t, serr)
				return
			}
			for _, e := range []error{err, terr, serr} {
				require.ErrorIs(t, e, tt.err)
				require.Equal(t, 1, sentinelCount(e), "%v", e)
			}
			if tt.err == money.ErrUnknownCurrency && tt.in[len(tt.in)-3:] == "BTC" {
				require.NoError(t, rerr, "the registry knows BTC")
				return
			}
			require.ErrorIs(t, rerr, tt.err)
		})
	}
}

// TestFromColumnsStrict: CHAR(n) padding of the currency column is ignored, any other blank or
// a malformed code is a syntax error. Before, " USD", "US D" and "USD\t" were unknown currencies.
func TestFromColumnsStrict(t *testing.T) {
	tests := []struct {
		amount, code string
		err          error
	}{
		{amount: "12.50", code: "EUR"},
		{amount: "12.50", code: "EUR   "},
		{amount: "12.50", code: "eur         "},
		{amount: "12.50", code: " EUR", err: money.ErrSyntax},
		{amount: "12.50", code: "EUR\t", err: money.ErrSyntax},
		{amount: "12.50", code: "EUR\x00", err: money.ErrSyntax},
		{amount: "12.50", code: "E UR", err: money.ErrSyntax},
		{amount: "12.50", code: "   ", err: money.ErrSyntax},
		{amount: "12.50", code: "", err: money.ErrSyntax},
		{amount: " 12.50", code: "EUR", err: money.ErrSyntax},
		{amount: "12.50 ", code: "EUR", err: money.ErrSyntax},
		{amount: "12.50", code: "ZZZ   ", err: money.ErrUnknownCurrency},
		{amount: "12.505", code: "EUR", err: money.ErrPrecision},
	}
	for _, tt := range tests {
		t.Run(tt.amount+"|"+tt.code, func(t *testing.T) {
			for _, in := range [][2]any{{tt.amount, tt.code}, {[]byte(tt.amount), []byte(tt.code)}} {
				m, err := money.FromColumns(in[0], in[1])
				if tt.err == nil {
					require.NoError(t, err)
					require.Equal(t, "12.50 EUR", m.String())
					continue
				}
				require.ErrorIs(t, err, tt.err)
				require.Equal(t, 1, sentinelCount(err), "%v", err)
			}
		})
	}
}

// TestJSONStrict: exact names, each once, nothing else, nothing after. Before, encoding/json's
// struct decoding matched names in any case and let a repeated name win, so
// {"amount":"1","amoUnt":"2","currency":"USD"} decoded to 2.00 USD.
func TestJSONStrict(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // the decoded Money's String, when it decodes
		err      error
	}{
		{name: "canonical", in: `{"amount":"12.34","currency":"USD"}`, want: "12.34 USD"},
		{name: "any order and blanks", in: " \t\r\n{ \"currency\" : \"usd\" ,\n\"amount\" : 12.3 }\n", want: "12.30 USD"},
		{name: "escaped values", in: `{"amount":"\u0031.5","currency":"\u0055SD"}`, want: "1.50 USD"},
		{name: "escaped name", in: `{"\u0061mount":"1","currency":"USD"}`, want: "1.00 USD"},
		{name: "every character escaped", in: `{"amount":"\u0031","currency":"\u0055\u0053\u0044"}`, want: "1.00 USD"},
		{name: "minor units given", in: `{"amount":"1","currency":"USD","minorUnits":2}`, want: "1.00 USD"},
		{name: "null minor units", in: `{"amount":"1","currency":"USD","minorUnits":null}`, want: "1.00 USD"},
		{name: "negative zero minor units", in: `{"amount":"1","currency":"JPY","minorUnits":-0}`, want: "1 JPY"},
		{name: "custom", in: `{"amount":"0.5","currency":"btc","minorUnits":8}`, want: "0.50000000 BTC"},
		{name: "number exponent", in: `{"amount":1.5E+2,"currency":"JPY"}`, want: "150 JPY"},

		{name: "case of a name", in: `{"Amount":"1","currency":"USD"}`, err: money.ErrSyntax},
		{name: "case of another name", in: `{"amount":"1","Currency":"USD"}`, err: money.ErrSyntax},
		{name: "case of minorUnits", in: `{"amount":"1","currency":"USD","minorunits":2}`, err: money.ErrSyntax},
		{name: "repeated amount", in: `{"amount":"1","amount":"2","currency":"USD"}`, err: money.ErrSyntax},
		{name: "repeated amount in another case", in: `{"amount":"1","amoUnt":"2","currency":"USD"}`, err: money.ErrSyntax},
		{name: "repeated escaped", in: `{"amount":"1","\u0061mount":"2","currency":"USD"}`, err: money.ErrSyntax},
		{name: "repeated currency", in: `{"amount":"1","currency":"USD","currency":"EUR"}`, err: money.ErrSyntax},
		{name: "repeated minorUnits", in: `{"amount":"1","currency":"BTC","minorUnits":null,"minorUnits":8}`, err: money.ErrSyntax},
		{name: "unknown name", in: `{"amount":"1","currency":"USD","note":"x"}`, err: money.ErrSyntax},
		{name: "trailing data", in: `{"amount":"1","currency":"USD"}x`, err: money.ErrSyntax},
		{name: "second object", in: `{"amount":"1","currency":"USD"} {}`, err: money.ErrSyntax},
		{name: "trailing comma", in: `{"amount":"1","currency":"USD",}`, err: money.ErrSyntax},
		{name: "unterminated", in: `{"amount":"1","currency":"USD"`, err: money.ErrSyntax},
		{name: "leading zero", in: `{"amount":01,"currency":"USD"}`, err: money.ErrSyntax},
		{name: "plus sign", in: `{"amount":+1,"currency":"USD"}`, err: money.ErrSyntax},
		{name: "bare point", in: `{"amount":1.,"currency":"USD"}`, err: money.ErrSyntax},
		{name: "bad escape", in: `{"amount":"1","currency":"U\SD"}`, err: money.ErrSyntax},
		{name: "short unicode escape", in: `{"amount":"1","currency":"\u055SD"}`, err: money.ErrSyntax},
		{name: "control character", in: "{\"amount\":\"1\",\"currency\":\"US\tD\"}", err: money.ErrSyntax},
		{name: "single quotes", in: `{'amount':'1','currency':'USD'}`, err: money.ErrSyntax},
		{name: "not JSON whitespace", in: "\u00a0{\"amount\":\"1\",\"currency\":\"USD\"}", err: money.ErrSyntax},
		{name: "escaped blank in code", in: `{"amount":"1","currency":"USD\u0020"}`, err: money.ErrSyntax},
		{name: "malformed code", in: `{"amount":"1","currency":"B-C","minorUnits":3}`, err: money.ErrSyntax},
		{name: "fractional minor units", in: `{"amount":"1","currency":"BTC","minorUnits":8.0}`, err: money.ErrSyntax},
		{name: "minor units as a string", in: `{"amount":"1","currency":"BTC","minorUnits":"8"}`, err: money.ErrSyntax},
		{name: "null currency", in: `{"amount":"1","currency":null}`, err: money.ErrSyntax},
		{name: "minor units out of range", in: `{"amount":"1","currency":"BTC","minorUnits":19}`, err: money.ErrInvalidCurrency},
		{name: "huge minor units", in: `{"amount":"1","currency":"BTC","minorUnits":123456789012345678901234567890}`, err: money.ErrInvalidCurrency},
		{name: "negative minor units", in: `{"amount":"1","currency":"BTC","minorUnits":-1}`, err: money.ErrInvalidCurrency},
		{name: "contradicting ISO", in: `{"amount":"1","currency":"USD","minorUnits":3}`, err: money.ErrInvalidCurrency},
		{name: "custom without minor units", in: `{"amount":"1","currency":"BTC"}`, err: money.ErrUnknownCurrency},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := money.MustParse("7.00 EUR")
			m := start
			err := m.UnmarshalJSON([]byte(tt.in))
			if tt.err == nil {
				require.NoError(t, err)
				require.Equal(t, tt.want, m.String())
				var viaStd money.Money
				require.NoError(t, json.Unmarshal([]byte(tt.in), &viaStd))
				require.True(t, m.Equal(viaStd))
				return
			}
			require.ErrorIs(t, err, tt.err)
			require.Equal(t, 1, sentinelCount(err), "%v", err)
			require.True(t, m.Equal(start), "unchanged on error")
			require.Less(t, len(err.Error()), maxErrorLen)
		})
	}
}

// TestRegistryParseJSON: JSON against a registry accepts ISO 4217 and the registry's currencies,
// with their minor units, and nothing else. Before, there was only UnmarshalJSON, which makes
// whatever currency the JSON describes: a BTC of 2 decimals where the program's has 8.
func TestRegistryParseJSON(t *testing.T) {
	btc, err := money.NewCurrency("BTC", 8)
	require.NoError(t, err)
	reg, err := money.NewRegistry(btc)
	require.NoError(t, err)
	tests := []struct {
		name, in string
		want     string
		err      error
	}{
		{name: "iso", in: `{"amount":"1.5","currency":"EUR"}`, want: "1.50 EUR"},
		{name: "iso with its minor units", in: `{"amount":"1.5","currency":"EUR","minorUnits":2}`, want: "1.50 EUR"},
		{name: "registry's", in: `{"amount":"0.5","currency":"BTC","minorUnits":8}`, want: "0.50000000 BTC"},
		{name: "registry's without minor units", in: `{"amount":"0.5","currency":"btc"}`, want: "0.50000000 BTC"},
		{name: "null", in: `null`, want: "0"},
		{name: "registry's with other minor units", in: `{"amount":"0.5","currency":"BTC","minorUnits":2}`, err: money.ErrInvalidCurrency},
		{name: "iso with other minor units", in: `{"amount":"1","currency":"JPY","minorUnits":2}`, err: money.ErrInvalidCurrency},
		{name: "unknown custom", in: `{"amount":"1","currency":"ETH","minorUnits":18}`, err: money.ErrUnknownCurrency},
		{name: "unknown custom without minor units", in: `{"amount":"1","currency":"ETH"}`, err: money.ErrUnknownCurrency},
		{name: "too precise for the registry's", in: `{"amount":"0.000000001","currency":"BTC"}`, err: money.ErrPrecision},
		{name: "repeated name", in: `{"amount":"1","currency":"BTC","currency":"EUR"}`, err: money.ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := reg.ParseJSON([]byte(tt.in))
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				require.Equal(t, 1, sentinelCount(err), "%v", err)
				require.True(t, m.Equal(money.Money{}))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, m.String())
			if m.Currency().IsCustom() {
				require.Equal(t, btc, m.Currency(), "the registry's currency itself")
			}
		})
	}

	// A nil registry knows ISO 4217 only.
	var none *money.Registry
	_, err = none.ParseJSON([]byte(`{"amount":"1","currency":"BTC","minorUnits":8}`))
	require.ErrorIs(t, err, money.ErrUnknownCurrency)
	m, err := none.ParseJSON([]byte(`{"amount":"1","currency":"USD"}`))
	require.NoError(t, err)
	require.Equal(t, "1.00 USD", m.String())
}

// TestRegistered: a struct field decoded against a registry by encoding/json.
func TestRegistered(t *testing.T) {
	btc, err := money.NewCurrency("BTC", 8)
	require.NoError(t, err)
	reg, err := money.NewRegistry(btc)
	require.NoError(t, err)
	type payout struct {
		Amount money.Registered   `json:"amount"`
		Fees   []money.Registered `json:"fees"`
	}
	p := payout{Amount: money.Registered{Registry: reg}}
	require.NoError(t, json.Unmarshal([]byte(`{"amount":{"amount":"0.1","currency":"BTC"},"fees":[{"amount":"1","currency":"EUR"}]}`), &p))
	require.Equal(t, "0.10000000 BTC", p.Amount.Money.String())
	require.Same(t, reg, p.Amount.Registry, "kept")
	require.Equal(t, "1.00 EUR", p.Fees[0].Money.String())

	b, err := json.Marshal(p)
	require.NoError(t, err)
	require.JSONEq(t, `{"amount":{"amount":"0.10000000","currency":"BTC","minorUnits":8},"fees":[{"amount":"1.00","currency":"EUR"}]}`, string(b))

	// Another BTC is refused, and p is unchanged.
	err = json.Unmarshal([]byte(`{"amount":{"amount":"0.1","currency":"BTC","minorUnits":2}}`), &p)
	require.ErrorIs(t, err, money.ErrInvalidCurrency)
	require.Equal(t, "0.10000000 BTC", p.Amount.Money.String())
	// Elements that encoding/json makes have no registry: ISO 4217 only.
	err = json.Unmarshal([]byte(`{"fees":[{"amount":"1","currency":"BTC","minorUnits":8}]}`), &p)
	require.ErrorIs(t, err, money.ErrUnknownCurrency)
	// null resets the amount, not the registry.
	require.NoError(t, json.Unmarshal([]byte(`{"amount":null}`), &p))
	require.True(t, p.Amount.Money.Equal(money.Money{}))
	require.Same(t, reg, p.Amount.Registry)
}

package money

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// maxDigits bounds the digits of an amount in text. 64 digits hold any amount of money with room
// to spare, and the bound keeps hostile input from costing more than a few hundred bytes.
const maxDigits = 64

// Parse reads the canonical text form of Money written by [Money.String]: the amount, one space
// and an ISO 4217 code, such as "12.34 USD", "-0.50 EUR" or "1200 JPY". The code may be in any
// case; the amount is a plain decimal as for [FromString], and may leave out trailing zeros
// ("12.3 USD"). Malformed text is an error wrapping [ErrSyntax], an unknown code one wrapping
// [ErrUnknownCurrency], too many decimals one wrapping [ErrPrecision], more than 64 digits (with
// the currency's decimals) one wrapping [ErrOverflow]. Use [Registry.Parse] for custom
// currencies.
func Parse(s string) (Money, error) {
	return parse(s, Lookup)
}

// MustParse is like [Parse] but panics on error. It is meant for constants in tests, examples
// and package-level variables.
func MustParse(s string) Money {
	m, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return m
}

func parse(s string, lookup func(string) (Currency, error)) (Money, error) {
	i := strings.IndexByte(s, ' ')
	if i < 0 {
		return Money{}, fmt.Errorf("%w: %s: want an amount, a space and a currency code", ErrSyntax, quote(s))
	}
	d, err := parseAmount(s[:i], false)
	if err != nil {
		return Money{}, err
	}
	c, err := lookup(s[i+1:])
	if err != nil {
		return Money{}, err
	}
	return newDecoded(d, c, s)
}

// newDecoded is New for the decoders (FromString, Parse, Scan, UnmarshalText, UnmarshalJSON,
// FromColumns): it also refuses an amount whose canonical form has more than maxDigits digits,
// such as 64 nines in USD (66 digits with the decimals) or the JSON number 1e900, so that
// whatever a decoder accepts is written by String, MarshalJSON and Columns in a form the decoders
// read back.
func newDecoded(d decimal.Decimal, c Currency, s string) (Money, error) {
	m, err := New(d, c)
	if err != nil {
		return Money{}, err
	}
	if m.amount.NumDigits() > maxDigits {
		return Money{}, fmt.Errorf("%w: amount %s has more than %d digits in %s", ErrOverflow, quote(s), maxDigits, c.code)
	}
	return m, nil
}

// quote quotes s for an error message, shortened so hostile input cannot bloat logs.
func quote(s string) string {
	const max = 48
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}

// parseAmount reads a plain decimal: [-]digits[.digits]. With number set it reads a JSON number
// instead, which may also carry an exponent ([eE][+-]digits). It never goes through float64.
func parseAmount(s string, number bool) (decimal.Decimal, error) {
	bad := func(why string) (decimal.Decimal, error) {
		return decimal.Decimal{}, fmt.Errorf("%w: amount %s: %s", ErrSyntax, quote(s), why)
	}
	i := 0
	neg := false
	if i < len(s) && s[i] == '-' {
		neg = true
		i++
	}
	var (
		small    uint64 // the digits, while they fit
		nDigits  int
		fracLen  int
		sawPoint bool
	)
	start := i
scan:
	for ; i < len(s); i++ {
		b := s[i]
		switch {
		case '0' <= b && b <= '9':
			if nDigits == maxDigits {
				return decimal.Decimal{}, fmt.Errorf("%w: amount %s has more than %d digits", ErrOverflow, quote(s), maxDigits)
			}
			if nDigits < 19 {
				small = small*10 + uint64(b-'0')
			}
			nDigits++
			if sawPoint {
				fracLen++
			}
		case b == '.' && !sawPoint:
			if i == start {
				return bad("no digit before the point")
			}
			sawPoint = true
		default:
			break scan
		}
	}
	mantissa := s[start:i]
	if nDigits == 0 {
		return bad("no digits")
	}
	if sawPoint && fracLen == 0 {
		return bad("no digit after the point")
	}
	exp := -int64(fracLen)
	if i < len(s) {
		if !number || (s[i] != 'e' && s[i] != 'E') {
			return bad(fmt.Sprintf("unexpected %q", s[i]))
		}
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		if i == len(s) {
			return bad("no digits in the exponent")
		}
		var e int64
		for ; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return bad(fmt.Sprintf("unexpected %q", s[i]))
			}
			if e = e*10 + int64(s[i]-'0'); e > maxFactorExponent {
				return decimal.Decimal{}, fmt.Errorf("%w: amount %s: exponent beyond ±%d", ErrOverflow, quote(s), maxFactorExponent)
			}
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if nDigits <= 18 {
		v := int64(small)
		if neg {
			v = -v
		}
		return decimal.New(v, int32(exp)), nil
	}
	v, _ := new(big.Int).SetString(strings.Replace(mantissa, ".", "", 1), 10)
	if neg {
		v.Neg(v)
	}
	return decimal.NewFromBigInt(v, int32(exp)), nil
}

// String returns the canonical form: the amount with exactly the currency's decimals, a space and
// the code, such as "12.30 USD", "-0.05 CHF" or "1200 JPY". [Parse] reads it back. The zero
// Money is "0".
func (m Money) String() string {
	if m.currency.IsZero() {
		return "0"
	}
	var buf [48]byte
	b := m.appendAmount(buf[:0])
	b = append(b, ' ')
	b = append(b, m.currency.code...)
	return string(b)
}

// appendAmount appends the amount with exactly the currency's decimals.
func (m Money) appendAmount(dst []byte) []byte {
	var digits []byte
	var buf [20]byte
	if m.amount.NumDigits() <= 18 {
		v := m.amount.CoefficientInt64()
		if v < 0 {
			dst = append(dst, '-')
			v = -v
		}
		digits = strconv.AppendInt(buf[:0], v, 10)
	} else {
		c := m.amount.Coefficient()
		if c.Sign() < 0 {
			dst = append(dst, '-')
			c.Neg(c)
		}
		digits = c.Append(buf[:0], 10)
	}
	scale := int(m.currency.minor)
	if scale == 0 {
		return append(dst, digits...)
	}
	n := len(digits)
	if n <= scale {
		dst = append(dst, '0', '.')
		for range scale - n {
			dst = append(dst, '0')
		}
		return append(dst, digits...)
	}
	dst = append(dst, digits[:n-scale]...)
	dst = append(dst, '.')
	return append(dst, digits[n-scale:]...)
}

package money

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// Parse reads the canonical text form of Money written by [Money.String]: the amount, exactly one
// ASCII space and an ISO 4217 code, such as "12.34 USD", "-0.50 EUR" or "1200 JPY". The code may
// be in any case; the amount is a plain decimal as for [FromString], and may leave out trailing
// zeros ("12.3 USD"). Text that is not of this form is an error wrapping [ErrSyntax]: other or
// more spaces, a tab, leading or trailing blanks, or a code that is not 3 to 12 ASCII letters and
// digits starting with a letter (the codes [NewCurrency] accepts). A well-formed code that is not
// an ISO 4217 currency is an error wrapping [ErrUnknownCurrency]; too many decimals one wrapping
// [ErrPrecision]; text of more than [MaxDigits] digits, or an amount of more than MaxDigits digits
// with the currency's decimals, one wrapping [ErrOverflow]. Use [Registry.Parse] for custom
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
	return decode(s[:i], false, s[i+1:], lookup)
}

// decode is what the decoders share once they have the amount's text and the code: it checks the
// syntax of both, then the currency, then the size and decimals of the amount, so that the error
// of malformed input wraps ErrSyntax whatever else is wrong with it.
func decode(amount string, number bool, code string, lookup func(string) (Currency, error)) (Money, error) {
	d, err := parseAmount(amount, number)
	if err != nil && errors.Is(err, ErrSyntax) {
		return Money{}, err
	}
	if err := checkCode(code); err != nil {
		return Money{}, err
	}
	c, cerr := lookup(code)
	if cerr != nil {
		return Money{}, cerr
	}
	if err != nil {
		return Money{}, err
	}
	return newParsed(d, c)
}

// newParsed is New for an amount parseAmount read, which has at most MaxDigits digits: at c's
// exponent already, it is a Money as it is.
func newParsed(d decimal.Decimal, c Currency) (Money, error) {
	if !c.IsZero() && int64(d.Exponent()) == -int64(c.minor) {
		return Money{amount: d, currency: c}, nil
	}
	return New(d, c)
}

// validCode reports whether code is syntactically a currency code: 3 to 12 ASCII letters and
// digits starting with a letter, in any case, as [NewCurrency] accepts. Every ISO 4217 code is one.
func validCode(code string) bool {
	if len(code) < 3 || len(code) > 12 {
		return false
	}
	for i := range len(code) {
		b := upper(code[i])
		if !('A' <= b && b <= 'Z') && (i == 0 || b < '0' || b > '9') {
			return false
		}
	}
	return true
}

func checkCode(code string) error {
	if !validCode(code) {
		return fmt.Errorf("%w: currency code %s: want 3 to 12 ASCII letters and digits, starting with a letter", ErrSyntax, quote(code))
	}
	return nil
}

// quote quotes s for an error message, shortened so hostile input cannot bloat logs.
func quote(s string) string {
	const max = 48
	if len(s) > max {
		return strconv.Quote(s[:max]) + "…"
	}
	return strconv.Quote(s)
}

// parseAmount reads a plain decimal: [-]digits[.digits]. With number set it reads a JSON number
// instead, which may also carry an exponent ([eE][+-]digits). It never goes through float64. It
// checks all of s before its size, so that malformed text is an error wrapping ErrSyntax however
// long it is; text of more than MaxDigits digits, or an exponent beyond ±maxOperandExponent, is
// then an error wrapping ErrOverflow. Its cost is linear in len(s), and it allocates only for
// more than 18 digits.
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
	var e int64
	expBeyond := false
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
		for ; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return bad(fmt.Sprintf("unexpected %q", s[i]))
			}
			if !expBeyond {
				if e = e*10 + int64(s[i]-'0'); e > maxOperandExponent {
					expBeyond = true
				}
			}
		}
		if eneg {
			e = -e
		}
	}
	if nDigits > MaxDigits {
		return decimal.Decimal{}, fmt.Errorf("%w: amount %s has more than %d digits", ErrOverflow, quote(s), MaxDigits)
	}
	if expBeyond {
		return decimal.Decimal{}, fmt.Errorf("%w: amount %s: exponent beyond ±%d", ErrOverflow, quote(s), maxOperandExponent)
	}
	exp := e - int64(fracLen)
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

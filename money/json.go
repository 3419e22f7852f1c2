package money

import (
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// This file reads the JSON form of Money, {"amount":"12.34","currency":"USD"} with an optional
// "minorUnits", with a scanner made for that one object rather than encoding/json, whose struct
// decoding matches field names in any case and lets a repeated field win. The scanner reads JSON
// as RFC 8259 defines it: the names are matched exactly, after unescaping, and every string is
// unescaped exactly, so "\u0055SD" is the code USD.

// jsonMoney is a money object as the scanner read it.
type jsonMoney struct {
	amount   string // a string's contents, unescaped, or a number's text
	number   bool   // amount was a JSON number
	code     string // the currency's string, unescaped
	minor    string // the text of "minorUnits", an integer; "" when absent or null
	hasMinor bool
}

// The bits of jsonMoney's fields, to refuse a repeated one.
const (
	seenAmount = 1 << iota
	seenCurrency
	seenMinor
)

// scanJSON reads data, a money object or null, surrounded by JSON whitespace only. Anything else
// (invalid JSON, another value, a name other than "amount", "currency" and "minorUnits", a name
// given twice, a value of the wrong type, data after the object) is an error wrapping ErrSyntax.
func scanJSON(data []byte) (v jsonMoney, null bool, err error) {
	s := jsonScanner{data: data}
	s.skipSpace()
	if s.literal("null") {
		s.skipSpace()
		if s.i != len(data) {
			return v, false, s.fail("data after null")
		}
		return v, true, nil
	}
	if !s.consume('{') {
		return v, false, s.fail("want a money object or null")
	}
	var seen uint8
	s.skipSpace()
	if !s.consume('}') {
		for {
			s.skipSpace()
			if s.peek() != '"' {
				return v, false, s.fail("want a field name")
			}
			name, err := s.str()
			if err != nil {
				return v, false, err
			}
			s.skipSpace()
			if !s.consume(':') {
				return v, false, s.fail("want a colon")
			}
			s.skipSpace()
			var bit uint8
			switch name {
			case "amount":
				bit = seenAmount
				switch b := s.peek(); {
				case b == '"':
					v.amount, err = s.str()
				case b == '-' || '0' <= b && b <= '9':
					v.amount, err = s.num()
					v.number = true
				default:
					return v, false, s.fail(`"amount" must be a string or a number`)
				}
			case "currency":
				bit = seenCurrency
				if s.peek() != '"' {
					return v, false, s.fail(`"currency" must be a string`)
				}
				v.code, err = s.str()
			case "minorUnits":
				bit = seenMinor
				if s.literal("null") {
					break
				}
				if b := s.peek(); b != '-' && (b < '0' || b > '9') {
					return v, false, s.fail(`"minorUnits" must be an integer`)
				}
				if v.minor, err = s.num(); err == nil && !isInteger(v.minor) {
					return v, false, s.fail(`"minorUnits" must be an integer`)
				}
				v.hasMinor = true
			default:
				return v, false, s.fail("unknown field " + quote(name))
			}
			if err != nil {
				return v, false, err
			}
			if seen&bit != 0 {
				return v, false, s.fail("field " + quote(name) + " given twice")
			}
			seen |= bit
			s.skipSpace()
			if s.consume(',') {
				continue
			}
			if s.consume('}') {
				break
			}
			return v, false, s.fail("want a comma or a closing brace")
		}
	}
	s.skipSpace()
	if s.i != len(data) {
		return v, false, s.fail("data after the money object")
	}
	if seen&(seenAmount|seenCurrency) != seenAmount|seenCurrency {
		return v, false, fmt.Errorf(`%w: money needs both "amount" and "currency"`, ErrSyntax)
	}
	return v, false, nil
}

// isInteger reports whether a JSON number's text has neither a fraction nor an exponent.
func isInteger(num string) bool {
	for i := range len(num) {
		if b := num[i]; b == '.' || b == 'e' || b == 'E' {
			return false
		}
	}
	return true
}

// minorUnits returns the value of "minorUnits" if it is within 0..maxMinorUnits.
func (v *jsonMoney) minorUnits() (int, bool) {
	t := v.minor
	if t == "-0" {
		return 0, true
	}
	if len(t) > 2 || t[0] == '-' {
		return 0, false
	}
	n, err := strconv.Atoi(t)
	return n, err == nil && n <= maxMinorUnits
}

// currency resolves the code and "minorUnits" of v: an ISO 4217 code, whose minor units
// "minorUnits" must match; then, with registry set, a currency of r, whose minor units
// "minorUnits" must match too, while other codes are unknown; without it, a custom currency made
// from the code and "minorUnits", which it needs. The code's syntax has been checked.
func (v *jsonMoney) currency(code string, r *Registry, registry bool) (Currency, error) {
	c, ok := lookupISO(code)
	if !ok && registry {
		var err error
		if c, err = r.Lookup(code); err != nil {
			return Currency{}, err
		}
		ok = true
	}
	if ok {
		if v.hasMinor {
			if n, in := v.minorUnits(); !in || n != int(c.minor) {
				return Currency{}, fmt.Errorf("%w: %s has %d minor units, not %s", ErrInvalidCurrency, c.code, c.minor, quote(v.minor))
			}
		}
		return c, nil
	}
	if !v.hasMinor {
		return Currency{}, fmt.Errorf(`%w: %s (a custom currency needs "minorUnits")`, ErrUnknownCurrency, quote(code))
	}
	n, in := v.minorUnits()
	if !in {
		return Currency{}, fmt.Errorf("%w: minor units %s not in 0..%d", ErrInvalidCurrency, quote(v.minor), maxMinorUnits)
	}
	return NewCurrency(code, n)
}

// decodeJSON is UnmarshalJSON (registry false) and Registry.ParseJSON (registry true).
func decodeJSON(data []byte, r *Registry, registry bool) (Money, error) {
	v, null, err := scanJSON(data)
	if err != nil || null {
		return Money{}, err
	}
	return decode(v.amount, v.number, v.code, func(code string) (Currency, error) {
		return v.currency(code, r, registry)
	})
}

// jsonScanner reads JSON from data at i.
type jsonScanner struct {
	data []byte
	i    int
}

// fail returns a syntax error at the scanner's offset.
func (s *jsonScanner) fail(why string) error {
	if s.i >= len(s.data) {
		return fmt.Errorf("%w: JSON: %s at the end of the input", ErrSyntax, why)
	}
	return fmt.Errorf("%w: JSON: %s at offset %d", ErrSyntax, why, s.i)
}

func (s *jsonScanner) skipSpace() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the byte at i, or 0 at the end.
func (s *jsonScanner) peek() byte {
	if s.i < len(s.data) {
		return s.data[s.i]
	}
	return 0
}

func (s *jsonScanner) consume(b byte) bool {
	if s.peek() == b {
		s.i++
		return true
	}
	return false
}

func (s *jsonScanner) literal(lit string) bool {
	if len(s.data)-s.i >= len(lit) && string(s.data[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return true
	}
	return false
}

// num reads a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *jsonScanner) num() (string, error) {
	start := s.i
	s.consume('-')
	switch b := s.peek(); {
	case b == '0':
		s.i++
	case '1' <= b && b <= '9':
		s.digits()
	default:
		return "", s.fail("want a digit")
	}
	if s.consume('.') {
		if !s.digits() {
			return "", s.fail("want a digit after the point")
		}
	}
	if b := s.peek(); b == 'e' || b == 'E' {
		s.i++
		if b := s.peek(); b == '+' || b == '-' {
			s.i++
		}
		if !s.digits() {
			return "", s.fail("want a digit in the exponent")
		}
	}
	return string(s.data[start:s.i]), nil
}

// digits skips digits and reports whether there was one.
func (s *jsonScanner) digits() bool {
	start := s.i
	for s.i < len(s.data) && '0' <= s.data[s.i] && s.data[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

// str reads a JSON string at i, which is its opening quote, and returns its contents unescaped.
// Bytes beyond ASCII are kept as they are: no name or value of a money object has any, so
// whatever they are, the caller refuses them.
func (s *jsonScanner) str() (string, error) {
	s.i++ // the opening quote
	start := s.i
	for s.i < len(s.data) {
		switch b := s.data[s.i]; {
		case b == '"':
			v := string(s.data[start:s.i])
			s.i++
			return v, nil
		case b == '\\':
			return s.strEscaped(start)
		case b < 0x20:
			return "", s.fail("control character in a string")
		}
		s.i++
	}
	return "", s.fail("unterminated string")
}

// strEscaped continues str from the first backslash.
func (s *jsonScanner) strEscaped(start int) (string, error) {
	buf := append(make([]byte, 0, s.i-start+16), s.data[start:s.i]...)
	for s.i < len(s.data) {
		b := s.data[s.i]
		switch {
		case b == '"':
			s.i++
			return string(buf), nil
		case b < 0x20:
			return "", s.fail("control character in a string")
		case b != '\\':
			buf = append(buf, b)
			s.i++
			continue
		}
		s.i++ // the backslash
		switch e := s.peek(); e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r := s.hex4(s.i + 1)
			if r < 0 {
				return "", s.fail(`want 4 hexadecimal digits after \u`)
			}
			s.i += 4
			if utf16.IsSurrogate(r) {
				// A pair is \uD8xx\uDCxx; a surrogate on its own stands for U+FFFD.
				r2 := rune(-1)
				if s.i+2 < len(s.data) && s.data[s.i+1] == '\\' && s.data[s.i+2] == 'u' {
					r2 = s.hex4(s.i + 3)
				}
				if d := utf16.DecodeRune(r, r2); d != unicode.ReplacementChar {
					r = d
					s.i += 6
				} else {
					r = unicode.ReplacementChar
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", s.fail("invalid escape")
		}
		s.i++
	}
	return "", s.fail("unterminated string")
}

// hex4 returns the value of the 4 hexadecimal digits at j, or -1.
func (s *jsonScanner) hex4(j int) rune {
	if j+4 > len(s.data) {
		return -1
	}
	var r rune
	for _, b := range s.data[j : j+4] {
		switch {
		case '0' <= b && b <= '9':
			b -= '0'
		case 'a' <= b && b <= 'f':
			b -= 'a' - 10
		case 'A' <= b && b <= 'F':
			b -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(b)
	}
	return r
}

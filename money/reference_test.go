package money_test

import (
	"bytes"
	"encoding/json"
	"math/big"
	"regexp"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/dddkit/ddd/money"
)

// This file reads the encodings of Money a second way, from their specification, with regular
// expressions, big.Rat and encoding/json, for the fuzz targets to compare the decoders with. A
// reference reading returns the Money, or the sentinel the decoder must return. The order of the
// checks is the decoders' documented one: syntax (the JSON, then the amount, then the code), then
// the currency, then the size of the written amount, then its decimals and its size in the
// currency.

var (
	plainAmountRe = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)
	codeRe        = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{2,11}$`)
	integerRe     = regexp.MustCompile(`^-?[0-9]+$`)
)

// refAmount is an amount as written: its digits (sign and point removed) and its exponent.
type refAmount struct {
	digits   string
	negative bool
	exp      int64
	bigExp   bool // the exponent is beyond ±1000
}

// refReadAmount reads a plain decimal or, with number, a JSON number (already known to be valid
// JSON). ok is false for malformed text.
func refReadAmount(s string, number bool) (a refAmount, ok bool) {
	mantissa, expText := s, ""
	if number {
		if i := strings.IndexAny(s, "eE"); i >= 0 {
			mantissa, expText = s[:i], s[i+1:]
		}
	}
	if !plainAmountRe.MatchString(mantissa) {
		return a, false
	}
	a.negative = strings.HasPrefix(mantissa, "-")
	mantissa = strings.TrimPrefix(mantissa, "-")
	if i := strings.IndexByte(mantissa, '.'); i >= 0 {
		a.exp = -int64(len(mantissa) - i - 1)
		mantissa = mantissa[:i] + mantissa[i+1:]
	}
	a.digits = mantissa
	if expText != "" {
		e, ok := new(big.Int).SetString(strings.TrimPrefix(expText, "+"), 10)
		if !ok {
			return a, false
		}
		if e.CmpAbs(big.NewInt(1000)) > 0 {
			a.bigExp = true
		} else {
			a.exp += e.Int64()
		}
	}
	return a, true
}

// refMoney finishes a reference reading once the currency is known: the size of the written
// amount, then its decimals and its size in c.
func refMoney(a refAmount, c money.Currency) (money.Money, error) {
	if len(a.digits) > money.MaxDigits || a.bigExp {
		return money.Money{}, money.ErrOverflow
	}
	v, _ := new(big.Int).SetString(a.digits, 10)
	if a.negative {
		v.Neg(v)
	}
	units := new(big.Rat).SetInt(v)
	if e := a.exp + int64(c.MinorUnits()); e >= 0 {
		units.Mul(units, new(big.Rat).SetInt(pow10(e)))
	} else {
		units.Quo(units, new(big.Rat).SetInt(pow10(-e)))
	}
	if !units.IsInt() {
		return money.Money{}, money.ErrPrecision
	}
	if units.Num().CmpAbs(limitUnits) >= 0 {
		return money.Money{}, money.ErrOverflow
	}
	m, err := money.New(decimal.NewFromBigInt(units.Num(), -int32(c.MinorUnits())), c)
	if err != nil {
		panic(err) // a whole number of minor units within the limit
	}
	return m, nil
}

// refLookup finds a code in ISO 4217 and, if reg is not nil, in reg.
func refLookup(code string, reg *money.Registry) (money.Currency, error) {
	if c, err := money.Lookup(code); err == nil {
		return c, nil
	}
	if reg != nil {
		if c, err := reg.Lookup(code); err == nil {
			return c, nil
		}
	}
	return money.Currency{}, money.ErrUnknownCurrency
}

// refParse is the reference reading of the text form.
func refParse(s string, reg *money.Registry) (money.Money, error) {
	amount, code, ok := strings.Cut(s, " ")
	if !ok {
		return money.Money{}, money.ErrSyntax
	}
	return refFields(amount, code, reg)
}

// refColumns is the reference reading of the two columns, as strings.
func refColumns(amount, code string, reg *money.Registry) (money.Money, error) {
	return refFields(amount, strings.TrimRight(code, " "), reg)
}

func refFields(amount, code string, reg *money.Registry) (money.Money, error) {
	a, ok := refReadAmount(amount, false)
	if !ok || !codeRe.MatchString(code) {
		return money.Money{}, money.ErrSyntax
	}
	c, err := refLookup(code, reg)
	if err != nil {
		return money.Money{}, err
	}
	return refMoney(a, c)
}

// refJSONObject reads data with encoding/json: whether it is null, or the raw values of a money
// object's names. ok is false for anything else: invalid JSON, another value, a name other than
// the three, or one given twice (which encoding/json would let win), found with a token walk.
func refJSONObject(data []byte) (fields map[string]json.RawMessage, null, ok bool) {
	if !json.Valid(data) {
		return nil, false, false
	}
	trimmed := bytes.Trim(data, " \t\r\n")
	if string(trimmed) == "null" {
		return nil, true, true
	}
	if trimmed[0] != '{' {
		return nil, false, false
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if _, err := dec.Token(); err != nil {
		return nil, false, false
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false, false
		}
		name := tok.(string)
		if seen[name] || (name != "amount" && name != "currency" && name != "minorUnits") {
			return nil, false, false
		}
		seen[name] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, false, false
		}
	}
	if err := json.Unmarshal(trimmed, &fields); err != nil {
		return nil, false, false
	}
	return fields, false, true
}

// refJSON is the reference reading of the JSON form: UnmarshalJSON's with registry false, and
// Registry.ParseJSON's with registry true.
func refJSON(data []byte, reg *money.Registry, registry bool) (money.Money, error) {
	fields, null, ok := refJSONObject(data)
	if !ok {
		return money.Money{}, money.ErrSyntax
	}
	if null {
		return money.Money{}, nil
	}
	amountRaw, hasAmount := fields["amount"]
	codeRaw, hasCode := fields["currency"]
	minorRaw, hasMinor := fields["minorUnits"]
	if !hasAmount || !hasCode || codeRaw[0] != '"' {
		return money.Money{}, money.ErrSyntax
	}
	var amount string
	number := false
	switch b := amountRaw[0]; {
	case b == '"':
		if json.Unmarshal(amountRaw, &amount) != nil {
			return money.Money{}, money.ErrSyntax
		}
	case b == '-' || '0' <= b && b <= '9':
		amount, number = string(amountRaw), true
	default:
		return money.Money{}, money.ErrSyntax
	}
	var code string
	if json.Unmarshal(codeRaw, &code) != nil {
		return money.Money{}, money.ErrSyntax
	}
	var minor *big.Int
	if hasMinor && string(minorRaw) != "null" {
		if !integerRe.Match(minorRaw) {
			return money.Money{}, money.ErrSyntax
		}
		minor, _ = new(big.Int).SetString(string(minorRaw), 10)
	}
	a, ok := refReadAmount(amount, number)
	if !ok || !codeRe.MatchString(code) {
		return money.Money{}, money.ErrSyntax
	}
	var c money.Currency
	var known money.Currency
	var err error
	if registry {
		known, err = refLookup(code, reg)
	} else {
		known, err = refLookup(code, nil)
	}
	switch {
	case err == nil:
		if minor != nil && minor.Cmp(big.NewInt(int64(known.MinorUnits()))) != 0 {
			return money.Money{}, money.ErrInvalidCurrency
		}
		c = known
	case registry, minor == nil:
		return money.Money{}, money.ErrUnknownCurrency
	case minor.Sign() < 0 || minor.Cmp(big.NewInt(18)) > 0:
		return money.Money{}, money.ErrInvalidCurrency
	default:
		if c, err = money.NewCurrency(code, int(minor.Int64())); err != nil {
			panic(err) // a well-formed code that is not ISO 4217, with 0 to 18 minor units
		}
	}
	return refMoney(a, c)
}

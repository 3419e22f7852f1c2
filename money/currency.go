package money

import (
	"fmt"
	"strconv"
)

// Currency is a unit of money: an ISO 4217 currency from the built-in table, or one the caller
// defined with [NewCurrency] (a crypto-asset, loyalty points).
//
// A Currency is a small immutable value, safe to copy and to share between goroutines, and
// comparable with ==. The zero Currency is "no currency": [Currency.IsZero] reports it, and the
// constructors of [Money] reject it with an error wrapping [ErrInvalidCurrency].
type Currency struct {
	code    string
	name    string
	numeric uint16 // ISO 4217 numeric code; 0 for a custom currency
	minor   uint8  // number of decimals of the minor unit
}

// maxMinorUnits bounds the decimals of a custom currency. 18 covers every crypto-asset in use
// (ETH has 18) while keeping one minor unit representable as an int64 power of ten.
const maxMinorUnits = 18

// sameCurrency is a == b, cheaper: the code and the minor units decide the rest, since an ISO
// 4217 code always gives the table's entry and a custom currency's name is its code.
func sameCurrency(a, b Currency) bool { return a.code == b.code && a.minor == b.minor }

// Code returns the canonical upper-case code, such as "USD", or "" for the zero Currency.
func (c Currency) Code() string { return c.code }

// Name returns the English name of an ISO 4217 currency ("US Dollar"), or the name given to
// [NewCurrency].
func (c Currency) Name() string { return c.name }

// Numeric returns the three-digit ISO 4217 numeric code ("840" for USD, "036" for AUD), or "" for
// a custom currency and for the zero Currency.
func (c Currency) Numeric() string {
	if c.numeric == 0 {
		return ""
	}
	return fmt.Sprintf("%03d", c.numeric)
}

// MinorUnits returns the number of decimals of the currency's minor unit: 2 for USD, 0 for JPY,
// 3 for BHD, 4 for CLF.
func (c Currency) MinorUnits() int { return int(c.minor) }

// IsZero reports whether c is the zero Currency.
func (c Currency) IsZero() bool { return c.code == "" }

// IsCustom reports whether c was defined with [NewCurrency] rather than taken from ISO 4217.
func (c Currency) IsCustom() bool { return c.code != "" && c.numeric == 0 }

// String returns the code.
func (c Currency) String() string { return c.code }

// GoString returns a Go-syntax-like form for %#v, such as money.Currency{USD 2}.
func (c Currency) GoString() string {
	return "money.Currency{" + c.code + " " + strconv.Itoa(int(c.minor)) + "}"
}

// isoByCode and isoByNumeric index the generated table. They are built once during package
// initialisation and only read afterwards, so concurrent lookups are safe.
var isoByCode, isoByNumeric = func() (map[string]Currency, map[uint16]Currency) {
	byCode := make(map[string]Currency, len(isoCurrencies))
	byNumeric := make(map[uint16]Currency, len(isoCurrencies))
	for _, c := range isoCurrencies {
		byCode[c.code] = c
		byNumeric[c.numeric] = c
	}
	return byCode, byNumeric
}()

// Lookup returns the ISO 4217 currency with the given alphabetic code, in any case ("usd" and
// "USD" both give USD). An unknown code returns an error wrapping [ErrUnknownCurrency]. Use a
// [Registry] to look up custom currencies as well.
func Lookup(code string) (Currency, error) {
	if c, ok := lookupISO(code); ok {
		return c, nil
	}
	return Currency{}, fmt.Errorf("%w: %s", ErrUnknownCurrency, quote(code))
}

// MustLookup is like [Lookup] but panics on an unknown code. It is meant for package-level
// variables and tests, where the code is a constant.
func MustLookup(code string) Currency {
	c, err := Lookup(code)
	if err != nil {
		panic(err)
	}
	return c
}

// LookupNumeric returns the ISO 4217 currency with the given three-digit numeric code ("840"). An
// unknown or malformed code returns an error wrapping [ErrUnknownCurrency].
func LookupNumeric(numeric string) (Currency, error) {
	if len(numeric) == 3 {
		if n, err := strconv.ParseUint(numeric, 10, 16); err == nil && n > 0 {
			if c, ok := isoByNumeric[uint16(n)]; ok {
				return c, nil
			}
		}
	}
	return Currency{}, fmt.Errorf("%w: numeric code %s", ErrUnknownCurrency, quote(numeric))
}

// Currencies returns every ISO 4217 currency of the built-in table, sorted by code. The slice is
// a fresh copy that the caller may keep and change.
func Currencies() []Currency {
	out := make([]Currency, len(isoCurrencies))
	copy(out, isoCurrencies[:])
	return out
}

// lookupISO finds code in the ISO table, ignoring case, without allocating.
func lookupISO(code string) (Currency, bool) {
	if len(code) != 3 {
		return Currency{}, false
	}
	var up [3]byte
	for i := range 3 {
		up[i] = upper(code[i])
	}
	c, ok := isoByCode[string(up[:])]
	return c, ok
}

func upper(b byte) byte {
	if 'a' <= b && b <= 'z' {
		return b - 'a' + 'A'
	}
	return b
}

// NewCurrency defines a currency that ISO 4217 does not list, such as "BTC" with 8 decimals or
// "POINTS" with 0. The code is 3 to 12 ASCII letters and digits starting with a letter, stored in
// upper case; minorUnits is 0 to 18. Defining a code of the ISO table returns an error wrapping
// [ErrInvalidCurrency]: USD always has 2 decimals. Two calls with the same code and minor units
// give equal currencies.
//
// The built-in table is never changed: to parse or decode custom codes, put them in a
// [Registry] ([Registry.Parse], [Registry.FromColumns], [Registry.ParseJSON]). JSON's encoding of
// a custom-currency [Money] carries its minor units, so [Money.UnmarshalJSON] decodes it without
// a registry, but also makes any currency the JSON describes.
func NewCurrency(code string, minorUnits int) (Currency, error) {
	if len(code) < 3 || len(code) > 12 {
		return Currency{}, fmt.Errorf("%w: code %s must have 3 to 12 characters", ErrInvalidCurrency, quote(code))
	}
	buf := make([]byte, len(code))
	for i := range len(code) {
		b := upper(code[i])
		letter := 'A' <= b && b <= 'Z'
		if !letter && (i == 0 || b < '0' || b > '9') {
			return Currency{}, fmt.Errorf("%w: code %s must be ASCII letters and digits, starting with a letter", ErrInvalidCurrency, quote(code))
		}
		buf[i] = b
	}
	up := string(buf)
	if _, ok := isoByCode[up]; ok {
		return Currency{}, fmt.Errorf("%w: %s is an ISO 4217 currency; use Lookup", ErrInvalidCurrency, up)
	}
	if minorUnits < 0 || minorUnits > maxMinorUnits {
		return Currency{}, fmt.Errorf("%w: %s minor units %d not in 0..%d", ErrInvalidCurrency, up, minorUnits, maxMinorUnits)
	}
	return Currency{code: up, name: up, minor: uint8(minorUnits)}, nil
}

// Registry is an immutable set of custom currencies consulted, after ISO 4217, when parsing,
// decoding and looking up codes. Build one at start-up with [NewRegistry] and share it: it is safe for
// concurrent use, and there is no global to register into. A nil *Registry knows ISO 4217 only.
type Registry struct {
	custom map[string]Currency
}

// NewRegistry returns a registry of the given custom currencies (made with [NewCurrency]). A zero
// or ISO currency, or two currencies with one code, return an error wrapping [ErrInvalidCurrency].
func NewRegistry(custom ...Currency) (*Registry, error) {
	r := &Registry{custom: make(map[string]Currency, len(custom))}
	for _, c := range custom {
		if !c.IsCustom() {
			return nil, fmt.Errorf("%w: %s is not a custom currency", ErrInvalidCurrency, quote(c.code))
		}
		if _, dup := r.custom[c.code]; dup {
			return nil, fmt.Errorf("%w: %s defined twice", ErrInvalidCurrency, c.code)
		}
		r.custom[c.code] = c
	}
	return r, nil
}

// Lookup returns the ISO 4217 or custom currency with the given code, in any case. An unknown
// code returns an error wrapping [ErrUnknownCurrency].
func (r *Registry) Lookup(code string) (Currency, error) {
	if c, ok := lookupISO(code); ok {
		return c, nil
	}
	if r != nil && len(code) <= 12 {
		var buf [12]byte
		for i := range len(code) {
			buf[i] = upper(code[i])
		}
		if c, ok := r.custom[string(buf[:len(code)])]; ok {
			return c, nil
		}
	}
	return Currency{}, fmt.Errorf("%w: %s", ErrUnknownCurrency, quote(code))
}

// Parse is like the package-level [Parse] but also accepts the registry's custom currencies. Its
// errors are those of [Parse].
func (r *Registry) Parse(s string) (Money, error) {
	return parse(s, r.Lookup)
}

// MarshalText encodes the currency as its code.
func (c Currency) MarshalText() ([]byte, error) {
	return []byte(c.code), nil
}

// UnmarshalText decodes an ISO 4217 code, in any case; empty text gives the zero Currency. A
// custom code is an error wrapping [ErrUnknownCurrency]: use [Registry.Lookup] for those.
func (c *Currency) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*c = Currency{}
		return nil
	}
	got, err := Lookup(string(text))
	if err != nil {
		return err
	}
	*c = got
	return nil
}

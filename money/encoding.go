package money

import (
	"database/sql/driver"
	"fmt"
	"strings"
)

// MarshalJSON encodes m as {"amount":"12.34","currency":"USD"}, the amount a string with exactly
// the currency's decimals. A custom currency adds its decimals, {"amount":"0.50000000",
// "currency":"BTC","minorUnits":8}, so that the value decodes without a [Registry], and
// [Registry.ParseJSON] checks them against the registry's. The zero Money is null. It never fails.
func (m Money) MarshalJSON() ([]byte, error) {
	if m.currency.IsZero() {
		return []byte("null"), nil
	}
	b := make([]byte, 0, 48)
	b = append(b, `{"amount":"`...)
	b = m.appendAmount(b)
	b = append(b, `","currency":"`...)
	b = append(b, m.currency.code...)
	b = append(b, '"')
	if m.currency.IsCustom() {
		b = append(b, `,"minorUnits":`...)
		b = fmt.Appendf(b, "%d", m.currency.minor)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON decodes what [Money.MarshalJSON] writes, and null, which gives the zero Money.
// The object has the fields "amount" and "currency" and, optionally, "minorUnits"; their names are
// matched exactly (not "Amount"), each appears once, and no other field is allowed. The amount is
// a string or a JSON number, read exactly, never through float64; the currency a string, a code of
// 3 to 12 ASCII letters and digits in any case; "minorUnits" an integer or null. Strings are read
// as JSON defines them, escapes included: "\u0055SD" is USD. On error m is unchanged.
//
// An ISO 4217 code gives its currency, and "minorUnits", if given, must match it. Any other code
// gives the custom currency [NewCurrency] makes of it and "minorUnits": UnmarshalJSON cannot know
// the currencies your program defined, so {"amount":"1","currency":"BTC","minorUnits":2} decodes
// to an amount in a BTC of 2 decimals, another currency than a BTC of 8 (amounts in the two are
// never Equal, and arithmetic between them fails with [ErrCurrencyMismatch]). To accept only ISO
// 4217 and the currencies of a [Registry], with the minor units it defines, decode with
// [Registry.ParseJSON], or declare the field as [Registered].
//
// Errors: malformed JSON, another value than an object or null, unknown, repeated or missing
// fields, a value of the wrong type, data after the object, a malformed amount or code wrap
// [ErrSyntax]; a custom code without "minorUnits" wraps [ErrUnknownCurrency]; "minorUnits" that
// contradict ISO 4217 or are not in 0..18 wrap [ErrInvalidCurrency]; too many decimals wrap
// [ErrPrecision]; an amount of more than [MaxDigits] digits, written or with the currency's
// decimals, or a number whose exponent is beyond ±1000, wraps [ErrOverflow].
func (m *Money) UnmarshalJSON(data []byte) error {
	got, err := decodeJSON(data, nil, false)
	if err != nil {
		return err
	}
	*m = got
	return nil
}

// ParseJSON decodes the JSON form of Money against the registry: it is [Money.UnmarshalJSON],
// except for the currencies it accepts. An ISO 4217 code gives its currency and a code of r's
// custom currencies gives that currency; "minorUnits", if given, must match their minor units, or
// the error wraps [ErrInvalidCurrency]. Any other code is an error wrapping [ErrUnknownCurrency],
// whatever its "minorUnits": JSON cannot make a currency the registry does not have. null gives
// the zero Money. A nil *Registry knows ISO 4217 only. The other errors are those of
// [Money.UnmarshalJSON].
func (r *Registry) ParseJSON(data []byte) (Money, error) {
	return decodeJSON(data, r, true)
}

// Registered is a Money that encoding/json decodes against a [Registry], for a field of a struct
// that JSON brings custom currencies into: set Registry before decoding, read Money after. Its
// UnmarshalJSON is [Registry.ParseJSON], and keeps Registry; its MarshalJSON is
// [Money.MarshalJSON]. A Registered that encoding/json makes itself (the element of a slice, a nil
// pointer it fills) has no registry, and so accepts ISO 4217 currencies only.
//
// The zero Registered is the zero Money and no registry. Like a Money, it is safe to share
// between goroutines while nothing decodes into it.
type Registered struct {
	Money    Money
	Registry *Registry
}

// UnmarshalJSON decodes data with [Registry.ParseJSON] into v.Money; on error v is unchanged.
func (v *Registered) UnmarshalJSON(data []byte) error {
	m, err := v.Registry.ParseJSON(data)
	if err != nil {
		return err
	}
	v.Money = m
	return nil
}

// MarshalJSON encodes v.Money as [Money.MarshalJSON] does.
func (v Registered) MarshalJSON() ([]byte, error) { return v.Money.MarshalJSON() }

// MarshalText encodes m in the canonical form of [Money.String]; the zero Money is empty text.
// It never fails.
func (m Money) MarshalText() ([]byte, error) {
	if m.currency.IsZero() {
		return nil, nil
	}
	return []byte(m.String()), nil
}

// UnmarshalText decodes the canonical form with [Parse], whose errors it returns; empty text
// gives the zero Money. On error m is unchanged.
func (m *Money) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*m = Money{}
		return nil
	}
	got, err := Parse(string(text))
	if err != nil {
		return err
	}
	*m = got
	return nil
}

// Value implements [driver.Valuer]: the canonical form "12.34 USD" for a text column, or NULL for
// the zero Money. It never fails. For the two-column layout use [Money.Columns].
func (m Money) Value() (driver.Value, error) {
	if m.currency.IsZero() {
		return nil, nil
	}
	return m.String(), nil
}

// Scan implements [database/sql.Scanner] for a text column holding the canonical form; NULL gives
// the zero Money. Errors are those of [Parse] (another type than string or []byte wraps
// [ErrSyntax]); on error m is unchanged. A column holding custom currencies is read as a string
// and parsed with [Registry.Parse].
func (m *Money) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case nil:
		*m = Money{}
		return nil
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("%w: cannot scan %T into money.Money", ErrSyntax, src)
	}
	got, err := Parse(s)
	if err != nil {
		return err
	}
	*m = got
	return nil
}

// Columns returns m for the usual two-column layout, an exact decimal amount column (NUMERIC,
// DECIMAL, or TEXT on SQLite) and a currency code column (CHAR(3)): the amount as a decimal string
// with the currency's decimals, and the code. The zero Money gives two NULLs.
//
//	amount, currency := m.Columns()
//	_, err := db.ExecContext(ctx, "INSERT INTO payment (id, amount, currency) VALUES ($1, $2, $3)", id, amount, currency)
func (m Money) Columns() (amount, currency driver.Value) {
	if m.currency.IsZero() {
		return nil, nil
	}
	return string(m.appendAmount(nil)), m.currency.code
}

// FromColumns builds Money from the two columns of [Money.Columns], as the driver returned them:
// scan both into `any` variables and pass them here.
//
//	var amount, currency any
//	err := row.Scan(&amount, &currency)
//	m, err := money.FromColumns(amount, currency)
//
// The amount may come as a string, []byte or int64; a float64 is refused (error wrapping
// [ErrSyntax]) because it has already lost exactness: store amounts in NUMERIC/DECIMAL columns,
// or TEXT on SQLite, whose NUMERIC affinity keeps floats. The currency may be padded with trailing
// spaces, as a CHAR(n) column pads it; any other blank, or a code that is not 3 to 12 ASCII
// letters and digits starting with a letter, is an error wrapping [ErrSyntax]. Two NULLs give the
// zero Money, one NULL is an error wrapping [ErrSyntax]; a well-formed code that is not ISO 4217 is
// one wrapping [ErrUnknownCurrency]; the other errors are those of [FromString].
func FromColumns(amount, currency any) (Money, error) {
	return fromColumns(amount, currency, Lookup)
}

// FromColumns is like the package-level [FromColumns] but also accepts the registry's custom
// currencies. Its errors are those of [FromColumns].
func (r *Registry) FromColumns(amount, currency any) (Money, error) {
	return fromColumns(amount, currency, r.Lookup)
}

func fromColumns(amount, currency any, lookup func(string) (Currency, error)) (Money, error) {
	if amount == nil && currency == nil {
		return Money{}, nil
	}
	var a string
	switch v := amount.(type) {
	case string:
		a = v
	case []byte:
		a = string(v)
	case int64:
		a = fmt.Sprint(v)
	case nil:
		return Money{}, fmt.Errorf("%w: NULL amount with a currency", ErrSyntax)
	case float64, float32:
		return Money{}, fmt.Errorf("%w: amount %v came as a float and may have lost exactness; store it as NUMERIC/DECIMAL, or TEXT on SQLite", ErrSyntax, v)
	default:
		return Money{}, fmt.Errorf("%w: cannot read an amount from %T", ErrSyntax, amount)
	}
	var code string
	switch v := currency.(type) {
	case string:
		code = v
	case []byte:
		code = string(v)
	case nil:
		return Money{}, fmt.Errorf("%w: NULL currency with an amount", ErrSyntax)
	default:
		return Money{}, fmt.Errorf("%w: cannot read a currency code from %T", ErrSyntax, currency)
	}
	return decode(a, false, strings.TrimRight(code, " "), lookup) // CHAR(n) padding
}

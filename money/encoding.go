package money

import (
	"bytes"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strings"
)

// jsonMoney is the JSON shape of Money.
type jsonMoney struct {
	Amount     json.RawMessage `json:"amount"`
	Currency   *string         `json:"currency"`
	MinorUnits *int            `json:"minorUnits,omitempty"`
}

// MarshalJSON encodes m as {"amount":"12.34","currency":"USD"}, the amount a string with exactly
// the currency's decimals. A custom currency adds its decimals, {"amount":"0.50000000",
// "currency":"BTC","minorUnits":8}, so that the value decodes without a [Registry]. The zero
// Money is null.
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

// UnmarshalJSON decodes what [Money.MarshalJSON] writes. The amount may be a string or a JSON
// number; either is read exactly, never through float64. The currency is an ISO 4217 code in any
// case, or any valid custom code together with "minorUnits". null gives the zero Money. Unknown
// fields, a missing amount or currency and malformed amounts are errors wrapping [ErrSyntax]; an
// unknown code one wrapping [ErrUnknownCurrency]; "minorUnits" that contradict ISO 4217 one
// wrapping [ErrInvalidCurrency]; too many decimals one wrapping [ErrPrecision]; an amount of more
// than 64 digits one wrapping [ErrOverflow]. On error m is unchanged.
func (m *Money) UnmarshalJSON(data []byte) error {
	data = bytes.Trim(data, " \t\r\n") // JSON's whitespace only, not U+0085 or U+00A0
	if string(data) == "null" {
		*m = Money{}
		return nil
	}
	var v jsonMoney
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	if dec.InputOffset() != int64(len(data)) {
		return fmt.Errorf("%w: data after the money object", ErrSyntax)
	}
	if len(v.Amount) == 0 || string(v.Amount) == "null" || v.Currency == nil {
		return fmt.Errorf("%w: money needs both \"amount\" and \"currency\"", ErrSyntax)
	}
	var amount string
	number := v.Amount[0] != '"'
	if number {
		amount = string(v.Amount)
	} else if err := json.Unmarshal(v.Amount, &amount); err != nil {
		return fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	d, err := parseAmount(amount, number)
	if err != nil {
		return err
	}
	c, err := jsonCurrency(*v.Currency, v.MinorUnits)
	if err != nil {
		return err
	}
	got, err := newDecoded(d, c, amount)
	if err != nil {
		return err
	}
	*m = got
	return nil
}

func jsonCurrency(code string, minor *int) (Currency, error) {
	if c, ok := lookupISO(code); ok {
		if minor != nil && *minor != c.MinorUnits() {
			return Currency{}, fmt.Errorf("%w: %s has %d minor units, not %d", ErrInvalidCurrency, c.code, c.minor, *minor)
		}
		return c, nil
	}
	if minor == nil {
		return Currency{}, fmt.Errorf("%w: %q (a custom currency needs \"minorUnits\")", ErrUnknownCurrency, code)
	}
	return NewCurrency(code, *minor)
}

// MarshalText encodes m in the canonical form of [Money.String]; the zero Money is empty text.
func (m Money) MarshalText() ([]byte, error) {
	if m.currency.IsZero() {
		return nil, nil
	}
	return []byte(m.String()), nil
}

// UnmarshalText decodes the canonical form with [Parse]; empty text gives the zero Money. On
// error m is unchanged.
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
// the zero Money. For the two-column layout use [Money.Columns].
func (m Money) Value() (driver.Value, error) {
	if m.currency.IsZero() {
		return nil, nil
	}
	return m.String(), nil
}

// Scan implements [database/sql.Scanner] for a text column holding the canonical form; NULL gives
// the zero Money. Errors are those of [Parse]; on error m is unchanged. A column holding custom
// currencies is read as a string and parsed with [Registry.Parse].
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
// or TEXT on SQLite, whose NUMERIC affinity keeps floats. Two NULLs give the zero Money, one NULL
// is an error wrapping [ErrSyntax]; the other errors are those of [FromString] and [Lookup].
func FromColumns(amount, currency any) (Money, error) {
	return fromColumns(amount, currency, Lookup)
}

// FromColumns is like the package-level [FromColumns] but also accepts the registry's custom
// currencies.
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
		return Money{}, fmt.Errorf("%w: NULL amount with currency %v", ErrSyntax, currency)
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
		return Money{}, fmt.Errorf("%w: NULL currency with amount %s", ErrSyntax, quote(a))
	default:
		return Money{}, fmt.Errorf("%w: cannot read a currency code from %T", ErrSyntax, currency)
	}
	d, err := parseAmount(a, false)
	if err != nil {
		return Money{}, err
	}
	c, err := lookup(strings.TrimRight(code, " "))
	if err != nil {
		return Money{}, err
	}
	return newDecoded(d, c, a)
}

package money_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/dddkit/ddd/money"
)

func Example() {
	price := money.MustParse("19.99 EUR")
	shipping := money.MustParse("4.50 EUR")

	total, err := price.Add(shipping)
	if err != nil {
		panic(err)
	}
	vat, err := total.Mul(decimal.RequireFromString("0.21"), money.HalfEven)
	if err != nil {
		panic(err)
	}
	fmt.Println("total:", total)
	fmt.Println("VAT:  ", vat)

	_, err = total.Add(money.MustParse("1.00 USD"))
	fmt.Println(errors.Is(err, money.ErrCurrencyMismatch))
	// Output:
	// total: 24.49 EUR
	// VAT:   5.14 EUR
	// true
}

func ExampleLookup() {
	for _, code := range []string{"usd", "JPY", "BHD", "CLF", "XYZ"} {
		c, err := money.Lookup(code)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(c.Code(), c.Numeric(), c.MinorUnits(), c.Name())
	}
	// Output:
	// USD 840 2 US Dollar
	// JPY 392 0 Yen
	// BHD 048 3 Bahraini Dinar
	// CLF 990 4 Unidad de Fomento
	// money: unknown currency: "XYZ"
}

func ExampleNewCurrency() {
	btc, err := money.NewCurrency("BTC", 8)
	if err != nil {
		panic(err)
	}
	sats, _ := money.FromMinorUnits(150_000, btc)
	fmt.Println(sats)

	// Custom currencies are parsed through a Registry; the built-in table never changes.
	reg, err := money.NewRegistry(btc)
	if err != nil {
		panic(err)
	}
	m, err := reg.Parse("0.5 btc")
	fmt.Println(m, err)

	_, err = money.NewCurrency("USD", 8)
	fmt.Println(err)
	// Output:
	// 0.00150000 BTC
	// 0.50000000 BTC <nil>
	// money: invalid currency: USD is an ISO 4217 currency; use Lookup
}

func ExampleNew() {
	usd := money.MustLookup("USD")

	m, err := money.New(decimal.RequireFromString("12.5"), usd)
	fmt.Println(m, err)

	_, err = money.New(decimal.RequireFromString("12.345"), usd)
	fmt.Println(errors.Is(err, money.ErrPrecision))
	// Output:
	// 12.50 USD <nil>
	// true
}

func ExampleNewRounded() {
	usd := money.MustLookup("USD")
	d := decimal.RequireFromString("2.345")
	for _, mode := range []money.Rounding{money.HalfEven, money.HalfUp, money.Down} {
		m, _ := money.NewRounded(d, usd, mode)
		fmt.Println(mode, m)
	}
	// Output:
	// HalfEven 2.34 USD
	// HalfUp 2.35 USD
	// Down 2.34 USD
}

func ExampleFromMinorUnits() {
	for _, code := range []string{"USD", "JPY", "KWD"} {
		m, _ := money.FromMinorUnits(1234, money.MustLookup(code))
		fmt.Println(m)
	}
	// Output:
	// 12.34 USD
	// 1234 JPY
	// 1.234 KWD
}

func ExampleParse() {
	m, err := money.Parse("-0.5 chf")
	fmt.Println(m, err)

	_, err = money.Parse("12,50 EUR")
	fmt.Println(errors.Is(err, money.ErrSyntax))
	// Output:
	// -0.50 CHF <nil>
	// true
}

func ExampleSum() {
	eur := money.MustLookup("EUR")
	total, err := money.Sum(eur, money.MustParse("1.10 EUR"), money.MustParse("2.20 EUR"), money.MustParse("-0.30 EUR"))
	fmt.Println(total, err)
	// Output:
	// 3.00 EUR <nil>
}

func ExampleMoney_Mul() {
	balance := money.MustParse("1000.00 USD")
	rate := decimal.RequireFromString("0.0125") // 1.25 %

	interest, err := balance.Mul(rate, money.HalfEven)
	fmt.Println(interest, err)

	_, err = money.MustParse("10.01 USD").Mul(decimal.RequireFromString("0.5"), money.Exact)
	fmt.Println(errors.Is(err, money.ErrPrecision))
	// Output:
	// 12.50 USD <nil>
	// true
}

func ExampleMoney_Div() {
	m, err := money.MustParse("100.00 USD").Div(decimal.NewFromInt(3), money.HalfEven)
	fmt.Println(m, err)
	// Output:
	// 33.33 USD <nil>
}

func ExampleMoney_Convert() {
	jpy := money.MustLookup("JPY")
	m, err := money.MustParse("10.00 USD").Convert(jpy, decimal.RequireFromString("151.237"), money.HalfEven)
	fmt.Println(m, err)
	// Output:
	// 1512 JPY <nil>
}

func ExampleMoney_RoundTo() {
	// Swiss cash payments round to 5 centimes.
	step := decimal.RequireFromString("0.05")
	for _, s := range []string{"1.02 CHF", "1.03 CHF", "1.08 CHF"} {
		m, _ := money.MustParse(s).RoundTo(step, money.HalfUp)
		fmt.Println(s, "->", m)
	}
	// Output:
	// 1.02 CHF -> 1.00 CHF
	// 1.03 CHF -> 1.05 CHF
	// 1.08 CHF -> 1.10 CHF
}

func ExampleMoney_Allocate() {
	parts, err := money.MustParse("100.00 USD").Allocate(1, 1, 1)
	fmt.Println(parts, err)

	parts, _ = money.MustParse("-100.00 USD").Allocate(1, 1, 1)
	fmt.Println(parts)

	parts, _ = money.MustParse("0.05 EUR").Allocate(70, 30)
	fmt.Println(parts)
	// Output:
	// [33.34 USD 33.33 USD 33.33 USD] <nil>
	// [-33.34 USD -33.33 USD -33.33 USD]
	// [0.04 EUR 0.01 EUR]
}

func ExampleMoney_Split() {
	parts, _ := money.MustParse("10 JPY").Split(4)
	fmt.Println(parts)
	// Output:
	// [3 JPY 3 JPY 2 JPY 2 JPY]
}

func ExampleMoney_MinorUnits() {
	units, err := money.MustParse("12.34 USD").MinorUnits()
	fmt.Println(units, err)

	_, err = money.MustParse("100000000000000000000.00 USD").MinorUnits()
	fmt.Println(errors.Is(err, money.ErrOverflow))
	// Output:
	// 1234 <nil>
	// true
}

func ExampleMoney_MarshalJSON() {
	type Payment struct {
		Amount money.Money  `json:"amount"`
		Fee    *money.Money `json:"fee"`
	}
	b, _ := json.Marshal(Payment{Amount: money.MustParse("12.30 USD")})
	fmt.Println(string(b))

	var p Payment
	err := json.Unmarshal([]byte(`{"amount":{"amount":12.3,"currency":"usd"}}`), &p)
	fmt.Println(p.Amount, err)

	err = json.Unmarshal([]byte(`{"amount":{"amount":"12.345","currency":"USD"}}`), &p)
	fmt.Println(errors.Is(err, money.ErrPrecision))
	// Output:
	// {"amount":{"amount":"12.30","currency":"USD"},"fee":null}
	// 12.30 USD <nil>
	// true
}

func ExampleFromColumns() {
	m := money.MustParse("12.30 USD")
	amount, currency := m.Columns()
	fmt.Println(amount, currency)

	// What a MySQL driver returns for DECIMAL and CHAR columns:
	back, err := money.FromColumns([]byte("12.30"), []byte("USD"))
	fmt.Println(back, err)

	// SQLite's NUMERIC affinity hands back a float: refused, it may have lost exactness.
	_, err = money.FromColumns(12.3, "USD")
	fmt.Println(errors.Is(err, money.ErrSyntax))
	// Output:
	// 12.30 USD
	// 12.30 USD <nil>
	// true
}

func ExampleMoney_Scan() {
	var m money.Money
	err := m.Scan([]byte("99.95 GBP"))
	fmt.Println(m, err)

	v, _ := m.Value()
	fmt.Println(v)
	// Output:
	// 99.95 GBP <nil>
	// 99.95 GBP
}

func ExampleRounding() {
	jpy := money.MustLookup("JPY")
	modes := []money.Rounding{money.HalfEven, money.HalfUp, money.HalfDown, money.Up, money.Down, money.Ceiling, money.Floor}
	for _, s := range []string{"2.5", "-2.5", "2.1"} {
		fmt.Printf("%5s:", s)
		for _, mode := range modes {
			m, _ := money.NewRounded(decimal.RequireFromString(s), jpy, mode)
			fmt.Printf(" %s=%s", mode, m.Amount())
		}
		fmt.Println()
	}
	// Output:
	//   2.5: HalfEven=2 HalfUp=3 HalfDown=2 Up=3 Down=2 Ceiling=3 Floor=2
	//  -2.5: HalfEven=-2 HalfUp=-3 HalfDown=-2 Up=-3 Down=-2 Ceiling=-2 Floor=-3
	//   2.1: HalfEven=2 HalfUp=2 HalfDown=2 Up=3 Down=2 Ceiling=3 Floor=2
}

func ExampleMoney_zero() {
	var m money.Money // the zero Money: zero in no currency
	fmt.Println(m, m.IsZero())

	b, _ := json.Marshal(m)
	fmt.Println(string(b))

	_, err := m.Add(money.MustParse("1.00 USD"))
	fmt.Println(errors.Is(err, money.ErrCurrencyMismatch))
	// Output:
	// 0 true
	// null
	// true
}

func Example_maxDigits() {
	top := money.MustParse("99999999999999999999999999999999999999999999999999999999999999.99 USD")
	_, err := top.Add(money.MustParse("0.01 USD"))
	fmt.Println(money.MaxDigits, errors.Is(err, money.ErrOverflow))

	_, err = money.MustParse("1.00 USD").Split(money.MaxParts + 1)
	fmt.Println(errors.Is(err, money.ErrInvalidArgument))
	// Output:
	// 64 true
	// true
}

func ExampleRegistry_ParseJSON() {
	btc, _ := money.NewCurrency("BTC", 8)
	reg, _ := money.NewRegistry(btc)

	m, err := reg.ParseJSON([]byte(`{"amount":"0.5","currency":"BTC","minorUnits":8}`))
	fmt.Println(m, err)

	// A BTC of other minor units is not the registry's.
	_, err = reg.ParseJSON([]byte(`{"amount":"0.5","currency":"BTC","minorUnits":2}`))
	fmt.Println(errors.Is(err, money.ErrInvalidCurrency))

	// Nor is a currency the registry does not have, whatever the JSON says of it.
	_, err = reg.ParseJSON([]byte(`{"amount":"1","currency":"DOGE","minorUnits":8}`))
	fmt.Println(errors.Is(err, money.ErrUnknownCurrency))

	// Money.UnmarshalJSON would have made both.
	var loose money.Money
	err = json.Unmarshal([]byte(`{"amount":"0.5","currency":"BTC","minorUnits":2}`), &loose)
	fmt.Println(loose, err, loose.Currency() == btc)
	// Output:
	// 0.50000000 BTC <nil>
	// true
	// true
	// 0.50 BTC <nil> false
}

func ExampleRegistered() {
	btc, _ := money.NewCurrency("BTC", 8)
	reg, _ := money.NewRegistry(btc)

	type Withdrawal struct {
		Amount money.Registered `json:"amount"`
	}
	w := Withdrawal{Amount: money.Registered{Registry: reg}}
	err := json.Unmarshal([]byte(`{"amount":{"amount":"0.1","currency":"btc"}}`), &w)
	fmt.Println(w.Amount.Money, err)

	err = json.Unmarshal([]byte(`{"amount":{"amount":"0.1","currency":"BTC","minorUnits":2}}`), &w)
	fmt.Println(errors.Is(err, money.ErrInvalidCurrency), w.Amount.Money)

	b, _ := json.Marshal(w)
	fmt.Println(string(b))
	// Output:
	// 0.10000000 BTC <nil>
	// true 0.10000000 BTC
	// {"amount":{"amount":"0.10000000","currency":"BTC","minorUnits":8}}
}

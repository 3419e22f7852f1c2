package money_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/dddkit/ddd/money"
)

// Each benchmark has a "money" variant and a "decimal" variant doing the same job with raw
// decimal.Decimal, the yardstick. Compare them with:
//
//	go test ./money -run '^$' -bench . -benchmem -count 6 | go run ./internal/benchratio -base decimal

var (
	sinkMoney   money.Money
	sinkMoneys  []money.Money
	sinkDecimal decimal.Decimal
	sinkDecs    []decimal.Decimal
	sinkBytes   []byte
	sinkErr     error
)

func BenchmarkAdd(b *testing.B) {
	x, y := money.MustParse("1234.56 USD"), money.MustParse("78.90 USD")
	dx, dy := x.Amount(), y.Amount()
	b.Run("money", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkMoney, sinkErr = x.Add(y)
		}
	})
	b.Run("decimal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkDecimal = dx.Add(dy)
		}
	})
}

func BenchmarkMulRounded(b *testing.B) {
	x := money.MustParse("1234.56 USD")
	dx := x.Amount()
	rate := decimal.RequireFromString("0.0375")
	b.Run("money", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkMoney, sinkErr = x.Mul(rate, money.HalfEven)
		}
	})
	b.Run("decimal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkDecimal = dx.Mul(rate).RoundBank(2)
		}
	})
}

// naiveAllocate is what code on raw decimals typically does: every part gets the rounded share,
// the first absorbs the difference.
func naiveAllocate(d decimal.Decimal, n int) []decimal.Decimal {
	parts := make([]decimal.Decimal, n)
	share := d.DivRound(decimal.NewFromInt(int64(n)), 2)
	rest := d
	for i := 1; i < n; i++ {
		parts[i] = share
		rest = rest.Sub(share)
	}
	parts[0] = rest
	return parts
}

func BenchmarkAllocate3(b *testing.B) {
	x := money.MustParse("100.00 USD")
	dx := x.Amount()
	b.Run("money", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkMoneys, sinkErr = x.Allocate(1, 1, 1)
		}
	})
	b.Run("decimal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkDecs = naiveAllocate(dx, 3)
		}
	})
}

func BenchmarkSplit10(b *testing.B) {
	x := money.MustParse("1000.07 USD")
	dx := x.Amount()
	b.Run("money", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkMoneys, sinkErr = x.Split(10)
		}
	})
	b.Run("decimal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkDecs = naiveAllocate(dx, 10)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	b.Run("money", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkMoney, sinkErr = money.Parse("1234.56 USD")
		}
	})
	b.Run("decimal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkDecimal, sinkErr = decimal.NewFromString("1234.56")
		}
	})
}

func BenchmarkMarshalJSON(b *testing.B) {
	x := money.MustParse("1234.56 USD")
	dx := x.Amount()
	b.Run("money", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkBytes, sinkErr = x.MarshalJSON()
		}
	})
	b.Run("decimal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkBytes, sinkErr = dx.MarshalJSON()
		}
	})
}

// BenchmarkUnmarshalJSON decodes {"amount":"1234.56","currency":"USD"}: "money" is
// Money.UnmarshalJSON, which scans the object itself; "structjson" is how it decoded before, with
// encoding/json into a struct (a Decoder refusing unknown fields) and then the amount's text;
// "decimal" is what code on raw decimals does, encoding/json into a decimal and a code.
func BenchmarkUnmarshalJSON(b *testing.B) {
	data := []byte(`{"amount":"1234.56","currency":"USD"}`)
	b.Run("money", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkErr = sinkMoney.UnmarshalJSON(data)
		}
	})
	b.Run("structjson", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v struct {
				Amount     json.RawMessage `json:"amount"`
				Currency   *string         `json:"currency"`
				MinorUnits *int            `json:"minorUnits,omitempty"`
			}
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			if sinkErr = dec.Decode(&v); sinkErr != nil {
				b.Fatal(sinkErr)
			}
			var amount string
			if sinkErr = json.Unmarshal(v.Amount, &amount); sinkErr != nil {
				b.Fatal(sinkErr)
			}
			c, err := money.Lookup(*v.Currency)
			if err != nil {
				b.Fatal(err)
			}
			sinkMoney, sinkErr = money.FromString(amount, c)
		}
	})
	b.Run("decimal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v struct {
				Amount   decimal.Decimal `json:"amount"`
				Currency string          `json:"currency"`
			}
			sinkErr = json.Unmarshal(data, &v)
			sinkDecimal = v.Amount
		}
	})
}

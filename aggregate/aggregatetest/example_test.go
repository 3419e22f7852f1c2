package aggregatetest_test

import (
	"fmt"
	"testing"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/aggregate/aggregatetest"
)

// SKU is the ID type of Stock.
type SKU string

// Stock counts the units of one product in a warehouse.
type Stock struct {
	aggregate.Root[SKU]
	Units int `json:"units"`
}

// AggregateType is Stock's stable name.
func (*Stock) AggregateType() string { return "Stock" }

var ErrOutOfStock = aggregate.NewRule("out_of_stock", "not enough units in stock")

type Received struct {
	Units int `json:"units"`
}

func (Received) EventName() string { return "warehouse.Received" }

type Shipped struct {
	Units int `json:"units"`
}

func (Shipped) EventName() string { return "warehouse.Shipped" }

func NewStock(sku SKU) (*Stock, error) {
	root, err := aggregate.NewRoot(sku)
	if err != nil {
		return nil, err
	}
	return &Stock{Root: root}, nil
}

func (s *Stock) Ship(units int) error {
	if units > s.Units {
		return fmt.Errorf("%w: %d in stock, %d to ship", ErrOutOfStock, s.Units, units)
	}
	s.Units -= units
	s.Record(Shipped{Units: units})
	return nil
}

// Apply rebuilds a Stock from its history, for GivenEvents.
func (s *Stock) Apply(e aggregate.Event) error {
	switch e := e.(type) {
	case Received:
		s.Units += e.Units
	case Shipped:
		s.Units -= e.Units
	default:
		return fmt.Errorf("unknown event %T", e)
	}
	return nil
}

// printTB reports failures by printing them. Examples have no *testing.T; tests pass theirs.
type printTB struct {
	testing.TB
	failed bool
}

func (*printTB) Helper() {}

func (tb *printTB) Errorf(format string, args ...any) {
	tb.failed = true
	fmt.Printf("FAIL: "+format+"\n", args...)
}

func (tb *printTB) Fatalf(format string, args ...any) {
	tb.Errorf(format, args...)
	panic("fatal failure") // a real testing.T stops the test here
}

func (tb *printTB) result() string {
	if tb.failed {
		return "failed"
	}
	return "ok"
}

// fresh returns a new, empty Stock for GivenEvents.
func fresh() *Stock {
	s, err := NewStock("sku-1")
	if err != nil {
		panic(err)
	}
	return s
}

func ExampleGivenEvents() {
	// Shipping what is in stock records Shipped.
	tb := &printTB{}
	stock := aggregatetest.GivenEvents(tb, fresh, Received{Units: 10}, Shipped{Units: 3}).
		When(func(s *Stock) error { return s.Ship(5) }).
		Then(Shipped{Units: 5})
	fmt.Println(tb.result(), "- units left:", stock.Units)
	// Output:
	// ok - units left: 2
}

func ExampleGiven() {
	// Shipping more than is in stock fails and changes nothing.
	tb := &printTB{}
	aggregatetest.Given(tb, func() (*Stock, error) {
		s, err := NewStock("sku-1")
		if err == nil {
			s.Units = 2
		}
		return s, err
	}).
		When(func(s *Stock) error { return s.Ship(5) }).
		ThenError(ErrOutOfStock)
	fmt.Println(tb.result())
	// Output:
	// ok
}

func ExampleOutcome_Then() {
	// A wrong expectation is reported.
	tb := &printTB{}
	aggregatetest.GivenEvents(tb, fresh, Received{Units: 10}).
		When(func(s *Stock) error { return s.Ship(1) }).
		Then(Shipped{Units: 2})
	fmt.Println(tb.result())
	// Output:
	// FAIL: aggregatetest: event 0 differs
	// want: aggregatetest_test.Shipped {"units":2}
	// got:  aggregatetest_test.Shipped {"units":1}
	// failed
}

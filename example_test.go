package ddd_test

import (
	"errors"
	"fmt"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/money"
)

type CartID string

type Cart struct {
	aggregate.Root[CartID]
	Total money.Money `json:"total"`
}

// AggregateType is Cart's stable name: its storage kind and the topic of its events.
func (*Cart) AggregateType() string { return "Cart" }

type ItemAdded struct {
	Price money.Money `json:"price"`
}

func (ItemAdded) EventName() string { return "shop.ItemAdded" }

var ErrCurrency = aggregate.NewRule("currency", "the cart takes one currency")

func (c *Cart) Add(price money.Money) error {
	total, err := c.Total.Add(price)
	if errors.Is(err, money.ErrCurrencyMismatch) {
		return fmt.Errorf("%w: %v", ErrCurrency, err)
	}
	if err != nil {
		return err
	}
	c.Total = total
	c.Record(ItemAdded{Price: price})
	return nil
}

// Example shows the two foundation packages together: an aggregate whose state is Money,
// which records an event per change and refuses a change that breaks its rule.
func Example() {
	root, _ := aggregate.NewRoot[CartID]("cart-1")
	cart := &Cart{Root: root, Total: money.Zero(money.MustLookup("EUR"))}

	_ = cart.Add(money.MustParse("9.99 EUR"))
	_ = cart.Add(money.MustParse("0.01 EUR"))
	err := cart.Add(money.MustParse("5.00 USD"))

	fmt.Println(cart.Total, len(cart.Recorded()), "events")
	fmt.Println(errors.Is(err, aggregate.ErrRule), err)
	// Output:
	// 10.00 EUR 2 events
	// true the cart takes one currency: money: currency mismatch: EUR and USD
}

package uowtest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/memuow"
	"github.com/dddkit/ddd/uow/uowtest"
)

// A driver package runs the suite from one test of its own; newDriver returns a fresh, empty
// driver for each clause.
func ExampleRun() {
	testConformance := func(t *testing.T) {
		uowtest.Run(t, func(*testing.T) driver.Driver { return memuow.New(nil) })
	}
	_ = testConformance // in a driver's test file: func TestConformance(t *testing.T) { ... }
}

// The suite reads committed outbox messages through OutboxReader; memuow's Driver implements it.
func ExampleOutboxReader() {
	d := memuow.New(nil)
	store := uow.NewStore(d, nil)
	err := uow.Do(context.Background(), store, func(ctx context.Context, u *uow.Unit) error {
		return u.Emit(uow.Message{Topic: "billing", Key: "invoice-7", Name: "billing.SendInvoice", Payload: []byte(`{"invoice":7}`)})
	}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	var r uowtest.OutboxReader = d
	for _, m := range r.Messages() {
		fmt.Println(m.Topic, m.Key, m.Name, string(m.Payload))
	}
	// Output: billing invoice-7 billing.SendInvoice {"invoice":7}
}

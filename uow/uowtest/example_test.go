package uowtest_test

import (
	"context"
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

// A test reads the outbox of any driver with Messages: every message committed and not yet
// acknowledged, in commit order, read through driver.Operator's Pending. An error fails the test.
func ExampleMessages() {
	testEmit := func(t *testing.T) {
		d := memuow.New(nil) // or a SQL driver on a fresh schema
		store := uow.NewStore(d, nil)
		err := uow.Do(t.Context(), store, func(ctx context.Context, u *uow.Unit) error {
			return u.Emit(uow.Message{Topic: "billing", Key: "invoice-7", Name: "billing.SendInvoice", Payload: []byte(`{"invoice":7}`)})
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		msgs := uowtest.Messages(t, d)
		if len(msgs) != 1 || msgs[0].Name != "billing.SendInvoice" {
			t.Errorf("outbox: %v, want the invoice's command", msgs)
		}
	}
	_ = testEmit // in a test file: func TestEmit(t *testing.T) { ... }
}

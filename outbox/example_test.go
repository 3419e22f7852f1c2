package outbox_test

import (
	"context"
	"fmt"

	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
)

// Example: a unit of work commits a message with its changes; a relay publishes it to an
// in-process bus, where an idempotent consumer handles it once however often it arrives.
func Example() {
	ctx := context.Background()
	drv := memuow.New(nil)
	store := uow.NewStore(drv, nil)

	var bus outbox.Bus
	_, _ = bus.Subscribe("greetings", "printer", outbox.Idempotent(store, "printer",
		func(ctx context.Context, u *uow.Unit, m uow.Message) error {
			fmt.Printf("handled %s %s\n", m.Name, m.Payload)
			return nil
		}, nil))

	_ = uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
		return u.Emit(uow.Message{Topic: "greetings", Key: "world", Name: "Hello", Payload: []byte(`{"to":"world"}`)})
	}, nil)
	msgs := drv.Messages()

	relay := outbox.NewRelay(drv, &bus, &outbox.RelayOptions{ID: "example"})
	n, err := relay.Step(ctx)
	fmt.Println("relayed:", n, err)
	fmt.Println("left in the outbox:", len(drv.Messages()))

	// The broker delivers it again: the inbox absorbs it.
	fmt.Println(bus.Publish(ctx, msgs))
	// Output:
	// handled Hello {"to":"world"}
	// relayed: 1 <nil>
	// left in the outbox: 0
	// <nil>
}

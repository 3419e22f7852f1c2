package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/dddkit/ddd/aggregate"
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

// orderPlaced and orderCancelled are two of the events on the orders topic.
type (
	orderPlaced struct {
		Order string `json:"order"`
		Total int    `json:"total"`
	}
	orderCancelled struct {
		Order string `json:"order"`
	}
)

func (orderPlaced) EventName() string    { return "orders.Placed" }
func (orderCancelled) EventName() string { return "orders.Cancelled" }

// ExampleRouter: a billing consumer handles two events of the orders topic, each decoded into
// its type, and skips the topic's others. The bus knows its topics: the audit topic is dropped
// by decision, and a message on a mistyped topic stays in the outbox, to be retried and parked.
func ExampleRouter() {
	ctx := context.Background()
	drv := memuow.New(nil)
	store := uow.NewStore(drv, nil)

	router, err := outbox.NewRouter(outbox.SkipUnknown,
		outbox.On(func(_ context.Context, _ *uow.Unit, e orderPlaced, _ uow.Message) error {
			fmt.Println("bill", e.Order, e.Total)
			return nil
		}),
		outbox.On(func(_ context.Context, _ *uow.Unit, e orderCancelled, _ uow.Message) error {
			fmt.Println("void", e.Order)
			return nil
		}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	var bus outbox.Bus
	if _, err := bus.Subscribe("orders", "billing", router.Idempotent(store, "billing", nil)); err != nil {
		fmt.Println(err)
		return
	}
	if err := bus.Discard("audit"); err != nil { // read by another process, not this one
		fmt.Println(err)
		return
	}

	emit := func(u *uow.Unit, topic, key string, e aggregate.Event) error {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		return u.Emit(uow.Message{Topic: topic, Key: key, Name: e.EventName(), Payload: b})
	}
	_ = uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
		return errors.Join(
			emit(u, "orders", "o1", orderPlaced{Order: "o1", Total: 30}),
			u.Emit(uow.Message{Topic: "orders", Key: "o1", Name: "orders.Viewed", Payload: []byte(`{}`)}),
			u.Emit(uow.Message{Topic: "audit", Key: "o1", Name: "audit.Logged", Payload: []byte(`{}`)}),
			emit(u, "orders", "o1", orderCancelled{Order: "o1"}),
			emit(u, "ordres", "o2", orderPlaced{Order: "o2", Total: 5}),
		)
	}, nil)

	relay := outbox.NewRelay(drv, &bus, &outbox.RelayOptions{ID: "example", Logger: slog.New(slog.DiscardHandler)})
	for {
		if n, err := relay.Step(ctx); err != nil || n == 0 {
			break
		}
	}
	for _, m := range drv.Messages() {
		fmt.Println("left in the outbox:", m.Topic, m.Name)
	}
	// Output:
	// bill o1 30
	// void o1
	// left in the outbox: ordres orders.Placed
}

package natsjs_test

import (
	"fmt"
	"slices"
	"time"

	"github.com/dddkit/ddd/outbox/natsjs"
	"github.com/dddkit/ddd/uow"
)

// Example shows the NATS message a Publisher sends for an outbox message, and the message
// Consume hands back to the handler. Publishing needs a server; this mapping does not.
func Example() {
	p := natsjs.NewPublisher(nil, &natsjs.Options{Prefix: "events."})
	m := uow.Message{
		ID: "0190a1b2-0000-7000-8000-000000000001", Topic: "orders", Key: "order-7", Name: "OrderPlaced",
		Payload:   []byte(`{"total":"12.50"}`),
		Headers:   map[string]string{"correlation-id": "c-1"},
		CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	nm, err := p.Msg(m)
	if err != nil {
		panic(err)
	}
	fmt.Println("subject:", nm.Subject)
	keys := make([]string, 0, len(nm.Header))
	for k := range nm.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Printf("%s: %s\n", k, nm.Header.Get(k))
	}
	fmt.Printf("data: %s\n", nm.Data)

	back := natsjs.FromMsg(nm)
	fmt.Println("round trip:", back.ID == m.ID && back.Topic == m.Topic && back.Key == m.Key &&
		back.Name == m.Name && back.CreatedAt.Equal(m.CreatedAt) && back.Headers["correlation-id"] == "c-1")
	// Output:
	// subject: events.orders
	// Nats-Msg-Id: 0190a1b2-0000-7000-8000-000000000001
	// correlation-id: c-1
	// ddd-created-at: 2026-01-02T03:04:05Z
	// ddd-key: order-7
	// ddd-name: OrderPlaced
	// ddd-topic: orders
	// data: {"total":"12.50"}
	// round trip: true
}

// ExampleOptions maps messages to subjects by key as well as topic, so a consumer can filter
// on one aggregate ("events.orders.order-7") or all of them ("events.orders.>").
func ExampleOptions() {
	p := natsjs.NewPublisher(nil, &natsjs.Options{
		Subject: func(m uow.Message) string { return "events." + m.Topic + "." + m.Key },
	})
	fmt.Println(p.Subject(uow.Message{Topic: "orders", Key: "order-7"}))
	// Output: events.orders.order-7
}

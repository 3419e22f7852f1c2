package watermillpub_test

import (
	"context"
	"fmt"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"

	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/outbox/watermillpub"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
)

// Example: a relay publishes a committed message through watermill's in-memory GoChannel (any
// watermill publisher works the same: Kafka, AMQP, SQS ...), and a subscriber turns it back
// into an outbox message.
func Example() {
	ctx := context.Background()
	drv := memuow.New(nil)
	store := uow.NewStore(drv, nil)
	_ = uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
		return u.Emit(uow.Message{Topic: "greetings", Key: "world", Name: "Hello", Payload: []byte(`{"to":"world"}`)})
	}, nil)
	committed := drv.Messages()[0]

	// Publish returns once the subscriber acked, which keeps this example's output in order.
	gc := gochannel.NewGoChannel(gochannel.Config{BlockPublishUntilSubscriberAck: true}, watermill.NopLogger{})
	defer gc.Close()
	received, _ := gc.Subscribe(ctx, "greetings")
	go func() {
		for msg := range received {
			m := watermillpub.FromWatermill(msg, "greetings")
			fmt.Printf("received %s key=%s %s, same ID: %v\n", m.Name, m.Key, m.Payload, msg.UUID == committed.ID)
			msg.Ack()
		}
	}()

	relay := outbox.NewRelay(drv, watermillpub.New(gc, nil), &outbox.RelayOptions{ID: "example"})
	n, err := relay.Step(ctx)
	fmt.Println("relayed:", n, err)
	fmt.Println("left in the outbox:", len(drv.Messages()))
	// Output:
	// received Hello key=world {"to":"world"}, same ID: true
	// relayed: 1 <nil>
	// left in the outbox: 0
}

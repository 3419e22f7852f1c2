// Package natsjs connects the outbox of package [github.com/dddkit/ddd/outbox] to NATS
// JetStream: a [Publisher] that an [outbox.Relay] publishes through, and [Consume], which runs
// an idempotent handler on a durable consumer.
//
// # Publishing
//
// [Publisher] sends each message to a subject (by default a prefix plus the message's topic;
// [Options].Subject maps messages any other way), with the message ID as the Nats-Msg-Id
// header, the message's headers and the ddd-* headers of its name, topic, key and creation
// time as NATS headers, and its payload as the data. A batch is published asynchronously and
// confirmed as a whole: Publish returns nil when the stream acknowledged every message. The
// stream must cover the subjects, and its duplicate window (StreamConfig.Duplicates, 2
// minutes by default) is how long the server drops a message whose ID it stored already, as
// when a relay crashed between publishing and acknowledging its batch.
//
//	js, _ := jetstream.New(nc)
//	_, _ = js.CreateStream(ctx, jetstream.StreamConfig{Name: "EVENTS", Subjects: []string{"events.>"}})
//	relay := outbox.NewRelay(driver, natsjs.NewPublisher(js, &natsjs.Options{Prefix: "events."}), nil)
//	go relay.Run(ctx)
//
// # Consuming
//
// [Consume] pulls from a consumer with explicit acks and hands each message, turned back into
// an uow.Message by [FromMsg], to a handler; with [outbox.Idempotent] the handler runs in
// a unit of work that also marks the message in the inbox, so the effect happens once however
// often the message arrives (a duplicate outside the window, a redelivery after a lost ack).
// The message is acked after the handler returned nil, that is after its unit committed; it
// is nak'd with an exponential delay when the handler failed, and terminated when it failed
// on delivery MaxDeliveries.
//
//	cons, _ := js.CreateOrUpdateConsumer(ctx, "EVENTS", jetstream.ConsumerConfig{
//		Durable: "billing", FilterSubject: "events.orders", AckPolicy: jetstream.AckExplicitPolicy,
//	})
//	h := outbox.Idempotent(store, "billing", func(ctx context.Context, u *uow.Unit, m uow.Message) error {
//		// change aggregates through u
//		return nil
//	}, nil)
//	err := natsjs.Consume(ctx, cons, h, &natsjs.ConsumeOptions{MaxDeliveries: 5})
//
// # Delivery
//
// Delivery is at least once, end to end: the relay deletes a message only after the stream
// confirmed it, and the consumer acks only after the handler's unit committed. The duplicates
// this allows are dropped by the stream within its window and by the inbox at any time.
// Messages are handled in stream order while handlers succeed (one Consume handles one message
// at a time); a nak'd message comes back after its delay, possibly behind later ones.
//
// # Defaults
//
// Consume: MaxDeliveries 10, nak delay from 1s doubling to 1m, HandlerTimeout 30s, Buffer
// (messages pulled ahead) 100.
package natsjs

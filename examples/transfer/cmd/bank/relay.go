package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dddkit/ddd/examples/transfer"
	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/outbox/natsjs"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
)

// sink is where the relay publishes the outbox: the in-process bus, or NATS JetStream.
type sink struct {
	pub       outbox.Publisher
	where     string
	completed atomic.Int64 // TransferCompleted messages seen on the bus
	close     func()
}

// stream is the JetStream stream the bank publishes to, on subjects bank.<topic>.
const stream = "BANK"

// newSink returns the bus (broker "") with a subscriber counting completed transfers, or a
// JetStream publisher to broker (a nats:// URL) on a stream it creates if need be.
func newSink(ctx context.Context, broker string) (*sink, error) {
	if broker == "" {
		bus := &outbox.Bus{}
		s := &sink{pub: bus, where: "the in-process bus", close: func() {}}
		// The accounts' events have no reader in this process: dropping them is a decision,
		// not a subscription the bus failed to find.
		if err := bus.Discard("Account"); err != nil {
			return nil, err
		}
		_, err := bus.Subscribe("Transfer", "demo-ledger", func(_ context.Context, m uow.Message) error {
			if m.Name == (transfer.TransferCompleted{}).EventName() {
				s.completed.Add(1)
			}
			return nil
		})
		return s, err
	}
	nc, err := nats.Connect(broker, nats.Name("bank"), nats.Timeout(5*time.Second))
	if err != nil {
		return nil, fmt.Errorf("--broker %s: %w", broker, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{"bank.>"}}); err != nil {
		nc.Close()
		return nil, fmt.Errorf("--broker %s: stream %s: %w", broker, stream, err)
	}
	return &sink{pub: natsjs.NewPublisher(js, &natsjs.Options{Prefix: "bank."}),
		where: "NATS JetStream stream " + stream + " at " + broker, close: nc.Close}, nil
}

// drain relays the outbox of store to s until it is empty, calling progress with the messages
// relayed so far. Messages whose publication failed are retried; one parked after its attempts
// is an error.
func drain(ctx context.Context, store driver.Outbox, s *sink, progress func(n int)) (int, error) {
	r := outbox.NewRelay(store, s.pub, &outbox.RelayOptions{BatchSize: 500, MaxAttempts: 5,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: time.Second})
	op, _ := store.(driver.Operator)
	total := 0
	for {
		n, err := r.Step(ctx)
		if err != nil {
			return total, err
		}
		total += n
		if n > 0 {
			progress(total)
			continue
		}
		if op == nil {
			return total, nil
		}
		// Nothing due now: done, unless failed messages wait for their retry.
		if _, waiting, err := op.OldestDue(ctx, time.Now().Add(time.Hour)); err != nil {
			return total, err
		} else if !waiting {
			parked, err := op.Parked(ctx, 1)
			if err != nil {
				return total, err
			}
			if len(parked) > 0 {
				return total, fmt.Errorf("outbox: messages parked after failing to publish, the first: %s", parked[0].Reason)
			}
			return total, nil
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

package outbox_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
)

func TestBusSubscriptions(t *testing.T) {
	ctx := context.Background()
	var bus outbox.Bus
	var a, b []string
	unA, err := bus.Subscribe("orders", "a", func(_ context.Context, m uow.Message) error { a = append(a, m.Name); return nil })
	require.NoError(t, err)
	_, err = bus.Subscribe("orders", "b", func(_ context.Context, m uow.Message) error { b = append(b, m.Name); return nil })
	require.NoError(t, err)
	_, err = bus.Subscribe("orders", "a", func(context.Context, uow.Message) error { return nil })
	require.ErrorIs(t, err, outbox.ErrInvalid, "one name per topic")
	_, err = bus.Subscribe("", "x", func(context.Context, uow.Message) error { return nil })
	require.ErrorIs(t, err, outbox.ErrInvalid)

	require.NoError(t, bus.Publish(ctx, []uow.Message{{Topic: "orders", Name: "o1"}, {Topic: "other", Name: "x"}, {Topic: "orders", Name: "o2"}}))
	require.Equal(t, []string{"o1", "o2"}, a)
	require.Equal(t, []string{"o1", "o2"}, b)

	unA()
	require.NoError(t, bus.Publish(ctx, []uow.Message{{Topic: "orders", Name: "o3"}}))
	require.Equal(t, []string{"o1", "o2"}, a)
	require.Equal(t, []string{"o1", "o2", "o3"}, b)
}

func TestBusStopsAtAFailingMessage(t *testing.T) {
	var bus outbox.Bus
	var got []string
	_, err := bus.Subscribe("t", "s", func(_ context.Context, m uow.Message) error {
		if m.Name == "bad" {
			return errors.New("cannot handle")
		}
		got = append(got, m.Name)
		return nil
	})
	require.NoError(t, err)
	err = bus.Publish(context.Background(), []uow.Message{{Topic: "t", Name: "ok"}, {Topic: "t", Name: "bad", ID: "m-2"}, {Topic: "t", Name: "later"}})
	require.ErrorContains(t, err, "s handling bad m-2: cannot handle")
	require.Equal(t, []string{"ok"}, got)
}

type counterID string

type counter struct {
	aggregate.Root[counterID]
	N int `json:"n"`
}

func (*counter) AggregateType() string { return "counter" }

// TestIdempotentConsumerThroughTheRelay: a relay publishes to the bus, the consumer's handler
// runs in a unit with the inbox mark, and a redelivered message has no second effect.
func TestIdempotentConsumerThroughTheRelay(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	consumerStore := uow.NewStore(memuow.New(nil), nil)
	require.NoError(t, uow.Do(ctx, consumerStore, func(ctx context.Context, u *uow.Unit) error {
		root, _ := aggregate.NewRoot[counterID]("c")
		return uow.Repo[counter, counterID](u).Add(ctx, &counter{Root: root})
	}, nil))

	var bus outbox.Bus
	var causes []string
	handler := outbox.Idempotent(consumerStore, "counting", func(ctx context.Context, u *uow.Unit, m uow.Message) error {
		c, err := uow.Repo[counter, counterID](u).Get(ctx, "c")
		if err != nil {
			return err
		}
		c.N++
		causes = append(causes, m.ID)
		return nil
	}, nil)
	_, err := bus.Subscribe("t", "counting", handler)
	require.NoError(t, err)

	e.emit(t, "k", "m1", "m2")
	msgs := e.drv.Messages()
	r := relay(e, &bus, quiet())
	for range 3 {
		_, err := r.Step(ctx)
		require.NoError(t, err)
	}
	// The broker redelivers both (a relay that crashed before its ack would do the same).
	require.NoError(t, bus.Publish(ctx, msgs))
	require.NoError(t, handler(ctx, msgs[0]))

	require.NoError(t, uow.Do(ctx, consumerStore, func(ctx context.Context, u *uow.Unit) error {
		c, err := uow.Repo[counter, counterID](u).Get(ctx, "c")
		require.NoError(t, err)
		require.Equal(t, 2, c.N, "each message counted once")
		return nil
	}, nil))
	require.Len(t, causes, 2)
	require.ErrorIs(t, handler(ctx, uow.Message{Name: "no-id"}), outbox.ErrInvalid)
}

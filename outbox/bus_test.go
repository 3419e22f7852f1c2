package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
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

	require.NoError(t, bus.Discard("other"), "nobody here reads topic other: a decision")
	require.NoError(t, bus.Publish(ctx, []uow.Message{{Topic: "orders", Name: "o1"}, {Topic: "other", Name: "x"}, {Topic: "orders", Name: "o2"}}))
	require.Equal(t, []string{"o1", "o2"}, a)
	require.Equal(t, []string{"o1", "o2"}, b)

	unA()
	require.NoError(t, bus.Publish(ctx, []uow.Message{{Topic: "orders", Name: "o3"}}))
	require.Equal(t, []string{"o1", "o2"}, a)
	require.Equal(t, []string{"o1", "o2", "o3"}, b)
}

// TestBusHoldsBackAFailedKey: a failing message fails alone with its key's later messages,
// held back behind it; the other keys' messages are delivered, and the PublishError says which
// message failed how.
func TestBusHoldsBackAFailedKey(t *testing.T) {
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
	err = bus.Publish(context.Background(), []uow.Message{
		{Topic: "t", Key: "k1", Name: "ok", ID: "m-1"},
		{Topic: "t", Key: "k1", Name: "bad", ID: "m-2"},
		{Topic: "t", Key: "k2", Name: "other key", ID: "m-3"},
		{Topic: "t", Key: "k1", Name: "later", ID: "m-4"},
	})
	require.ErrorContains(t, err, "s handling bad m-2: cannot handle")
	var pe *outbox.PublishError
	require.ErrorAs(t, err, &pe)
	require.Len(t, pe.Errs, 4)
	require.NoError(t, pe.Errs[0])
	require.ErrorContains(t, pe.Errs[1], "cannot handle")
	require.NoError(t, pe.Errs[2])
	require.EqualError(t, pe.Errs[3], `outbox: message m-4 (later) held back behind the failed message m-2 of its key "k1"`)
	require.Equal(t, []string{"ok", "other key"}, got)
}

// TestBusWithoutSubscriber: a message on a topic nobody subscribes to fails with
// ErrNoSubscriber, naming the topic, unless the topic was declared with Discard; once a
// subscription appears it is delivered.
func TestBusWithoutSubscriber(t *testing.T) {
	ctx := context.Background()
	var bus outbox.Bus
	var got []string
	record := func(_ context.Context, m uow.Message) error { got = append(got, m.Topic+"/"+m.Name); return nil }
	_, err := bus.Subscribe("orders", "s", record)
	require.NoError(t, err)
	require.NoError(t, bus.Discard("audit", "metrics"))
	require.ErrorIs(t, bus.Discard("x", ""), outbox.ErrInvalid)

	msgs := []uow.Message{
		{Topic: "orders", Key: "a", Name: "placed", ID: "m-1"},
		{Topic: "ordres", Key: "a", Name: "paid", ID: "m-2"}, // the typo of a renamed topic
		{Topic: "audit", Key: "b", Name: "logged", ID: "m-3"},
		{Topic: "orders", Key: "a", Name: "shipped", ID: "m-4"},
		{Topic: "x", Key: "c", Name: "dropped?", ID: "m-5"},
	}
	err = bus.Publish(ctx, msgs)
	require.ErrorIs(t, err, outbox.ErrNoSubscriber)
	var pe *outbox.PublishError
	require.ErrorAs(t, err, &pe)
	require.Len(t, pe.Errs, 5)
	require.EqualError(t, pe.Errs[1], `outbox: no subscriber: topic "ordres" of message m-2 (paid): subscribe to it, or declare it with Bus.Discard`)
	require.ErrorContains(t, pe.Errs[3], "held back behind the failed message m-2")
	require.ErrorIs(t, pe.Errs[4], outbox.ErrNoSubscriber, "a Discard that failed declared nothing")
	require.NoError(t, errors.Join(pe.Errs[0], pe.Errs[2]))
	require.Equal(t, []string{"orders/placed"}, got, "audit discarded, nothing else delivered")

	_, err = bus.Subscribe("ordres", "s", record)
	require.NoError(t, err)
	_, err = bus.Subscribe("audit", "s", record)
	require.NoError(t, err)
	require.NoError(t, bus.Discard("x"))
	require.NoError(t, bus.Publish(ctx, msgs[1:]))
	require.Equal(t, []string{"orders/placed", "ordres/paid", "audit/logged", "orders/shipped"}, got,
		"a discarded topic with a subscriber delivers to it")

	unsubscribe, err := bus.Subscribe("late", "s", record)
	require.NoError(t, err)
	unsubscribe()
	require.ErrorIs(t, bus.Publish(ctx, []uow.Message{{Topic: "late", Name: "n"}}), outbox.ErrNoSubscriber,
		"a topic whose subscriptions all ended has none")
}

func TestPublishErrorText(t *testing.T) {
	e := &outbox.PublishError{Errs: []error{nil, errors.New("one"), nil, errors.New("two")}}
	require.EqualError(t, e, "one\ntwo")
	require.Len(t, e.Unwrap(), 2)
	require.EqualError(t, &outbox.PublishError{Errs: make([]error, 2)}, "outbox: publish error with no failed message")
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

// Subscriptions come and go while messages are published (a context starting up while another
// already publishes): Publish never sees a subscription list being changed, which the race
// detector checks, and never calls a removed handler's zero value.
func TestBusSubscribeWhilePublishing(t *testing.T) {
	var b outbox.Bus
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				const topic = "orders" // discarded before each goroutine's first Publish
				switch i % 3 {
				case 0:
					unsub, err := b.Subscribe(topic, fmt.Sprintf("s%d-%d", g, i), func(context.Context, uow.Message) error { return nil })
					if err != nil {
						t.Error(err)
						return
					}
					if i%2 == 0 {
						unsub()
					}
				case 1:
					if err := b.Discard(topic); err != nil {
						t.Error(err)
						return
					}
				default:
					err := b.Publish(context.Background(), []uow.Message{
						{ID: "a", Topic: topic, Key: "k1", Name: "n"},
						{ID: "b", Topic: "nobody", Key: "k2", Name: "n"},
					})
					var pe *outbox.PublishError
					if !errors.As(err, &pe) || pe.Errs[0] != nil || !errors.Is(pe.Errs[1], outbox.ErrNoSubscriber) {
						t.Errorf("Publish = %v, want the second message refused alone", err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

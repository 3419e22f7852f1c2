package watermillpub_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/outbox/watermillpub"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// env is a memuow store with a fake clock, and a helper to commit messages through uow.Do.
type env struct {
	drv   *memuow.Driver
	clock *memuow.Clock
	store *uow.Store
}

func newEnv() *env {
	clock := memuow.NewClock(t0)
	drv := memuow.New(nil)
	return &env{drv: drv, clock: clock, store: uow.NewStore(drv, &uow.Options{Clock: clock})}
}

// emit commits one message per name on topic and key, in order, in one unit.
func (e *env) emit(t *testing.T, topic, key string, names ...string) {
	t.Helper()
	require.NoError(t, uow.Do(context.Background(), e.store, func(ctx context.Context, u *uow.Unit) error {
		for _, n := range names {
			err := u.Emit(uow.Message{Topic: topic, Key: key, Name: n, Payload: fmt.Appendf(nil, `{"n":%q}`, n),
				Headers: map[string]string{"tenant": "acme", uow.HeaderCorrelationID: "corr-" + n}})
			if err != nil {
				return err
			}
		}
		return nil
	}, nil))
}

func (e *env) relay(pub outbox.Publisher, o *outbox.RelayOptions) *outbox.Relay {
	o.Clock = e.clock
	o.ID = "relay-1"
	return outbox.NewRelay(e.drv, pub, o)
}

// newGoChannel is watermill's in-memory pub/sub; Publish returns once every subscriber acked,
// so what a test collects is complete when Publish returns, and in publish order.
func newGoChannel(t *testing.T) *gochannel.GoChannel {
	t.Helper()
	gc := gochannel.NewGoChannel(gochannel.Config{BlockPublishUntilSubscriberAck: true}, watermill.NopLogger{})
	t.Cleanup(func() { _ = gc.Close() })
	return gc
}

// collector subscribes to topics and records what arrives, converted back, with its metadata.
type collector struct {
	mu   sync.Mutex
	msgs map[string][]uow.Message
	md   map[string]message.Metadata // by message ID
}

func collect(t *testing.T, sub message.Subscriber, topics ...string) *collector {
	t.Helper()
	c := &collector{msgs: map[string][]uow.Message{}, md: map[string]message.Metadata{}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	for _, topic := range topics {
		ch, err := sub.Subscribe(ctx, topic)
		require.NoError(t, err)
		go func() {
			for msg := range ch {
				c.mu.Lock()
				c.msgs[topic] = append(c.msgs[topic], watermillpub.FromWatermill(msg, topic))
				c.md[msg.UUID] = msg.Metadata
				c.mu.Unlock()
				msg.Ack()
			}
		}()
	}
	return c
}

func (c *collector) names(topic string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var names []string
	for _, m := range c.msgs[topic] {
		names = append(names, m.Name)
	}
	return names
}

// spy records the watermill Publish calls and the messages' contexts, and fails every call
// that carries a message named in failing (as a broker refusing a batch would).
type spy struct {
	pub     message.Publisher
	mu      sync.Mutex
	calls   []string // "topic:count"
	ctxs    []context.Context
	failing map[string]bool
}

func (s *spy) Publish(topic string, msgs ...*message.Message) error {
	s.mu.Lock()
	s.calls = append(s.calls, fmt.Sprintf("%s:%d", topic, len(msgs)))
	failing := false
	for _, m := range msgs {
		s.ctxs = append(s.ctxs, m.Context())
		failing = failing || s.failing[m.Metadata.Get(watermillpub.MetadataName)]
	}
	s.mu.Unlock()
	if failing {
		return errBroker
	}
	return s.pub.Publish(topic, msgs...)
}

func (s *spy) Close() error { return nil }

func (s *spy) setFailing(names ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failing = map[string]bool{}
	for _, n := range names {
		s.failing[n] = true
	}
}

var errBroker = errors.New("broker refused the message")

type ctxKey struct{}

func TestRelayPublishesThroughWatermill(t *testing.T) {
	e := newEnv()
	// The store hands out one message per key and claim, the key's head: the first batch takes
	// the heads of four keys, the second o1-paid.
	e.emit(t, "orders", "o-1", "o1-placed")
	e.emit(t, "orders", "o-2", "o2-placed")
	e.emit(t, "payments", "p-1", "p1-taken")
	e.emit(t, "orders", "o-3", "o3-placed")
	e.emit(t, "orders", "o-1", "o1-paid")
	committed := e.drv.Messages()
	require.Len(t, committed, 5)

	gc := newGoChannel(t)
	got := collect(t, gc, "orders", "payments")
	sp := &spy{pub: gc}
	r := e.relay(watermillpub.New(sp, nil), &outbox.RelayOptions{BatchSize: 100})
	ctx := context.WithValue(context.Background(), ctxKey{}, "request-7")
	n, err := r.Step(ctx)
	require.NoError(t, err)
	require.Equal(t, 4, n)
	require.Equal(t, []string{"orders:3", "payments:1"}, sp.calls, "one Publish call per topic of the batch")
	n, err = r.Step(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, []string{"orders:3", "payments:1", "orders:1"}, sp.calls)
	require.Empty(t, e.drv.Messages(), "acked after the broker accepted them")

	for _, c := range sp.ctxs {
		require.Equal(t, "request-7", c.Value(ctxKey{}), "the relay's context is set on the messages")
	}
	require.Equal(t, []string{"o1-placed", "o2-placed", "o3-placed", "o1-paid"}, got.names("orders"), "commit order")
	require.Equal(t, []string{"p1-taken"}, got.names("payments"))

	byTopic := map[string][]uow.Message{}
	for _, m := range committed {
		byTopic[m.Topic] = append(byTopic[m.Topic], m)
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	require.Equal(t, byTopic, got.msgs, "ID, payload, key, name, headers and created-at intact")
	md := got.md[committed[0].ID]
	require.Equal(t, "o1-placed", md[watermillpub.MetadataName])
	require.Equal(t, "o-1", md[watermillpub.MetadataKey])
	require.Equal(t, "2026-11-23T09:00:00Z", md[watermillpub.MetadataCreatedAt])
	require.Equal(t, "acme", md["tenant"])
	require.Equal(t, "corr-o1-placed", md[uow.HeaderCorrelationID])
	require.NotContains(t, md, watermillpub.MetadataDeliverAfter)
}

func TestFailingMessageRetriesAndParksWhileOthersFlow(t *testing.T) {
	ctx := context.Background()
	e := newEnv()
	e.emit(t, "t", "bad", "poison", "after-poison")
	e.emit(t, "t", "good", "g1", "g2")
	gc := newGoChannel(t)
	got := collect(t, gc, "t")
	sp := &spy{pub: gc}
	sp.setFailing("poison")
	r := e.relay(watermillpub.New(sp, nil), &outbox.RelayOptions{BatchSize: 10, MaxAttempts: 3,
		MinBackoff: time.Second, MaxBackoff: time.Minute})

	for range 2 {
		_, err := r.Step(ctx)
		require.NoError(t, err)
	}
	require.Equal(t, []string{"g1", "g2"}, got.names("t"), "the other key flows; no retry before the backoff")
	require.Len(t, e.drv.Messages(), 2, "poison waits for its retry, after-poison behind it")

	for range 2 {
		e.clock.Advance(2 * time.Minute) // past any backoff
		_, err := r.Step(ctx)
		require.NoError(t, err)
	}
	parked, err := e.drv.Parked(ctx, 10)
	require.NoError(t, err)
	require.Len(t, parked, 1)
	require.Equal(t, "poison", parked[0].Name)
	require.Equal(t, 3, parked[0].Attempts)
	require.Contains(t, parked[0].Reason, errBroker.Error())
	require.Contains(t, parked[0].Reason, `watermillpub: publishing 1 messages to "t"`)
	require.Equal(t, []string{"g1", "g2"}, got.names("t"))

	// The broker accepts it now; the operator unparks it and the key resumes in order.
	sp.setFailing()
	_, err = e.drv.Unpark(ctx, []string{parked[0].ID})
	require.NoError(t, err)
	for range 2 {
		_, err := r.Step(ctx)
		require.NoError(t, err)
	}
	require.Equal(t, []string{"g1", "g2", "poison", "after-poison"}, got.names("t"))
	require.Empty(t, e.drv.Messages())
}

func TestPublishErrors(t *testing.T) {
	ctx := context.Background()
	ok := uow.Message{ID: "id-1", Topic: "t", Name: "n"}
	for _, tc := range []struct {
		name string
		msg  uow.Message
		opts *watermillpub.Options
	}{
		{"no ID", uow.Message{Topic: "t", Name: "n"}, nil},
		{"no topic", uow.Message{ID: "id-2", Name: "n"}, nil},
		{"mapped to no topic", ok, &watermillpub.Options{Topic: func(uow.Message) string { return "" }}},
		{"reserved header", uow.Message{ID: "id-3", Topic: "t", Name: "n",
			Headers: map[string]string{watermillpub.MetadataKey: "x"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := &spy{pub: newGoChannel(t)}
			err := watermillpub.New(sp, tc.opts).Publish(ctx, []uow.Message{ok, tc.msg})
			require.ErrorIs(t, err, outbox.ErrInvalid)
			require.ErrorContains(t, err, "watermillpub: ")
			require.Empty(t, sp.calls, "nothing of the batch is published")
		})
	}
	sp := &spy{pub: newGoChannel(t)}
	sp.setFailing("n")
	err := watermillpub.New(sp, nil).Publish(ctx, []uow.Message{ok})
	require.ErrorIs(t, err, errBroker, "the driver's error is wrapped")
}

func TestOptions(t *testing.T) {
	gc := newGoChannel(t)
	got := collect(t, gc, "events.orders")
	pub := watermillpub.New(gc, &watermillpub.Options{
		Topic: func(m uow.Message) string { return "events." + m.Topic },
		Metadata: func(m uow.Message, md message.Metadata) {
			md.Set("partition_key", m.Key)
			delete(md, "secret")
		},
	})
	require.NoError(t, pub.Publish(context.Background(), []uow.Message{{ID: "id-1", Topic: "orders", Key: "o-1", Name: "Placed",
		Headers: map[string]string{"secret": "s", "kept": "k"}}}))
	got.mu.Lock()
	defer got.mu.Unlock()
	require.Equal(t, message.Metadata{"partition_key": "o-1", "kept": "k", watermillpub.MetadataKey: "o-1",
		watermillpub.MetadataName: "Placed"}, got.md["id-1"])
	require.Equal(t, "events.orders", got.msgs["events.orders"][0].Topic)
}

// genMessage generates outbox messages whose headers avoid the reserved keys.
func genMessage(topics *rapid.Generator[string]) *rapid.Generator[uow.Message] {
	genTime := rapid.Custom(func(t *rapid.T) time.Time {
		if rapid.Bool().Draw(t, "zero") {
			return time.Time{}
		}
		sec := rapid.Int64Range(-62135596800, 253402300799).Draw(t, "sec") // years 1 to 9999
		zone := time.FixedZone("z", rapid.IntRange(-12, 14).Draw(t, "zone")*3600)
		return time.Unix(sec, rapid.Int64Range(0, 999999999).Draw(t, "nsec")).In(zone)
	})
	return rapid.Custom(func(t *rapid.T) uow.Message {
		m := uow.Message{
			ID:           rapid.StringN(1, -1, -1).Draw(t, "id"),
			Topic:        topics.Draw(t, "topic"),
			Key:          rapid.String().Draw(t, "key"),
			Name:         rapid.String().Draw(t, "name"),
			Payload:      rapid.SliceOf(rapid.Byte()).Draw(t, "payload"),
			CreatedAt:    genTime.Draw(t, "created"),
			DeliverAfter: genTime.Draw(t, "deliverAfter"),
		}
		notReserved := rapid.String().Filter(func(k string) bool {
			return k != watermillpub.MetadataName && k != watermillpub.MetadataKey &&
				k != watermillpub.MetadataCreatedAt && k != watermillpub.MetadataDeliverAfter
		})
		m.Headers = rapid.MapOf(notReserved, rapid.String()).Draw(t, "headers")
		return m
	})
}

// normal is m as it comes back: times in UTC (the zero instant as the zero Time), no empty
// header map.
func normal(m uow.Message) uow.Message {
	for _, t := range []*time.Time{&m.CreatedAt, &m.DeliverAfter} {
		if t.IsZero() {
			*t = time.Time{} // the zero instant in any zone
		} else {
			*t = t.UTC()
		}
	}
	if len(m.Headers) == 0 {
		m.Headers = nil
	}
	return m
}

func TestRoundTripIsLossless(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := genMessage(rapid.StringN(1, -1, -1)).Draw(t, "msg")
		wm, err := watermillpub.ToWatermill(context.Background(), m)
		require.NoError(t, err)
		require.Equal(t, m.ID, wm.UUID)
		require.Equal(t, normal(m), watermillpub.FromWatermill(wm, m.Topic))
	})
}

// TestRoundTripThroughGoChannel: random batches published through the adapter to GoChannel
// arrive whole, in batch order per topic.
func TestRoundTripThroughGoChannel(t *testing.T) {
	gc := newGoChannel(t)
	got := collect(t, gc, "a", "b")
	pub := watermillpub.New(gc, nil)
	rapid.Check(t, func(rt *rapid.T) {
		got.mu.Lock()
		got.msgs = map[string][]uow.Message{}
		got.mu.Unlock()
		batch := rapid.SliceOf(genMessage(rapid.SampledFrom([]string{"a", "b"}))).Draw(rt, "batch")
		require.NoError(rt, pub.Publish(context.Background(), batch))
		want := map[string][]uow.Message{}
		for _, m := range batch {
			want[m.Topic] = append(want[m.Topic], normal(m))
		}
		got.mu.Lock()
		defer got.mu.Unlock()
		require.Equal(rt, want, got.msgs)
	})
}

type counterID string

type counter struct {
	aggregate.Root[counterID]
	N int `json:"n"`
}

func (*counter) AggregateType() string { return "counter" }

// TestRouterDrivesAnIdempotentHandler: a watermill router runs an outbox.Idempotent handler; a
// failing handler nacks (the message comes again), a redelivered message has no second effect.
func TestRouterDrivesAnIdempotentHandler(t *testing.T) {
	ctx := context.Background()
	consumer := uow.NewStore(memuow.New(nil), nil)
	require.NoError(t, uow.Do(ctx, consumer, func(ctx context.Context, u *uow.Unit) error {
		root, _ := aggregate.NewRoot[counterID]("c")
		return uow.Repo[counter, counterID](u).Add(ctx, &counter{Root: root})
	}, nil))

	var mu sync.Mutex
	var calls []string
	failOnce := true
	handler := outbox.Idempotent(consumer, "counting", func(ctx context.Context, u *uow.Unit, m uow.Message) error {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, m.Topic+"/"+m.Name)
		if m.Name == "first" && failOnce {
			failOnce = false
			return errors.New("database hiccup")
		}
		c, err := uow.Repo[counter, counterID](u).Get(ctx, "c")
		if err != nil {
			return err
		}
		c.N++
		return nil
	}, nil)

	gc := newGoChannel(t)
	router, err := message.NewRouter(message.RouterConfig{}, watermill.NopLogger{})
	require.NoError(t, err)
	router.AddConsumerHandler("counting", "t", gc, watermillpub.HandlerFunc(handler, "")) // topic from the router
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- router.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	<-router.Running()

	msgs := []uow.Message{{ID: "m-1", Topic: "t", Name: "first"}, {ID: "m-2", Topic: "t", Name: "second"}}
	pub := watermillpub.New(gc, nil)
	require.NoError(t, pub.Publish(ctx, msgs))
	require.NoError(t, pub.Publish(ctx, msgs[:1]), "the broker redelivers m-1")

	mu.Lock()
	require.Equal(t, []string{"t/first", "t/first", "t/second"}, calls, "nacked once, then acked; the redelivery is absorbed")
	mu.Unlock()
	require.NoError(t, uow.Do(ctx, consumer, func(ctx context.Context, u *uow.Unit) error {
		c, err := uow.Repo[counter, counterID](u).Get(ctx, "c")
		require.NoError(t, err)
		require.Equal(t, 2, c.N, "each message counted once")
		return nil
	}, nil))
}

func TestHandlerFuncWrapsTheError(t *testing.T) {
	wm := message.NewMessage("m-1", []byte(`{}`))
	wm.Metadata.Set(watermillpub.MetadataName, "Placed")
	var got uow.Message
	err := watermillpub.HandlerFunc(func(_ context.Context, m uow.Message) error {
		got = m
		return errBroker
	}, "orders")(wm)
	require.ErrorIs(t, err, errBroker)
	require.ErrorContains(t, err, "watermillpub: handling Placed m-1")
	require.Equal(t, uow.Message{ID: "m-1", Topic: "orders", Name: "Placed", Payload: []byte(`{}`)}, got)
}

package natsjs_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/internal/testenv"
	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/outbox/natsjs"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
)

// env is a JetStream connection and a stream of this test alone, on subjects prefix+">".
type env struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	prefix string
}

func newEnv(t *testing.T, dupWindow time.Duration) *env {
	t.Helper()
	url := testenv.NATS(t)
	nc, err := nats.Connect(url)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	name := testenv.Name("T")
	prefix := name + "."
	ctx := context.Background()
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{prefix + ">"}, Duplicates: dupWindow})
	require.NoError(t, err)
	t.Cleanup(func() { _ = js.DeleteStream(context.Background(), name) })
	return &env{js: js, stream: stream, prefix: prefix}
}

func (e *env) publisher() *natsjs.Publisher {
	return natsjs.NewPublisher(e.js, &natsjs.Options{Prefix: e.prefix})
}

func (e *env) consumer(t *testing.T, name string, ackWait time.Duration) jetstream.Consumer {
	t.Helper()
	c, err := e.stream.CreateOrUpdateConsumer(context.Background(), jetstream.ConsumerConfig{
		Durable: name, AckPolicy: jetstream.AckExplicitPolicy, AckWait: ackWait,
	})
	require.NoError(t, err)
	return c
}

func (e *env) msgs(t *testing.T) uint64 {
	t.Helper()
	info, err := e.stream.Info(context.Background())
	require.NoError(t, err)
	return info.State.Msgs
}

func batch(n int) []uow.Message {
	msgs := make([]uow.Message, n)
	for i := range msgs {
		msgs[i] = uow.Message{
			ID: fmt.Sprintf("id-%03d", i), Topic: []string{"orders", "payments"}[i%2], Key: fmt.Sprint("k", i%3),
			Name: fmt.Sprint("Event", i), Payload: []byte(fmt.Sprintf(`{"n":%d}`, i)),
			Headers:   map[string]string{uow.HeaderCorrelationID: fmt.Sprint("corr-", i)},
			CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, i, time.UTC),
		}
	}
	return msgs
}

func TestPublishBatchAndReadItBack(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 0)
	sent := batch(20)
	require.NoError(t, e.publisher().Publish(ctx, sent))

	fetched, err := e.consumer(t, "reader", 10*time.Second).Fetch(len(sent), jetstream.FetchMaxWait(5*time.Second))
	require.NoError(t, err)
	var got []uow.Message
	for msg := range fetched.Messages() {
		require.Equal(t, e.prefix+msg.Headers().Get(natsjs.HeaderTopic), msg.Subject())
		got = append(got, natsjs.FromMsg(&nats.Msg{Subject: msg.Subject(), Header: msg.Headers(), Data: msg.Data()}))
		require.NoError(t, msg.Ack())
	}
	require.NoError(t, fetched.Error())
	require.Len(t, got, len(sent))
	for i := range sent {
		require.Equal(t, sent[i].ID, got[i].ID, "stream order is batch order")
		require.Equal(t, sent[i].Topic, got[i].Topic)
		require.Equal(t, sent[i].Key, got[i].Key)
		require.Equal(t, sent[i].Name, got[i].Name)
		require.Equal(t, sent[i].Payload, got[i].Payload)
		require.Equal(t, sent[i].Headers, got[i].Headers)
		require.True(t, sent[i].CreatedAt.Equal(got[i].CreatedAt))
	}
}

func TestDuplicatesWithinTheWindowAreDropped(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, time.Minute)
	sent := batch(10)
	p := e.publisher()
	require.NoError(t, p.Publish(ctx, sent))
	require.NoError(t, p.Publish(ctx, sent), "a duplicate is confirmed, not an error")
	require.NoError(t, p.Publish(ctx, sent[3:4]))
	require.EqualValues(t, len(sent), e.msgs(t))
}

func TestFailedAckNamesTheMessage(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 0)
	p := natsjs.NewPublisher(e.js, &natsjs.Options{Subject: func(m uow.Message) string {
		if m.Name == "lost" {
			return "nowhere." + testenv.Name("s") // no stream has it
		}
		return e.prefix + m.Topic
	}})
	msgs := batch(3)
	msgs[1].Name = "lost"
	err := p.Publish(ctx, msgs)
	var pe *natsjs.PublishError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "id-001", pe.ID)
	require.ErrorIs(t, err, jetstream.ErrNoStreamResponse)
	require.ErrorContains(t, err, "lost id-001")
	require.EqualValues(t, 2, e.msgs(t), "the others were stored")

	err = p.Publish(ctx, []uow.Message{{Topic: "orders", Name: "no-id"}})
	require.ErrorIs(t, err, natsjs.ErrInvalid)
}

// counter is the consumer's aggregate: how often each message took effect.
type counterID string

type counter struct {
	aggregate.Root[counterID]
	Seen map[string]int `json:"seen"`
}

func (*counter) AggregateType() string { return "counter" }

func newConsumerStore(t *testing.T) *uow.Store {
	t.Helper()
	store := uow.NewStore(memuow.New(nil), nil)
	require.NoError(t, uow.Do(context.Background(), store, func(ctx context.Context, u *uow.Unit) error {
		root, err := aggregate.NewRoot[counterID]("c")
		if err != nil {
			return err
		}
		return uow.Repo[counter, counterID](u).Add(ctx, &counter{Root: root, Seen: map[string]int{}})
	}, nil))
	return store
}

func seen(t *testing.T, store *uow.Store) map[string]int {
	t.Helper()
	var out map[string]int
	require.NoError(t, uow.Do(context.Background(), store, func(ctx context.Context, u *uow.Unit) error {
		c, err := uow.Repo[counter, counterID](u).Get(ctx, "c")
		out = c.Seen
		return err
	}, nil))
	return out
}

func pending(t *testing.T, c jetstream.Consumer) (ackPending int, numPending uint64) {
	t.Helper()
	info, err := c.Info(context.Background())
	require.NoError(t, err)
	return info.NumAckPending, info.NumPending
}

// run starts Consume in the background and stops it at cleanup.
func run(t *testing.T, c jetstream.Consumer, h outbox.Handler, o *natsjs.ConsumeOptions) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- natsjs.Consume(ctx, c, h, o) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
}

// TestRelayToConsumerHasOneEffectPerMessage: outbox → relay → Publisher → stream → Consume →
// Idempotent unit. The batch is published a second time after the duplicate window (the
// broker stores the copies: the inbox must absorb them), and one message's handler fails once
// after changing the aggregate (rolled back, nak'd, redelivered).
func TestRelayToConsumerHasOneEffectPerMessage(t *testing.T) {
	ctx := context.Background()
	const window = 200 * time.Millisecond
	e := newEnv(t, window)

	producer := memuow.New(nil)
	producerStore := uow.NewStore(producer, nil)
	const n = 30
	for i := range n {
		require.NoError(t, uow.Do(ctx, producerStore, func(ctx context.Context, u *uow.Unit) error {
			return u.Emit(uow.Message{Topic: "orders", Key: fmt.Sprint("k", i%4), Name: fmt.Sprint("E", i), Payload: []byte(`{}`)})
		}, nil))
	}
	outboxed := producer.Messages()
	require.Len(t, outboxed, n)

	pub := e.publisher()
	relay := outbox.NewRelay(producer, pub, &outbox.RelayOptions{ID: "relay", BatchSize: 8})
	for len(producer.Messages()) > 0 {
		_, err := relay.Step(ctx)
		require.NoError(t, err)
	}
	require.EqualValues(t, n, e.msgs(t))
	// A relay that crashed before its ack publishes again, here after the window.
	time.Sleep(2 * window)
	require.NoError(t, pub.Publish(ctx, outboxed))
	require.EqualValues(t, 2*n, e.msgs(t), "outside the window the broker keeps the copies")

	store := newConsumerStore(t)
	var mu sync.Mutex
	calls := map[string]int{}
	failOnce := outboxed[7].ID
	h := outbox.Idempotent(store, "counting", func(ctx context.Context, u *uow.Unit, m uow.Message) error {
		c, err := uow.Repo[counter, counterID](u).Get(ctx, "c")
		if err != nil {
			return err
		}
		c.Seen[m.ID]++
		mu.Lock()
		defer mu.Unlock()
		calls[m.ID]++
		if m.ID == failOnce && calls[m.ID] == 1 {
			return errors.New("transient failure")
		}
		return nil
	}, nil)
	cons := e.consumer(t, "counting", 10*time.Second)
	run(t, cons, h, &natsjs.ConsumeOptions{MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})

	require.Eventually(t, func() bool {
		ack, num := pending(t, cons)
		return ack == 0 && num == 0 && len(seen(t, store)) == n
	}, 10*time.Second, 20*time.Millisecond)
	got := seen(t, store)
	for _, m := range outboxed {
		require.Equal(t, 1, got[m.ID], "one effect for %s", m.Name)
	}
	mu.Lock()
	require.Equal(t, 2, calls[failOnce], "failed once, then succeeded on redelivery")
	mu.Unlock()
}

func TestPoisonMessageIsTerminatedAndTheRestFlows(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 0)
	msgs := batch(5)
	msgs[1].Name = "poison"
	require.NoError(t, e.publisher().Publish(ctx, msgs))

	var mu sync.Mutex
	calls := map[string]int{}
	var terminated []string
	h := func(_ context.Context, m uow.Message) error {
		mu.Lock()
		defer mu.Unlock()
		calls[m.Name]++
		if m.Name == "poison" {
			return errors.New("cannot decode")
		}
		return nil
	}
	cons := e.consumer(t, "poisoned", 10*time.Second)
	run(t, cons, h, &natsjs.ConsumeOptions{MaxDeliveries: 3, MinBackoff: 10 * time.Millisecond,
		OnTerm: func(_ context.Context, m uow.Message, err error) {
			mu.Lock()
			defer mu.Unlock()
			require.ErrorContains(t, err, "cannot decode")
			terminated = append(terminated, m.ID)
		}})

	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		ack, num := pending(t, cons)
		return ack == 0 && num == 0 && len(terminated) == 1
	}, 10*time.Second, 20*time.Millisecond)

	// More messages still flow after the poison one was terminated.
	more := batch(8)[5:]
	require.NoError(t, e.publisher().Publish(ctx, more))
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return calls[more[2].Name] == 1
	}, 10*time.Second, 20*time.Millisecond)

	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 3, calls["poison"], "delivered MaxDeliveries times, then terminated")
	require.Equal(t, []string{"id-001"}, terminated)
	for _, m := range append(msgs, more...) {
		if m.Name != "poison" {
			require.Equal(t, 1, calls[m.Name], m.Name)
		}
	}
}

// TestStopFinishesTheMessageInHand: cancelling Consume's ctx while a handler runs lets the
// handler finish and ack; Consume then returns nil, and the messages it had pulled ahead are
// delivered to the next Consume after AckWait.
func TestStopFinishesTheMessageInHand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	e := newEnv(t, 0)
	require.NoError(t, e.publisher().Publish(context.Background(), batch(3)))
	started, release := make(chan struct{}), make(chan struct{})
	var handled []string
	h := func(hctx context.Context, m uow.Message) error {
		if len(handled) == 0 {
			close(started)
			<-release
			if hctx.Err() != nil {
				return hctx.Err()
			}
		}
		handled = append(handled, m.ID)
		return nil
	}
	cons := e.consumer(t, "stopping", time.Second)
	done := make(chan error, 1)
	go func() { done <- natsjs.Consume(ctx, cons, h, nil) }()
	<-started
	cancel()
	close(release)
	require.NoError(t, <-done)
	require.Equal(t, []string{"id-000"}, handled)

	ctx2, cancel2 := context.WithCancel(context.Background())
	done = make(chan error, 1)
	go func() { done <- natsjs.Consume(ctx2, cons, h, nil) }()
	require.Eventually(t, func() bool { ack, num := pending(t, cons); return ack == 0 && num == 0 }, 10*time.Second, 20*time.Millisecond)
	cancel2()
	require.NoError(t, <-done)
	require.Equal(t, []string{"id-000", "id-001", "id-002"}, handled)
}

func TestConsumeRejectsNilArguments(t *testing.T) {
	err := natsjs.Consume(context.Background(), nil, func(context.Context, uow.Message) error { return nil }, nil)
	require.ErrorIs(t, err, natsjs.ErrInvalid)
}

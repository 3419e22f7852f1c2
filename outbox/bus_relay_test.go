package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
)

// emitOn commits one message per name on topic, in order, each on key.
func (e *env) emitOn(t *testing.T, topic, key string, names ...string) {
	t.Helper()
	require.NoError(t, uow.Do(context.Background(), e.store, func(ctx context.Context, u *uow.Unit) error {
		for _, n := range names {
			if err := u.Emit(uow.Message{Topic: topic, Key: key, Name: n, Payload: []byte(`{}`)}); err != nil {
				return err
			}
		}
		return nil
	}, nil))
}

// names returns the names of the messages left in the outbox, parked ones included.
func (e *env) names() []string {
	var out []string
	for _, m := range e.drv.Messages() {
		out = append(out, m.Name)
	}
	return out
}

// counts is s without its times.
func counts(s outbox.BatchStats) outbox.BatchStats {
	s.Lag, s.Duration = 0, 0
	return s
}

// delivery records what a bus's subscriptions received, by name.
type delivery struct {
	mu  sync.Mutex
	got []string
}

func (d *delivery) handle(_ context.Context, m uow.Message) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.got = append(d.got, m.Name)
	return nil
}

func (d *delivery) names() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.got)
}

// TestRelayRetriesAndParksAMessageWithoutSubscriber: a message on a topic nobody subscribes to
// is not acknowledged: the relay retries it with backoff and parks it, and its key's later
// messages wait behind it while other keys flow. Once a subscription appears and an operator
// unparks it, it is delivered, in order.
func TestRelayRetriesAndParksAMessageWithoutSubscriber(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	var bus outbox.Bus
	var d delivery
	_, err := bus.Subscribe("orders", "s", d.handle)
	require.NoError(t, err)
	e.emitOn(t, "orders", "a", "a1")
	e.emitOn(t, "ordres", "a", "a2") // a mistyped topic
	e.emitOn(t, "orders", "a", "a3")
	e.emitOn(t, "orders", "b", "b1")
	var stats []outbox.BatchStats
	r := relay(e, &bus, &outbox.RelayOptions{BatchSize: 10, MaxAttempts: 3, MinBackoff: time.Second, MaxBackoff: 4 * time.Second,
		Logger: discard, Observe: func(s outbox.BatchStats) { stats = append(stats, s) }})

	step := func() {
		t.Helper()
		_, err := r.Step(ctx)
		require.NoError(t, err)
	}
	step()
	require.Equal(t, []string{"a1", "b1"}, d.names())
	step()
	require.Equal(t, []string{"a1", "b1"}, d.names())
	require.Equal(t, []string{"a2", "a3"}, e.names(), "not acknowledged into the void")
	require.Equal(t, outbox.BatchStats{Claimed: 1, Failed: 1}, counts(stats[1]))
	step()
	require.Equal(t, outbox.BatchStats{}, counts(stats[2]), "retried only after its backoff")
	for range 2 {
		e.clock.Advance(5 * time.Second)
		step()
	}
	parked, err := e.drv.Parked(ctx, 10)
	require.NoError(t, err)
	require.Len(t, parked, 1)
	require.Equal(t, "a2", parked[0].Message.Name)
	require.Equal(t, `outbox: no subscriber: topic "ordres" of message `+parked[0].ID+` (a2): subscribe to it, or declare it with Bus.Discard`,
		parked[0].Reason)
	e.clock.Advance(time.Hour)
	step()
	require.Equal(t, []string{"a1", "b1"}, d.names(), "a3 waits behind the parked a2")

	_, err = bus.Subscribe("ordres", "s", d.handle)
	require.NoError(t, err)
	n, err := e.drv.Unpark(ctx, []string{parked[0].ID})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	for range 2 {
		step()
	}
	require.Equal(t, []string{"a1", "b1", "a2", "a3"}, d.names())
	require.Empty(t, e.names())
}

// TestRelayAcksADiscardedTopic: a topic declared with Discard is published without a
// subscriber, and acknowledged.
func TestRelayAcksADiscardedTopic(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	var bus outbox.Bus
	require.NoError(t, bus.Discard("audit"))
	e.emitOn(t, "audit", "a", "logged", "logged again")
	var stats outbox.BatchStats
	r := relay(e, &bus, &outbox.RelayOptions{Logger: discard, Observe: func(s outbox.BatchStats) { stats = s }})
	for range 2 {
		_, err := r.Step(ctx)
		require.NoError(t, err)
	}
	require.Empty(t, e.names())
	require.Equal(t, outbox.BatchStats{Claimed: 1, Published: 1}, counts(stats))
}

// perMessage is a Publisher that fails the names it is told to with a PublishError (misaligned
// when told so), and counts its calls.
type perMessage struct {
	failing    map[string]bool
	misaligned bool
	calls      int
	published  []string
}

func (p *perMessage) Publish(_ context.Context, msgs []uow.Message) error {
	p.calls++
	errs := make([]error, len(msgs))
	failed := false
	for i, m := range msgs {
		if p.failing[m.Name] {
			errs[i], failed = fmt.Errorf("refused %s", m.Name), true
			continue
		}
		p.published = append(p.published, m.Name)
	}
	if !failed {
		return nil
	}
	if p.misaligned && len(msgs) > 1 {
		errs = errs[1:]
	}
	return fmt.Errorf("broker: %w", &outbox.PublishError{Errs: errs})
}

// TestRelayReadsPublishErrors: a PublishError with one entry per message says which messages
// failed: the relay acknowledges the others without publishing them again, and records each
// failure's own error. A misaligned one is not trusted: the relay publishes one by one.
func TestRelayReadsPublishErrors(t *testing.T) {
	ctx := context.Background()
	for _, misaligned := range []bool{false, true} {
		t.Run(fmt.Sprint("misaligned=", misaligned), func(t *testing.T) {
			e := newEnv(t)
			e.emit(t, "a", "a1")
			e.emit(t, "b", "b1")
			e.emit(t, "c", "c1")
			pub := &perMessage{failing: map[string]bool{"b1": true}, misaligned: misaligned}
			r := relay(e, pub, &outbox.RelayOptions{BatchSize: 10, MaxAttempts: 1, Logger: discard})
			_, err := r.Step(ctx)
			require.NoError(t, err)
			require.Equal(t, []string{"b1"}, e.names(), "a1 and c1 acknowledged")
			parked, err := e.drv.Parked(ctx, 10)
			require.NoError(t, err)
			require.Len(t, parked, 1)
			if misaligned {
				require.Equal(t, 4, pub.calls, "the batch, then one by one")
				require.Equal(t, []string{"a1", "c1", "a1", "c1"}, pub.published)
				require.Contains(t, parked[0].Reason, "refused b1")
				return
			}
			require.Equal(t, 1, pub.calls, "no second publication")
			require.Equal(t, []string{"a1", "c1"}, pub.published)
			require.Equal(t, "refused b1", parked[0].Reason, "the message's own error")
		})
	}
}

// TestBusRelayHandlerFailure: through the relay, a subscription that fails a message fails it
// alone; the round's other messages are acknowledged and not delivered again.
func TestBusRelayHandlerFailure(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	var bus outbox.Bus
	var d delivery
	_, err := bus.Subscribe("t", "s", func(ctx context.Context, m uow.Message) error {
		if m.Name == "b1" {
			return errors.New("cannot")
		}
		return d.handle(ctx, m)
	})
	require.NoError(t, err)
	e.emit(t, "a", "a1")
	e.emit(t, "b", "b1")
	e.emit(t, "c", "c1")
	r := relay(e, &bus, &outbox.RelayOptions{BatchSize: 10, Logger: discard})
	_, err = r.Step(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"a1", "c1"}, d.names(), "each delivered once")
	require.Equal(t, []string{"b1"}, e.names())
}

package outbox_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
)

// TestBusRelayNeverAcksIntoTheVoid runs random commits on three topics (one subscribed, one
// declared with Discard, one whose subscription appears at some point) through a relay to the
// bus, with the clock moving past backoffs and an operator unparking. Checked after every
// action: a message left the outbox only if it was delivered or its topic is discarded; a
// discarded message is never delivered; per key, what left the outbox is a prefix of the commit
// order and the first deliveries are the key's non-discarded messages in commit order. Checked
// after a drain with the late subscription in place: every message that is not discarded was
// delivered, in commit order per key.
func TestBusRelayNeverAcksIntoTheVoid(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		m := newBusMachine(t, rt)
		rt.Repeat(rapid.StateMachineActions(m))
		m.drain(rt)
	})
}

var busTopics = []string{"sub", "discarded", "late"}

type busMachine struct {
	ctx       context.Context
	e         *env
	bus       *outbox.Bus
	relay     *outbox.Relay
	delivered []string // IDs, in delivery order, redeliveries included
	late      bool     // topic late has its subscription

	committed []uow.Message // in commit order
}

func newBusMachine(t *testing.T, rt *rapid.T) *busMachine {
	m := &busMachine{ctx: context.Background(), e: newEnv(t), bus: &outbox.Bus{}}
	_, err := m.bus.Subscribe("sub", "recorder", m.record)
	require.NoError(rt, err)
	require.NoError(rt, m.bus.Discard("discarded"))
	m.relay = outbox.NewRelay(m.e.drv, m.bus, &outbox.RelayOptions{ID: "r", Clock: m.e.clock,
		BatchSize: rapid.IntRange(1, 4).Draw(rt, "batch"), MaxAttempts: 2,
		MinBackoff: propMinBackoff, MaxBackoff: propMaxBackoff, Logger: discard})
	return m
}

func (m *busMachine) record(_ context.Context, msg uow.Message) error {
	m.delivered = append(m.delivered, msg.ID)
	return nil
}

// Produce commits a unit of one to three messages, each on a random topic and key.
func (m *busMachine) Produce(t *rapid.T) {
	var msgs []uow.Message
	for range rapid.IntRange(1, 3).Draw(t, "messages") {
		msgs = append(msgs, uow.Message{ID: uuid.Must(uuid.NewV7()).String(), Topic: rapid.SampledFrom(busTopics).Draw(t, "topic"),
			Key: rapid.SampledFrom(propKeys).Draw(t, "key"), Name: "n", Payload: []byte(`{}`)})
	}
	require.NoError(t, uow.Do(m.ctx, m.e.store, func(_ context.Context, u *uow.Unit) error {
		for _, msg := range msgs {
			if err := u.Emit(msg); err != nil {
				return err
			}
		}
		return nil
	}, nil))
	m.committed = append(m.committed, msgs...)
}

// Step runs one batch of the relay.
func (m *busMachine) Step(t *rapid.T) {
	_, err := m.relay.Step(m.ctx)
	require.NoError(t, err)
}

// Advance moves the clock, sometimes past every backoff.
func (m *busMachine) Advance(t *rapid.T) {
	m.e.clock.Advance(time.Duration(rapid.SampledFrom([]int{1, 2, 3, 5, 10, 31}).Draw(t, "seconds")) * time.Second)
}

// SubscribeLate subscribes to topic late: a consumer deployed after its messages were sent.
func (m *busMachine) SubscribeLate(t *rapid.T) {
	if m.late {
		t.Skip("subscribed already")
	}
	_, err := m.bus.Subscribe("late", "recorder", m.record)
	require.NoError(t, err)
	m.late = true
}

// Unpark is the operator retrying the parked messages.
func (m *busMachine) Unpark(t *rapid.T) {
	parked, err := m.e.drv.Parked(m.ctx, 1000)
	require.NoError(t, err)
	ids := make([]string, len(parked))
	for i, p := range parked {
		ids[i] = p.ID
	}
	_, err = m.e.drv.Unpark(m.ctx, ids)
	require.NoError(t, err)
}

// Check holds after every action.
func (m *busMachine) Check(t *rapid.T) {
	inOutbox := map[string]bool{}
	for _, msg := range m.e.drv.Messages() {
		inOutbox[msg.ID] = true
	}
	delivered := map[string]bool{}
	var firsts []string
	for _, id := range m.delivered {
		if !delivered[id] {
			delivered[id] = true
			firsts = append(firsts, id)
		}
	}
	gone := map[string][]string{} // per key, the messages that left the outbox, in commit order
	for _, msg := range m.committed {
		if msg.Topic == "discarded" {
			require.False(t, delivered[msg.ID], "discarded %s was delivered", msg.ID)
		}
		if inOutbox[msg.ID] {
			continue
		}
		require.True(t, msg.Topic == "discarded" || delivered[msg.ID],
			"%s on topic %s left the outbox undelivered (late subscribed: %v)", msg.ID, msg.Topic, m.late)
		gone[msg.Key] = append(gone[msg.Key], msg.ID)
	}
	all := byKey(m.committed)
	var sent []uow.Message
	for _, msg := range m.committed {
		if msg.Topic != "discarded" {
			sent = append(sent, msg)
		}
	}
	deliverable := byKey(sent)
	for _, k := range propKeys {
		require.True(t, slices.Equal(all[k][:len(gone[k])], gone[k]), "key %s leaves the outbox in commit order: %v of %v", k, gone[k], all[k])
	}
	for k, got := range keyed(m.committed, firsts) {
		require.Equal(t, deliverable[k][:len(got)], got, "first deliveries of key %s follow the commit order", k)
	}
}

// drain subscribes the late topic, then unparks and steps, the clock past every backoff, until
// the outbox is empty.
func (m *busMachine) drain(t *rapid.T) {
	if !m.late {
		m.SubscribeLate(t)
	}
	for i := 0; len(m.e.drv.Messages()) > 0; i++ {
		if i == 200 {
			t.Fatalf("the outbox does not drain: %d messages left", len(m.e.drv.Messages()))
		}
		m.e.clock.Advance(2 * time.Minute)
		m.Unpark(t)
		m.Step(t)
	}
	m.Check(t)
	var sent []uow.Message
	for _, msg := range m.committed {
		if msg.Topic != "discarded" {
			sent = append(sent, msg)
		}
	}
	var firsts []string
	for _, id := range m.delivered {
		if !slices.Contains(firsts, id) {
			firsts = append(firsts, id)
		}
	}
	require.Equal(t, byKey(sent), keyed(m.committed, firsts), "every message that is not discarded, in commit order per key")
}

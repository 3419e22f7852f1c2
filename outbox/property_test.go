package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/memuow"
)

// TestRelayProperties runs random interleavings of commits (open units emitting on a few keys,
// some messages delayed, some units rolled back, some commits failing before or after they
// store), steps of two relays on a shared fake clock that the test advances (past leases and
// backoffs too), relays that die after a claim or before their ack, broker failures (refused,
// partly delivered, delivered with the confirmation lost), broker redeliveries, consumer commits
// that fail or lose their reply, and operator unparks. Checked after every action: nothing
// committed is lost (it is in the outbox or was delivered), nothing uncommitted is delivered,
// and per key the first deliveries and the consumer's effects are a prefix of the commit order.
// Checked after a quiescent drain: every committed message was delivered, in commit order per
// key, and took effect exactly once.
func TestRelayProperties(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		m := newRelayMachine(t, rt)
		rt.Repeat(rapid.StateMachineActions(m))
		m.drain(rt)
	})
}

// discard drops the relays' logs: the machine's failures are deliberate.
var discard = slog.New(slog.DiscardHandler)

var propKeys = []string{"a", "b", "c"}

const (
	propLease = 30 * time.Second
	// Backoffs of 2s and 4s, jittered by less than a second, against a clock that moves in whole
	// seconds: whether a retry is due is the same on every run of a sequence, so rapid can
	// shrink and replay it.
	propMinBackoff = 2 * time.Second
	propMaxBackoff = 4 * time.Second
)

// relayMachine is the system under test (a memuow outbox, two relays, a flaky broker in front of
// an idempotent consumer) and the model: what was committed, in commit order.
type relayMachine struct {
	ctx    context.Context
	e      *env
	c      *consumer
	broker *flakyBroker
	relays []*outbox.Relay
	stores []*crashingStore
	open   []*openUnit

	committed  []uow.Message // the model: every committed message, in commit order
	byID       map[string]uow.Message
	rolledBack map[string]bool
	dead       int // relays that died after a claim under a name never used again
}

// openUnit is a unit of work begun and not ended, and what it emitted.
type openUnit struct {
	u    *uow.Unit
	msgs []uow.Message
}

func newRelayMachine(t *testing.T, rt *rapid.T) *relayMachine {
	m := &relayMachine{
		ctx:        context.Background(),
		e:          newEnv(t),
		c:          newConsumer(rt),
		byID:       map[string]uow.Message{},
		rolledBack: map[string]bool{},
	}
	m.broker = &flakyBroker{bus: m.c.subscribe(rt)}
	batch := rapid.IntRange(1, 4).Draw(rt, "batch")
	for _, id := range []string{"r1", "r2"} {
		s := &crashingStore{Outbox: m.e.drv}
		m.stores = append(m.stores, s)
		m.relays = append(m.relays, outbox.NewRelay(s, m.broker, &outbox.RelayOptions{
			ID: id, Clock: m.e.clock, BatchSize: batch, Lease: propLease, MaxAttempts: 4,
			MinBackoff: propMinBackoff, MaxBackoff: propMaxBackoff, Logger: discard,
		}))
	}
	return m
}

// --- commits ---

// Begin starts a unit.
func (m *relayMachine) Begin(t *rapid.T) {
	u, err := m.e.store.Begin(m.ctx)
	require.NoError(t, err)
	m.open = append(m.open, &openUnit{u: u})
}

// Produce commits a unit of one to three messages at once.
func (m *relayMachine) Produce(t *rapid.T) {
	m.Begin(t)
	for range rapid.IntRange(1, 3).Draw(t, "messages") {
		m.emit(t, m.open[len(m.open)-1])
	}
	m.commit(t, len(m.open)-1)
}

// Emit emits a message in an open unit (a new one if none is open).
func (m *relayMachine) Emit(t *rapid.T) {
	if len(m.open) == 0 {
		m.Begin(t)
	}
	m.emit(t, m.pickOpen(t))
}

// emit emits a message on a key in ou, possibly delayed.
func (m *relayMachine) emit(t *rapid.T, ou *openUnit) {
	msg := uow.Message{
		ID:      uuid.Must(uuid.NewV7()).String(),
		Topic:   "t",
		Key:     rapid.SampledFrom(propKeys).Draw(t, "key"),
		Payload: []byte(`{}`),
	}
	msg.Name = fmt.Sprintf("%s-%d", msg.Key, len(m.byID)+len(m.rolledBack)+len(ou.msgs))
	if rapid.IntRange(0, 3).Draw(t, "delayed") == 0 {
		msg.DeliverAfter = m.e.clock.Now().Add(time.Duration(rapid.IntRange(1, 90).Draw(t, "delay")) * time.Second)
	}
	require.NoError(t, ou.u.Emit(msg))
	ou.msgs = append(ou.msgs, msg)
}

// Commit commits an open unit; the commit may fail before storing anything, or after storing
// everything with the error lost on the way back.
func (m *relayMachine) Commit(t *rapid.T) {
	i, _ := m.pickOpenIndex(t)
	m.commit(t, i)
}

func (m *relayMachine) commit(t *rapid.T, i int) {
	ou := m.open[i]
	m.open = slices.Delete(m.open, i, i+1)
	fault := rapid.IntRange(0, 5).Draw(t, "commitFault") // 0 fails before, 1 after, else none
	if len(ou.msgs) == 0 || fault > 1 {
		fault = -1
	} else {
		first := ou.msgs[0].ID
		m.e.drv.InjectFault(memuow.Fault{After: fault == 1, Match: func(c *driver.Changes) bool {
			return len(c.Messages) > 0 && c.Messages[0].ID == first
		}})
	}
	err := ou.u.Commit(m.ctx)
	if fault == -1 {
		require.NoError(t, err)
	} else {
		require.ErrorIs(t, err, memuow.ErrFault)
		_ = ou.u.Rollback(m.ctx)
	}
	if fault == 0 {
		m.forget(ou)
		return
	}
	for _, msg := range ou.msgs {
		m.committed = append(m.committed, msg)
		m.byID[msg.ID] = msg
	}
}

// Rollback rolls an open unit back.
func (m *relayMachine) Rollback(t *rapid.T) {
	i, ou := m.pickOpenIndex(t)
	m.open = slices.Delete(m.open, i, i+1)
	require.NoError(t, ou.u.Rollback(m.ctx))
	m.forget(ou)
}

func (m *relayMachine) forget(ou *openUnit) {
	for _, msg := range ou.msgs {
		m.rolledBack[msg.ID] = true
	}
}

func (m *relayMachine) pickOpen(t *rapid.T) *openUnit {
	_, ou := m.pickOpenIndex(t)
	return ou
}

func (m *relayMachine) pickOpenIndex(t *rapid.T) (int, *openUnit) {
	if len(m.open) == 0 {
		t.Skip("no open unit")
	}
	i := rapid.IntRange(0, len(m.open)-1).Draw(t, "unit")
	return i, m.open[i]
}

// --- relays, crashes, the broker and the clock ---

// Step runs one batch of a relay, through a broker that may fail some of its publications, and
// may "crash" the relay after it published, before its ack reaches the store.
func (m *relayMachine) Step(t *rapid.T) {
	i := rapid.IntRange(0, len(m.relays)-1).Draw(t, "relay")
	m.stores[i].crash = rapid.IntRange(0, 4).Draw(t, "crashBeforeAck") == 0
	m.broker.plan = rapid.SliceOfN(rapid.IntRange(0, 3), 0, 4).Draw(t, "brokerPlan")
	m.broker.calls = 0
	defer func() { m.stores[i].crash, m.broker.plan = false, nil }()
	_, err := m.relays[i].Step(m.ctx)
	if err != nil && !errors.Is(err, errCrashed) {
		t.Fatalf("step of %s: %v", m.relays[i].ID(), err)
	}
}

// Die claims a batch for a relay that then dies without publishing: one of the two relays
// (which later runs again with the same ID, as a restarted process would) or one never heard of
// again.
func (m *relayMachine) Die(t *rapid.T) {
	owner := rapid.SampledFrom([]string{"r1", "r2", "gone"}).Draw(t, "dying")
	if owner == "gone" {
		m.dead++
		owner = fmt.Sprint("gone-", m.dead)
	}
	_, err := m.e.drv.Claim(m.ctx, owner, m.e.clock.Now(), propLease, rapid.IntRange(1, 4).Draw(t, "limit"))
	require.NoError(t, err)
}

// Advance moves the shared clock, sometimes past the leases.
func (m *relayMachine) Advance(t *rapid.T) {
	m.e.clock.Advance(time.Duration(rapid.SampledFrom([]int{1, 2, 3, 5, 10, 31}).Draw(t, "seconds")) * time.Second)
}

// Redeliver makes the broker deliver an already delivered message again.
func (m *relayMachine) Redeliver(t *rapid.T) {
	delivered := m.c.delivered()
	if len(delivered) == 0 {
		t.Skip("nothing delivered yet")
	}
	msg := m.byID[rapid.SampledFrom(delivered).Draw(t, "redelivered")]
	_ = m.broker.bus.Publish(m.ctx, []uow.Message{msg}) // may meet a consumer fault: fine
}

// ConsumerFault makes the consumer's next commit fail, before it stores anything or after (the
// effect and inbox mark are stored, but the handler returns an error).
func (m *relayMachine) ConsumerFault(t *rapid.T) {
	m.c.drv.InjectFault(memuow.Fault{After: rapid.Bool().Draw(t, "after")})
}

// Unpark is the operator retrying the parked messages.
func (m *relayMachine) Unpark(t *rapid.T) {
	m.unparkAll(t)
}

func (m *relayMachine) unparkAll(t *rapid.T) {
	parked, err := m.e.drv.Parked(m.ctx, 1000)
	require.NoError(t, err)
	ids := make([]string, len(parked))
	for i, p := range parked {
		ids[i] = p.ID
	}
	n, err := m.e.drv.Unpark(m.ctx, ids)
	require.NoError(t, err)
	require.Equal(t, len(ids), n)
}

// --- invariants ---

// Check holds after every action.
func (m *relayMachine) Check(t *rapid.T) {
	delivered := m.c.delivered()
	inOutbox := map[string]bool{}
	for _, msg := range m.e.drv.Messages() {
		_, ok := m.byID[msg.ID]
		require.True(t, ok, "%s in the outbox was never committed", msg.Name)
		inOutbox[msg.ID] = true
	}
	seen := map[string]bool{}
	for _, id := range delivered {
		_, ok := m.byID[id]
		require.True(t, ok, "delivered %s was never committed (rolled back: %v)", id, m.rolledBack[id])
		seen[id] = true
	}
	for _, msg := range m.committed {
		require.True(t, inOutbox[msg.ID] || seen[msg.ID], "%s was lost: neither in the outbox nor delivered", msg.Name)
	}
	want := byKey(m.committed)
	for k, got := range m.firstDeliveries(delivered) {
		require.Equal(t, want[k][:len(got)], got, "first deliveries of key %s follow the commit order", k)
	}
	for k, got := range m.c.effects(t, propKeys...) {
		require.Equal(t, want[k][:min(len(got), len(want[k]))], got, "effects on key %s: once each, in commit order", k)
	}
}

// firstDeliveries groups the first delivery of each message by key.
func (m *relayMachine) firstDeliveries(delivered []string) map[string][]string {
	seen := map[string]bool{}
	var firsts []string
	for _, id := range delivered {
		if !seen[id] {
			seen[id] = true
			firsts = append(firsts, id)
		}
	}
	return keyed(m.committed, firsts)
}

// drain ends the open units, then lets the system settle: no more faults (beyond the consumer
// faults still pending), the clock past every lease, backoff and delay, parked messages
// unparked, and relays stepping until the outbox is empty. Then every committed message was
// delivered, in commit order per key, with exactly one effect each.
func (m *relayMachine) drain(t *rapid.T) {
	for _, ou := range m.open {
		require.NoError(t, ou.u.Rollback(m.ctx))
		m.forget(ou)
	}
	m.open = nil
	for i := 0; len(m.e.drv.Messages()) > 0; i++ {
		if i == 200 {
			t.Fatalf("the outbox does not drain: %d messages left", len(m.e.drv.Messages()))
		}
		m.e.clock.Advance(2 * time.Minute)
		m.unparkAll(t)
		_, err := m.relays[i%2].Step(m.ctx)
		require.NoError(t, err)
	}
	m.Check(t)

	delivered := m.c.delivered()
	want := byKey(m.committed)
	for _, msg := range m.committed {
		require.Contains(t, delivered, msg.ID, "%s delivered at least once", msg.Name)
	}
	require.Equal(t, want, m.firstDeliveries(delivered), "per-key order of first deliveries")
	require.Equal(t, want, m.c.effects(t, propKeys...), "one effect per committed message, in commit order per key")
	require.Equal(t, len(m.committed), m.c.drv.InboxLen(), "one inbox mark per committed message")
}

// flakyBroker publishes to the bus as its plan says, one entry per Publish call (0 or no entry:
// deliver; 1: refuse, delivering nothing; 2: deliver everything, then lose the confirmation;
// 3: deliver the first half, then fail).
type flakyBroker struct {
	bus   *outbox.Bus
	plan  []int
	calls int
}

var _ outbox.Publisher = (*flakyBroker)(nil)

var errBroker = errors.New("broker failure")

func (b *flakyBroker) Publish(ctx context.Context, msgs []uow.Message) error {
	mode := 0
	if b.calls < len(b.plan) {
		mode = b.plan[b.calls]
	}
	b.calls++
	switch mode {
	case 1:
		return errBroker
	case 2:
		if err := b.bus.Publish(ctx, msgs); err != nil {
			return err
		}
		return errBroker
	case 3:
		if err := b.bus.Publish(ctx, msgs[:len(msgs)/2]); err != nil {
			return err
		}
		return errBroker
	}
	return b.bus.Publish(ctx, msgs)
}

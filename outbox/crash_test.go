package outbox_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/memuow"
)

// Crash tests on memuow: a relay dies between its publish and its ack, or after a claim, and
// another relay (or the same one, restarted) takes over; the consumer's inbox absorbs what is
// published twice. property_test.go mixes the same faults at random; uow/pguow's
// relay_crash_test.go runs them against PostgreSQL.

// tally is the consumer's effect on one key: how many messages of the key it handled, and their
// IDs in the order handled. It is stored in the consumer's own store, so the effect commits with
// the inbox mark.
type tally struct {
	aggregate.Root[string]
	Count int      `json:"count"`
	IDs   []string `json:"ids"`
}

func (*tally) AggregateType() string { return "tally" }

// consumer is an idempotent subscriber (outbox.Idempotent over a memuow store of its own) that
// adds each message to its key's tally, and logs every delivery it gets, duplicates included.
type consumer struct {
	drv    *memuow.Driver
	store  *uow.Store
	handle outbox.Handler

	mu         sync.Mutex
	deliveries []string // message IDs, every delivery in the order received
}

const consumerName = "tallies"

// tb is what the helpers need of a *testing.T or a *rapid.T.
type tb interface {
	require.TestingT
	Helper()
}

func newConsumer(t tb) *consumer {
	t.Helper()
	c := &consumer{drv: memuow.New(nil)}
	c.store = uow.NewStore(c.drv, nil)
	idem := outbox.Idempotent(c.store, consumerName, func(ctx context.Context, u *uow.Unit, m uow.Message) error {
		repo := uow.Repo[tally, string](u)
		tl, err := repo.Get(ctx, m.Key)
		if errors.Is(err, uow.ErrNotFound) {
			var root aggregate.Root[string]
			if root, err = aggregate.NewRoot(m.Key); err != nil {
				return err
			}
			tl = &tally{Root: root}
			err = repo.Add(ctx, tl)
		}
		if err != nil {
			return err
		}
		tl.Count++
		tl.IDs = append(tl.IDs, m.ID)
		return nil
	}, nil)
	c.handle = func(ctx context.Context, m uow.Message) error {
		c.mu.Lock()
		c.deliveries = append(c.deliveries, m.ID)
		c.mu.Unlock()
		return idem(ctx, m)
	}
	return c
}

// subscribe subscribes the consumer to topic "t" of a new bus and returns the bus.
func (c *consumer) subscribe(t tb) *outbox.Bus {
	t.Helper()
	bus := &outbox.Bus{}
	_, err := bus.Subscribe("t", consumerName, c.handle)
	require.NoError(t, err)
	return bus
}

// delivered returns the message IDs delivered so far, duplicates included.
func (c *consumer) delivered() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.deliveries)
}

// effects returns the committed tallies of the given keys (a key never handled has none), and
// checks that each tally's count matches its list of IDs.
func (c *consumer) effects(t tb, keys ...string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	u, err := c.store.Begin(context.Background())
	require.NoError(t, err)
	defer func() { require.NoError(t, u.Rollback(context.Background())) }()
	for _, k := range keys {
		tl, err := uow.Repo[tally, string](u).Get(context.Background(), k)
		if errors.Is(err, uow.ErrNotFound) {
			continue
		}
		require.NoError(t, err)
		require.Len(t, tl.IDs, tl.Count, "tally of %s: count and IDs agree", k)
		out[k] = tl.IDs
	}
	return out
}

// crashingStore is a relay's view of the store in a process that dies right after publishing:
// while crash is set, its Ack never reaches the store (the relay published, but its ack was
// lost with the process).
type crashingStore struct {
	driver.Outbox
	crash bool
}

var errCrashed = errors.New("relay process died before its ack")

func (s *crashingStore) Ack(ctx context.Context, owner string, ids []string) error {
	if s.crash {
		return errCrashed
	}
	return s.Outbox.Ack(ctx, owner, ids)
}

// ids returns the IDs of msgs.
func ids(msgs []uow.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

// byKey groups message IDs by key, keeping their order.
func byKey(msgs []uow.Message) map[string][]string {
	out := map[string][]string{}
	for _, m := range msgs {
		out[m.Key] = append(out[m.Key], m.ID)
	}
	return out
}

// keyed groups delivered message IDs by the key of the committed message they name.
func keyed(committed []uow.Message, delivered []string) map[string][]string {
	key := map[string]string{}
	for _, m := range committed {
		key[m.ID] = m.Key
	}
	out := map[string][]string{}
	for _, id := range delivered {
		out[key[id]] = append(out[key[id]], id)
	}
	return out
}

// TestRelayKilledBetweenPublishAndAck: the first relay publishes a batch and dies before its
// ack; the messages stay leased to it, so a second relay leaves them alone until the lease
// expires, then publishes them again. The consumer gets every message twice and its inbox keeps
// one effect each, in order per key.
func TestRelayKilledBetweenPublishAndAck(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.emit(t, "a", "a1", "a2")
	e.emit(t, "b", "b1")
	e.emit(t, "a", "a3")
	committed := e.drv.Messages()
	c := newConsumer(t)
	bus := c.subscribe(t)

	dying := &crashingStore{Outbox: e.drv, crash: true}
	r1 := outbox.NewRelay(dying, bus, &outbox.RelayOptions{ID: "r1", Clock: e.clock, Lease: time.Minute, BatchSize: 10})
	n, err := r1.Step(ctx)
	require.ErrorIs(t, err, errCrashed)
	require.Equal(t, 2, n, "the heads of the keys, a1 and b1; a2 comes with a later claim")
	require.Len(t, e.drv.Messages(), 4, "nothing acked")
	require.Equal(t, map[string][]string{"a": ids(committed[:1]), "b": ids(committed[2:3])}, c.effects(t, "a", "b"))

	r2 := relay(e, bus, &outbox.RelayOptions{ID: "r2", Lease: time.Minute, BatchSize: 10})
	n, err = r2.Step(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "the dead relay's lease still runs")

	e.clock.Advance(time.Minute)
	for range 4 {
		_, err := r2.Step(ctx)
		require.NoError(t, err)
	}
	require.Empty(t, e.drv.Messages())
	require.Len(t, c.delivered(), 6, "a1 and b1 twice, a2 and a3 once")
	require.Equal(t, byKey(committed), c.effects(t, "a", "b"), "one effect each, in order per key")
	require.Equal(t, 4, c.drv.InboxLen())
}

// TestRelayKilledAfterClaim: a relay claims a batch and dies before it publishes anything.
// Another relay takes the batch over when the lease expires; the same relay, restarted with its
// ID, takes it back at once.
func TestRelayKilledAfterClaim(t *testing.T) {
	for _, tc := range []struct {
		name      string
		successor string
		waits     bool // for the lease to expire
	}{
		{"another relay, after the lease", "r2", true},
		{"the same relay restarted", "r1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			e.emit(t, "a", "a1", "a2")
			e.emit(t, "b", "b1")
			committed := e.drv.Messages()
			c := newConsumer(t)
			bus := c.subscribe(t)

			claimed, err := e.drv.Claim(ctx, "r1", e.clock.Now(), time.Minute, 10)
			require.NoError(t, err)
			require.Len(t, claimed, 2) // ... and r1 dies

			r := relay(e, bus, &outbox.RelayOptions{ID: tc.successor, Lease: time.Minute, BatchSize: 10})
			n, err := r.Step(ctx)
			require.NoError(t, err)
			if tc.waits {
				require.Zero(t, n, "the lease runs")
				e.clock.Advance(time.Minute)
			}
			for range 3 {
				_, err := r.Step(ctx)
				require.NoError(t, err)
			}
			require.Empty(t, e.drv.Messages())
			require.Len(t, c.delivered(), 3, "published once each")
			require.Equal(t, byKey(committed), keyed(committed, c.delivered()), "in order per key")
			require.Equal(t, byKey(committed), c.effects(t, "a", "b"))
		})
	}
}

// TestConsumerCommitLostItsReply: the consumer's commit stores the effect and the inbox mark but
// its caller hears an error, so the publication fails and the relay retries it after the
// backoff: the inbox absorbs the second delivery.
func TestConsumerCommitLostItsReply(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.emit(t, "a", "a1", "a2")
	committed := e.drv.Messages()
	c := newConsumer(t)
	bus := c.subscribe(t)
	c.drv.InjectFault(memuow.Fault{After: true})

	r := relay(e, bus, &outbox.RelayOptions{BatchSize: 10, MinBackoff: time.Second, MaxBackoff: time.Second})
	n, err := r.Step(ctx)
	require.NoError(t, err, "a failed publication is released, not a step error")
	require.Equal(t, 1, n, "a2 waits behind a1")
	require.Len(t, e.drv.Messages(), 2, "a1 is retried later")

	e.clock.Advance(2 * time.Second)
	for range 3 {
		_, err := r.Step(ctx)
		require.NoError(t, err)
	}
	require.Empty(t, e.drv.Messages())
	require.Equal(t, []string{committed[0].ID, committed[0].ID, committed[1].ID}, c.delivered())
	require.Equal(t, byKey(committed), c.effects(t, "a"))
}

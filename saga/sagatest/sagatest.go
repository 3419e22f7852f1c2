// Package sagatest tests sagas given-when-then, with a fake clock: messages are handled by a real
// saga.Manager on a real store (memuow by default, or any driver), the saga's own messages
// (timeouts, compensation steps) go through a real outbox relay, and AdvanceTime moves the clock
// and fires the timeouts that came due.
//
//	f := sagatest.New(t, def, nil)
//	f.Given(f.Message("OrderPlaced", placed))
//	f.AdvanceTime(15 * time.Minute)
//	f.ThenState("order-1", "cancelled", saga.Failed)
//	f.ThenSent("ReleaseStock")
package sagatest

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/saga"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/memuow"
	"github.com/dddkit/ddd/uow/uowtest"
)

// Driver is a storage driver whose outbox the fixture reads, for the delivery times of the
// saga's timeouts, through its operator side: memuow's, pguow's, and the other SQL drivers'.
type Driver interface {
	driver.Driver
	driver.Operator
}

// Start is the fake clock's time when Options.Clock is nil.
var Start = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// Options tune a Fixture. The zero value (or nil) means the defaults.
type Options struct {
	// Driver stores instances and the outbox; nil means a new memuow driver. Pass the driver
	// of a real database to run the same scenario on it, and the same driver (or one on the
	// same database) to a second fixture to simulate a restart.
	Driver Driver
	// Clock is the fake clock of the store and the relay; nil means one at Start.
	Clock *memuow.Clock
	// Services are the store's services, for transitions and compensations that reach them with
	// uow.Service.
	Services []any
	// Manager tunes the saga manager; its Logger defaults to discarding.
	Manager *saga.Options
	// Relay tunes the relay of the saga's own messages; Clock is always the fixture's, BatchSize
	// defaults to 100 and MinBackoff to 1s, the Logger to discarding.
	Relay *outbox.RelayOptions
}

// Fixture runs one saga type for a test. Its methods report failures through the test, so call
// them from the test's goroutine (Manager.Handle may be called from any).
type Fixture[D any] struct {
	// Store is the fixture's store, for reading or changing other aggregates in tests.
	Store *uow.Store
	// Clock is the fake clock of the store and the relay.
	Clock *memuow.Clock
	// Manager is the saga's manager; handle messages through it directly to race them.
	Manager *saga.Manager[D]

	t      testing.TB
	def    *saga.Definition[D]
	driver Driver
	relay  *outbox.Relay

	mu     sync.Mutex
	sent   []uow.Message
	cursor int
}

// New returns a fixture running def; nil opts means the defaults.
func New[D any](t testing.TB, def *saga.Definition[D], opts *Options) *Fixture[D] {
	t.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Driver == nil {
		o.Driver = memuow.New(nil)
	}
	if o.Clock == nil {
		o.Clock = memuow.NewClock(Start)
	}
	quiet := slog.New(slog.DiscardHandler)
	mo := saga.Options{Logger: quiet}
	if o.Manager != nil {
		mo = *o.Manager
		if mo.Logger == nil {
			mo.Logger = quiet
		}
	}
	ro := outbox.RelayOptions{BatchSize: 100, MinBackoff: time.Second, Logger: quiet}
	if o.Relay != nil {
		ro = *o.Relay
		if ro.Logger == nil {
			ro.Logger = quiet
		}
		if ro.MinBackoff == 0 {
			ro.MinBackoff = time.Second
		}
	}
	ro.Clock = o.Clock
	f := &Fixture[D]{
		Store:  uow.NewStore(o.Driver, &uow.Options{Clock: o.Clock, Services: o.Services}),
		Clock:  o.Clock,
		t:      t,
		def:    def,
		driver: o.Driver,
	}
	f.Manager = saga.NewManager(f.Store, def, &mo)
	f.relay = outbox.NewRelay(o.Driver, publisher(f.publish), &ro)
	return f
}

// publisher adapts a function to outbox.Publisher.
type publisher func(ctx context.Context, msgs []uow.Message) error

func (p publisher) Publish(ctx context.Context, msgs []uow.Message) error { return p(ctx, msgs) }

var _ outbox.Publisher = publisher(nil)

// publish is the relay's publisher: the saga's own messages go back to its manager, every other
// message is a message the saga sent, recorded for ThenSent.
func (f *Fixture[D]) publish(ctx context.Context, msgs []uow.Message) error {
	for _, m := range msgs {
		if m.Topic == f.def.Topic() {
			if err := f.Manager.Handle(ctx, m); err != nil {
				return err
			}
			continue
		}
		f.mu.Lock()
		if !slices.ContainsFunc(f.sent, func(s uow.Message) bool { return s.ID == m.ID }) {
			f.sent = append(f.sent, m) // a batch republished after a failure repeats messages
		}
		f.mu.Unlock()
	}
	return nil
}

// Message returns a message named name with payload encoded as JSON, a new ID and the topic
// "test", as a partner would send it.
func (f *Fixture[D]) Message(name string, payload any) uow.Message {
	f.t.Helper()
	raw, err := json.Marshal(payload)
	if err != nil {
		f.t.Fatalf("sagatest: encoding the payload of %s: %v", name, err)
	}
	return uow.Message{ID: aggregate.NewID[string](), Topic: "test", Name: name, Payload: raw,
		CreatedAt: f.Clock.Now()}
}

// Given handles msgs in order, as When does, failing the test on any error, and then forgets
// what they sent: ThenSent looks only at what follows.
func (f *Fixture[D]) Given(msgs ...uow.Message) {
	f.t.Helper()
	for _, m := range msgs {
		if err := f.When(m); err != nil {
			f.t.Fatalf("sagatest: given %s: %v", m.Name, err)
		}
	}
	f.mu.Lock()
	f.cursor = len(f.sent)
	f.mu.Unlock()
}

// When hands msg to the manager and then relays the saga's messages that are due (compensation
// steps run here), and returns the manager's error for msg.
func (f *Fixture[D]) When(msg uow.Message) error {
	f.t.Helper()
	err := f.Manager.Handle(f.t.Context(), msg)
	f.Drain()
	return err
}

// AdvanceTime moves the clock on by d and relays what comes due meanwhile, as time passing would:
// the clock stops at each timeout's due time in turn and the timeout fires then, so one that a
// transition schedules again within d fires again. Failed deliveries waiting for their backoff
// (a failing compensation) are retried when the clock passes their retry time.
func (f *Fixture[D]) AdvanceTime(d time.Duration) {
	f.t.Helper()
	end := f.Clock.Now().Add(d)
	for {
		f.Drain()
		next, ok := f.nextDue(end)
		if !ok {
			break
		}
		f.Clock.Set(next)
	}
	f.Clock.Set(end)
	f.Drain()
}

// nextDue returns the earliest delivery time of an outbox message that is after now and not after
// end.
func (f *Fixture[D]) nextDue(end time.Time) (time.Time, bool) {
	now := f.Clock.Now()
	var next time.Time
	for _, m := range uowtest.Messages(f.t, f.driver) {
		if m.DeliverAfter.After(now) && !m.DeliverAfter.After(end) && (next.IsZero() || m.DeliverAfter.Before(next)) {
			next = m.DeliverAfter
		}
	}
	return next, !next.IsZero()
}

// Drain relays the outbox until nothing in it is due by the fake clock.
func (f *Fixture[D]) Drain() {
	f.t.Helper()
	for range 10_000 {
		n, err := f.relay.Step(f.t.Context())
		if err != nil {
			f.t.Fatalf("sagatest: relaying: %v", err)
		}
		if n == 0 {
			return
		}
	}
	f.t.Fatalf("sagatest: the outbox did not drain after 10000 batches: a saga that sends to itself forever?")
}

// Sent returns every message the saga sent (not its own timeouts and compensation steps), in
// the order relayed.
func (f *Fixture[D]) Sent() []uow.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sent)
}

// ThenSent checks that the saga sent exactly the messages named names, in that order, since the
// last Given or ThenSent.
func (f *Fixture[D]) ThenSent(names ...string) {
	f.t.Helper()
	f.mu.Lock()
	got := make([]string, 0, len(f.sent)-f.cursor)
	for _, m := range f.sent[f.cursor:] {
		got = append(got, m.Name)
	}
	f.cursor = len(f.sent)
	f.mu.Unlock()
	if !slices.Equal(got, names) && (len(got) > 0 || len(names) > 0) {
		f.t.Errorf("sagatest: sent %q, want %q", got, names)
	}
}

// Instance returns the instance with the given key, failing the test when there is none.
func (f *Fixture[D]) Instance(key string) saga.Info[D] {
	f.t.Helper()
	info, err := f.Manager.Get(f.t.Context(), key)
	if err != nil {
		f.t.Fatalf("sagatest: instance %q: %v", key, err)
	}
	return info
}

// ThenState checks the state and status of the instance with the given key.
func (f *Fixture[D]) ThenState(key string, state saga.State, status saga.Status) {
	f.t.Helper()
	info := f.Instance(key)
	if info.State != state || info.Status != status {
		f.t.Errorf("sagatest: instance %q is %s (%s), want %s (%s)", key, info.State, info.Status, state, status)
	}
}

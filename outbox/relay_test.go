package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/memuow"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// env is a memuow store with a fake clock, and a helper to commit messages.
type env struct {
	drv   *memuow.Driver
	clock *memuow.Clock
	store *uow.Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clock := memuow.NewClock(t0)
	drv := memuow.New(nil)
	return &env{drv: drv, clock: clock, store: uow.NewStore(drv, &uow.Options{Clock: clock})}
}

// emit commits one message per name, in order, each on its key.
func (e *env) emit(t *testing.T, key string, names ...string) {
	t.Helper()
	require.NoError(t, uow.Do(context.Background(), e.store, func(ctx context.Context, u *uow.Unit) error {
		for _, n := range names {
			if err := u.Emit(uow.Message{Topic: "t", Key: key, Name: n, Payload: []byte(`{}`)}); err != nil {
				return err
			}
		}
		return nil
	}, nil))
}

// recorder is a Publisher that records what it published and fails the names it is told to.
type recorder struct {
	mu        sync.Mutex
	published []string
	failing   map[string]bool
	calls     int
}

func (r *recorder) Publish(_ context.Context, msgs []uow.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	for _, m := range msgs {
		if r.failing[m.Name] {
			return fmt.Errorf("broker refused %s", m.Name)
		}
	}
	for _, m := range msgs {
		r.published = append(r.published, m.Name)
	}
	return nil
}

func (r *recorder) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.published)
}

func quiet() *outbox.RelayOptions { return &outbox.RelayOptions{} }

func relay(e *env, pub outbox.Publisher, o *outbox.RelayOptions) *outbox.Relay {
	o.Clock = e.clock
	if o.ID == "" {
		o.ID = "relay-1"
	}
	return outbox.NewRelay(e.drv, pub, o)
}

func TestRelayPublishesInOrderAndAcks(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.emit(t, "a", "a1", "a2")
	e.emit(t, "b", "b1")
	e.emit(t, "a", "a3")
	pub := &recorder{}
	r := relay(e, pub, &outbox.RelayOptions{BatchSize: 10})

	for range 5 {
		_, err := r.Step(ctx)
		require.NoError(t, err)
	}
	got := pub.names()
	require.ElementsMatch(t, []string{"a1", "a2", "a3", "b1"}, got)
	require.Less(t, slices.Index(got, "a1"), slices.Index(got, "a2"))
	require.Less(t, slices.Index(got, "a2"), slices.Index(got, "a3"))
	require.Empty(t, e.drv.Messages(), "published messages are deleted")
}

func TestPoisonMessageParksItsKeyOnly(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.emit(t, "bad", "poison", "after-poison")
	e.emit(t, "good", "g1", "g2")
	pub := &recorder{failing: map[string]bool{"poison": true}}
	var stats []outbox.BatchStats
	r := relay(e, pub, &outbox.RelayOptions{BatchSize: 10, MaxAttempts: 3, MinBackoff: time.Second, MaxBackoff: time.Minute,
		Observe: func(s outbox.BatchStats) { stats = append(stats, s) }})

	for range 3 {
		_, err := r.Step(ctx)
		require.NoError(t, err)
		e.clock.Advance(2 * time.Minute) // past any backoff
	}
	require.Equal(t, []string{"g1", "g2"}, pub.names(), "the good key flows; the poison key is held")

	parked, err := e.drv.Parked(ctx, 10)
	require.NoError(t, err)
	require.Len(t, parked, 1)
	require.Equal(t, "poison", parked[0].Name)
	require.Equal(t, 3, parked[0].Attempts)
	require.Contains(t, parked[0].Reason, "broker refused poison")
	require.Equal(t, 1, stats[2].Parked)

	// Fixed broker, unparked message: the key resumes in order.
	pub.mu.Lock()
	pub.failing = nil
	pub.mu.Unlock()
	n, err := e.drv.Unpark(ctx, []string{parked[0].ID})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	for range 3 {
		_, err := r.Step(ctx)
		require.NoError(t, err)
	}
	require.Equal(t, []string{"g1", "g2", "poison", "after-poison"}, pub.names())
}

func TestRetryWaitsForBackoff(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.emit(t, "k", "m")
	pub := &recorder{failing: map[string]bool{"m": true}}
	r := relay(e, pub, &outbox.RelayOptions{MinBackoff: 10 * time.Second, MaxBackoff: time.Minute})

	n, err := r.Step(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	pub.mu.Lock()
	pub.failing = nil
	pub.mu.Unlock()

	e.clock.Advance(5 * time.Second)
	n, err = r.Step(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "not before the backoff")
	e.clock.Advance(10 * time.Second) // 10s plus up to a fifth of jitter
	n, err = r.Step(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, []string{"m"}, pub.names())
}

func TestDelayedMessage(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	require.NoError(t, uow.Do(ctx, e.store, func(ctx context.Context, u *uow.Unit) error {
		return u.Emit(uow.Message{Topic: "t", Key: "saga-1", Name: "timeout", DeliverAfter: t0.Add(time.Hour)})
	}, nil))
	pub := &recorder{}
	r := relay(e, pub, quiet())
	n, err := r.Step(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	e.clock.Advance(time.Hour)
	n, err = r.Step(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

func TestOnlyTheFailingMessageOfABatchFails(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	for i := range 5 {
		e.emit(t, fmt.Sprint("k", i), fmt.Sprint("m", i))
	}
	pub := &recorder{failing: map[string]bool{"m2": true}}
	r := relay(e, pub, &outbox.RelayOptions{BatchSize: 10})
	n, err := r.Step(ctx)
	require.NoError(t, err)
	require.Equal(t, 5, n)
	require.Equal(t, []string{"m0", "m1", "m3", "m4"}, pub.names())
	require.Len(t, e.drv.Messages(), 1)
}

func TestTwoRelaysDeliverEverythingOnceInKeyOrder(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	e := newEnv(t)
	const keys, perKey = 10, 20
	for i := range perKey {
		for k := range keys {
			e.emit(t, fmt.Sprint("k", k), fmt.Sprintf("k%d-%03d", k, i))
		}
	}
	pub := &recorder{}
	var wg sync.WaitGroup
	for _, id := range []string{"r1", "r2"} {
		r := relay(e, pub, &outbox.RelayOptions{ID: id, BatchSize: 7, PollInterval: time.Millisecond})
		wg.Add(1)
		go func() {
			defer wg.Done()
			require.NoError(t, r.Run(ctx))
		}()
	}
	require.Eventually(t, func() bool { return len(pub.names()) == keys*perKey }, 10*time.Second, time.Millisecond)
	cancel()
	wg.Wait()

	got := pub.names()
	require.Len(t, got, keys*perKey, "every message exactly once")
	last := map[string]string{}
	for _, n := range got {
		k := n[:len(n)-4]
		require.Less(t, last[k], n, "per-key order")
		last[k] = n
	}
}

// blocking publishes only when released, to catch a relay mid-batch.
type blocking struct {
	started, release chan struct{}
	rec              recorder
}

func (b *blocking) Publish(ctx context.Context, msgs []uow.Message) error {
	close(b.started)
	<-b.release
	return b.rec.Publish(ctx, msgs)
}

func TestRunDrainsTheBatchInFlightOnStop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	e := newEnv(t)
	e.emit(t, "k", "m1")
	pub := &blocking{started: make(chan struct{}), release: make(chan struct{})}
	r := relay(e, pub, quiet())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	<-pub.started
	cancel()
	close(pub.release)
	require.NoError(t, <-done)
	require.Equal(t, []string{"m1"}, pub.rec.names())
	require.Empty(t, e.drv.Messages(), "acked although ctx was cancelled mid-batch")
}

func TestWakeCutsThePollShort(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := newEnv(t)
	wake := make(chan struct{}, 1)
	batches := make(chan outbox.BatchStats, 10)
	pub := &recorder{}
	r := relay(e, pub, &outbox.RelayOptions{PollInterval: time.Hour, Wake: wake,
		Observe: func(s outbox.BatchStats) { batches <- s }})
	go func() { _ = r.Run(ctx) }()
	require.Zero(t, (<-batches).Claimed, "the first look finds nothing; the relay now sleeps for an hour")
	e.emit(t, "k", "m")
	wake <- struct{}{}
	select {
	case s := <-batches:
		require.Equal(t, 1, s.Published)
	case <-time.After(5 * time.Second):
		t.Fatal("the wake signal did not wake the relay")
	}
}

// failingStore makes every claim fail, for the error path.
type failingStore struct{ driver.Outbox }

func (failingStore) Claim(context.Context, string, time.Time, time.Duration, int) ([]driver.Claimed, error) {
	return nil, errors.New("database unreachable")
}

func TestStepReportsStoreErrors(t *testing.T) {
	r := outbox.NewRelay(failingStore{}, &recorder{}, nil)
	_, err := r.Step(context.Background())
	require.ErrorContains(t, err, "database unreachable")
}

// TestLaterMessageOfAFailedKeyIsHeldBack: when this relay holds two messages of one key (the
// earlier one still leased to it from a batch whose ack failed) and the earlier one fails, the
// later one is not published ahead of it.
func TestLaterMessageOfAFailedKeyIsHeldBack(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.emit(t, "k", "m1", "m2")
	e.emit(t, "other", "o1")
	_, err := e.drv.Claim(ctx, "relay-1", t0, time.Minute, 10) // m1 and o1 leased, as by a crashed batch
	require.NoError(t, err)

	pub := &recorder{failing: map[string]bool{"m1": true}}
	r := relay(e, pub, &outbox.RelayOptions{BatchSize: 10})
	n, err := r.Step(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n, "its own leased m1 and o1, and m2 behind m1")
	require.Equal(t, []string{"o1"}, pub.names(), "m2 waits for m1")

	pub.mu.Lock()
	pub.failing = nil
	pub.mu.Unlock()
	e.clock.Advance(time.Hour)
	for range 3 {
		_, err := r.Step(ctx)
		require.NoError(t, err)
	}
	require.Equal(t, []string{"o1", "m1", "m2"}, pub.names())
}

// heldStore is a Holder over memuow for the relay's held path: Hold claims with a lease of its
// own owner, Finish acks and releases under it, and both are recorded.
type heldStore struct {
	*memuow.Driver
	holds    int
	finishes []heldFinish
	failNext error // returned by the next Finish, which then records nothing
}

type heldFinish struct {
	published []string
	failures  []driver.Failure
}

type heldClaim struct {
	s    *heldStore
	msgs []driver.Claimed
}

func (s *heldStore) Hold(ctx context.Context, now time.Time, lease time.Duration, limit int) (driver.Held, error) {
	s.holds++
	msgs, err := s.Claim(ctx, "held", now, lease, limit)
	return &heldClaim{s: s, msgs: msgs}, err
}

func (h *heldClaim) Messages() []driver.Claimed { return h.msgs }

func (h *heldClaim) Finish(ctx context.Context, published []string, failures []driver.Failure) error {
	if err := h.s.failNext; err != nil {
		h.s.failNext = nil
		return err // as a rolled-back transaction: nothing recorded
	}
	h.s.finishes = append(h.s.finishes, heldFinish{published, failures})
	if err := h.s.Ack(ctx, "held", published); err != nil {
		return err
	}
	return h.s.Release(ctx, "held", failures)
}

func TestRelayFinishesHeldClaims(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.emit(t, "a", "poison")
	e.emit(t, "b", "b1")
	store := &heldStore{Driver: e.drv}
	pub := &recorder{failing: map[string]bool{"poison": true}}
	r := outbox.NewRelay(store, pub, &outbox.RelayOptions{ID: "r", Clock: e.clock, MaxAttempts: 1})

	n, err := r.Step(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, 1, store.holds, "a driver.Holder store is claimed with Hold, not Claim")
	require.Len(t, store.finishes, 1)
	f := store.finishes[0]
	require.Len(t, f.published, 1)
	require.Len(t, f.failures, 1)
	require.True(t, f.failures[0].Park, "the poison message parks after MaxAttempts 1")
	require.Contains(t, f.failures[0].Reason, "broker refused poison")
	require.Equal(t, []string{"b1"}, pub.names())

	e.emit(t, "c", "c1")
	store.failNext = errors.New("connection lost")
	_, err = r.Step(ctx)
	require.ErrorContains(t, err, "outbox: finish")
}

// runHolder is a Holder that holds a fixed batch once (then nothing), and records its Finish.
type runHolder struct {
	driver.Outbox
	msgs      []driver.Claimed
	published []string
	failures  []driver.Failure
}

func (s *runHolder) Hold(context.Context, time.Time, time.Duration, int) (driver.Held, error) {
	return s, nil
}

func (s *runHolder) Messages() []driver.Claimed { return s.msgs }

func (s *runHolder) Finish(_ context.Context, published []string, failures []driver.Failure) error {
	s.published, s.failures = published, failures
	return nil
}

// batchRecorder is a Publisher that records the names of every batch it is given and fails a
// batch holding a name it is told to.
type batchRecorder struct {
	batches [][]string
	failing map[string]bool
}

func (r *batchRecorder) Publish(_ context.Context, msgs []uow.Message) error {
	var names []string
	var err error
	for _, m := range msgs {
		names = append(names, m.Name)
		if r.failing[m.Name] {
			err = fmt.Errorf("broker refused %s", m.Name)
		}
	}
	r.batches = append(r.batches, names)
	return err
}

// TestRunsOfAKeyArePublishedInRounds: a claim holding several messages of a key hands the
// publisher the first of each key, then the second, and so on, so that a broker never sees a
// later message of a key before the earlier one was confirmed; a key whose message failed
// publishes nothing more of the batch, and the other keys go on.
func TestRunsOfAKeyArePublishedInRounds(t *testing.T) {
	claimed := func(key, name string, seq int64) driver.Claimed {
		return driver.Claimed{Message: uow.Message{ID: name, Topic: "t", Key: key, Name: name}, Seq: seq}
	}
	store := &runHolder{msgs: []driver.Claimed{
		claimed("a", "a1", 1), claimed("b", "b1", 2), claimed("a", "a2", 3), claimed("c", "c1", 4),
		claimed("b", "b2", 5), claimed("a", "a3", 6), claimed("b", "b3", 7),
	}}
	pub := &batchRecorder{failing: map[string]bool{"a2": true}}
	r := outbox.NewRelay(store, pub, &outbox.RelayOptions{ID: "r", Clock: memuow.NewClock(t0), Logger: slog.New(slog.DiscardHandler)})

	n, err := r.Step(context.Background())
	require.NoError(t, err)
	require.Equal(t, 7, n)
	require.Equal(t, [][]string{
		{"a1", "b1", "c1"}, // round 1: the first message of each key
		{"a2", "b2"},       // round 2 fails as a batch ...
		{"a2"}, {"b2"},     // ... and is published one by one: a2 fails alone
		{"b3"}, // round 3: a3 waits behind a2
	}, pub.batches)
	require.Equal(t, []string{"a1", "b1", "c1", "b2", "b3"}, store.published)
	require.Len(t, store.failures, 1)
	require.Equal(t, "a2", store.failures[0].ID)
}

// contendedHolder is a Holder whose first claims find everything held by other relays
// (Contention), and whose next one holds a message.
type contendedHolder struct {
	driver.Outbox
	mu        sync.Mutex
	contended int // claims left that find everything held
	msg       driver.Claimed
	finished  []string
}

type contendedClaim struct {
	s         *contendedHolder
	msgs      []driver.Claimed
	contended bool
}

func (s *contendedHolder) Hold(context.Context, time.Time, time.Duration, int) (driver.Held, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.contended > 0 {
		s.contended--
		return &contendedClaim{s: s, contended: true}, nil
	}
	msgs := []driver.Claimed{s.msg}
	s.msg = driver.Claimed{}
	if msgs[0].ID == "" {
		msgs = nil
	}
	return &contendedClaim{s: s, msgs: msgs}, nil
}

func (c *contendedClaim) Messages() []driver.Claimed { return c.msgs }

func (c *contendedClaim) Contended() bool { return c.contended }

func (c *contendedClaim) Finish(_ context.Context, published []string, _ []driver.Failure) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.finished = append(c.s.finished, published...)
	return nil
}

// TestContendedClaimIsRetriedAtOnce: a held claim that comes back empty because other relays'
// claims hold everything (driver.Contention) is followed by another claim at once, not after
// PollInterval, so that the relay joins as soon as the other relay's claim ends.
func TestContendedClaimIsRetriedAtOnce(t *testing.T) {
	store := &contendedHolder{contended: 3, msg: driver.Claimed{Message: uow.Message{ID: "m1", Topic: "t", Key: "k", Name: "m1"}}}
	pub := &recorder{}
	r := outbox.NewRelay(store, pub, &outbox.RelayOptions{ID: "r", PollInterval: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	require.Eventually(t, func() bool { return slices.Equal(pub.names(), []string{"m1"}) }, 10*time.Second, time.Millisecond,
		"three contended claims, then m1, with a poll interval of an hour")
	cancel()
	require.NoError(t, <-done)
	store.mu.Lock()
	defer store.mu.Unlock()
	require.Equal(t, []string{"m1"}, store.finished)
}

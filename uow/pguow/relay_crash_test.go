package pguow_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/memuow"
	"github.com/dddkit/ddd/uow/pguow"
	"github.com/dddkit/ddd/uow/uowtest"
)

// Crash and fault tests of the outbox on PostgreSQL: a relay killed between publish and ack, an
// app killed between commit and relay, and (DDD_TEST_PG_RESTART=1 only) a server restart under a
// running relay. The consumer is an idempotent handler over a memuow store of its own.

// keyTally is the consumer's effect on one message key: the IDs it handled, in order.
type keyTally struct {
	aggregate.Root[string]
	IDs []string `json:"ids"`
}

func (*keyTally) AggregateType() string { return "keyTally" }

// sink is an idempotent consumer (outbox.Idempotent over a memuow store) appending each
// message's ID to its key's tally; it logs every delivery, duplicates included. It is safe for
// concurrent use.
type sink struct {
	drv   *memuow.Driver
	store *uow.Store
	bus   *outbox.Bus

	mu         sync.Mutex
	deliveries []string
}

func newSink(t testing.TB) *sink {
	t.Helper()
	s := &sink{drv: memuow.New(nil), bus: &outbox.Bus{}}
	s.store = uow.NewStore(s.drv, nil)
	h := outbox.Idempotent(s.store, "tallies", func(ctx context.Context, u *uow.Unit, m uow.Message) error {
		repo := uow.Repo[keyTally, string](u)
		tl, err := repo.Get(ctx, m.Key)
		if errors.Is(err, uow.ErrNotFound) {
			var root aggregate.Root[string]
			if root, err = aggregate.NewRoot(m.Key); err != nil {
				return err
			}
			tl = &keyTally{Root: root}
			err = repo.Add(ctx, tl)
		}
		if err != nil {
			return err
		}
		tl.IDs = append(tl.IDs, m.ID)
		return nil
	}, nil)
	_, err := s.bus.Subscribe("t", "tallies", func(ctx context.Context, m uow.Message) error {
		s.mu.Lock()
		s.deliveries = append(s.deliveries, m.ID)
		s.mu.Unlock()
		return h(ctx, m)
	})
	require.NoError(t, err)
	return s
}

func (s *sink) delivered() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// effects returns the committed tallies of keys.
func (s *sink) effects(t testing.TB, keys ...string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	u, err := s.store.Begin(context.Background())
	require.NoError(t, err)
	defer func() { _ = u.Rollback(context.Background()) }()
	for _, k := range keys {
		tl, err := uow.Repo[keyTally, string](u).Get(context.Background(), k)
		if errors.Is(err, uow.ErrNotFound) {
			continue
		}
		require.NoError(t, err)
		out[k] = tl.IDs
	}
	return out
}

// ackLost is a relay's store in a process that dies right after publishing: its acks never
// reach the database.
type ackLost struct{ driver.Outbox }

var errDied = errors.New("relay died before its ack")

func (ackLost) Ack(context.Context, string, []string) error { return errDied }

var quietLog = slog.New(slog.DiscardHandler)

// emitRounds commits rounds units, each emitting one message on each key, and returns the
// messages in commit order.
func emitRounds(t *testing.T, s *uow.Store, rounds int, keys ...string) []uow.Message {
	t.Helper()
	var out []uow.Message
	for r := range rounds {
		var msgs []uow.Message
		for _, k := range keys {
			msgs = append(msgs, uow.Message{ID: uuid.Must(uuid.NewV7()).String(), Topic: "t", Key: k, Name: fmt.Sprintf("%s-%d", k, r), Payload: []byte(`{}`)})
		}
		require.NoError(t, uow.Do(t.Context(), s, func(ctx context.Context, u *uow.Unit) error {
			for _, m := range msgs {
				if err := u.Emit(m); err != nil {
					return err
				}
			}
			return nil
		}, nil))
		out = append(out, msgs...)
	}
	return out
}

func idsByKey(msgs []uow.Message) map[string][]string {
	out := map[string][]string{}
	for _, m := range msgs {
		out[m.Key] = append(out[m.Key], m.ID)
	}
	return out
}

// requireHeadsOnlyPublished checks, after a relay died mid-batch over three rounds of keys a, b
// and c, that the sink received the three heads and all nine messages are still in the outbox.
func requireHeadsOnlyPublished(t *testing.T, d *pguow.Driver, snk *sink) {
	t.Helper()
	require.Len(t, snk.delivered(), 3, "the head of each key published")
	require.Len(t, uowtest.Messages(t, d), 9, "nothing acknowledged")
}

// drainRelay steps r until the outbox of d is empty.
func drainRelay(t *testing.T, d *pguow.Driver, r *outbox.Relay) {
	t.Helper()
	for i := 0; ; i++ {
		msgs := uowtest.Messages(t, d)
		if len(msgs) == 0 {
			return
		}
		require.Less(t, i, 50, "the outbox does not drain: %d left", len(msgs))
		_, err := r.Step(t.Context())
		require.NoError(t, err)
	}
}

// TestRelayCrashBetweenPublishAndAck: a relay with leased claims (ackLost hides the driver's
// driver.Holder) publishes the heads of three keys and dies before
// its ack. Another relay leaves them alone while the dead relay's lease runs, then publishes
// them again and the rest after them; the consumer's inbox absorbs the second copies: one
// effect per message, in commit order per key.
func TestRelayCrashBetweenPublishAndAck(t *testing.T) {
	d := newDriver(t, nil)
	s := uow.NewStore(d, nil)
	committed := emitRounds(t, s, 3, "a", "b", "c")
	snk := newSink(t)
	clock := memuow.NewClock(time.Now())
	opts := func(id string) *outbox.RelayOptions {
		return &outbox.RelayOptions{ID: id, Clock: clock, Lease: time.Minute, BatchSize: 100, Logger: quietLog}
	}

	n, err := outbox.NewRelay(ackLost{d}, snk.bus, opts("r1")).Step(t.Context())
	require.ErrorIs(t, err, errDied)
	require.Equal(t, 3, n, "the head of each key")
	requireHeadsOnlyPublished(t, d, snk)

	r2 := outbox.NewRelay(d, snk.bus, opts("r2"))
	n, err = r2.Step(t.Context())
	require.NoError(t, err)
	require.Zero(t, n, "the dead relay's lease runs")

	clock.Advance(time.Minute + time.Second)
	drainRelay(t, d, r2)
	require.Len(t, snk.delivered(), 12, "the three heads twice, the others once")
	require.Equal(t, idsByKey(committed), snk.effects(t, "a", "b", "c"))
	require.Equal(t, 9, snk.drv.InboxLen())
}

// killAfterPublish publishes to a bus, then has the server terminate the session holding the
// relay's claim (its transaction, idle in the schema's outbox select): the relay's process died
// between publishing and finishing the claim.
type killAfterPublish struct {
	t      *testing.T
	d      *pguow.Driver
	schema string
	bus    *outbox.Bus
	killed int
}

func (k *killAfterPublish) Publish(ctx context.Context, msgs []uow.Message) error {
	if err := k.bus.Publish(ctx, msgs); err != nil {
		return err
	}
	var pids []int32
	err := k.d.Pool().QueryRow(ctx, `SELECT coalesce(array_agg(pid), '{}') FROM (
		SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE state = 'idle in transaction' AND query LIKE '%SKIP LOCKED%' AND query LIKE '%' || $1 || '%') killed`,
		k.schema).Scan(&pids)
	require.NoError(k.t, err)
	k.killed += len(pids)
	// pg_terminate_backend only signals the backend: wait until it is gone, its transaction
	// rolled back and its row locks released, as they are once a dead process's session ends.
	require.Eventually(k.t, func() bool {
		var left int
		err := k.d.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)`, pids).Scan(&left)
		return err == nil && left == 0
	}, 10*time.Second, 5*time.Millisecond)
	return nil
}

// TestHeldRelayKilledBetweenPublishAndFinish: a relay holding a claim (pguow is an
// driver.Holder) of three messages, the heads of three keys, publishes them and dies before
// finishing: its session ends,
// and with it the claim, so another relay takes the heads over at once, with no lease to wait
// for, and publishes them again and the rest after them. The consumer's inbox absorbs the
// second copies: one effect per message, in commit order per key.
func TestHeldRelayKilledBetweenPublishAndFinish(t *testing.T) {
	d := newDriver(t, nil)
	s := uow.NewStore(d, nil)
	committed := emitRounds(t, s, 3, "a", "b", "c")
	snk := newSink(t)
	opts := func(id string) *outbox.RelayOptions {
		return &outbox.RelayOptions{ID: id, Lease: time.Minute, BatchSize: 3, Logger: quietLog}
	}

	killer := &killAfterPublish{t: t, d: d, schema: schemaOf(t, d), bus: snk.bus}
	n, err := outbox.NewRelay(d, killer, opts("r1")).Step(t.Context())
	require.Error(t, err, "the claim's session was terminated before Finish")
	require.Equal(t, 3, n, "the head of each key")
	require.Equal(t, 1, killer.killed, "one session held the claim")
	requireHeadsOnlyPublished(t, d, snk)

	r2 := outbox.NewRelay(d, snk.bus, opts("r2"))
	n, err = r2.Step(t.Context())
	require.NoError(t, err)
	require.Equal(t, 3, n, "the dead relay's claim ended with its session")
	drainRelay(t, d, r2)
	require.Len(t, snk.delivered(), 12, "the three heads twice, the others once")
	require.Equal(t, idsByKey(committed), snk.effects(t, "a", "b", "c"))
	require.Equal(t, 9, snk.drv.InboxLen())
}

// TestAppKilledBetweenCommitAndRelay: an app commits messages, has a unit in flight, and dies
// (its connection to the server is cut, its pool closed) before any relay ran. A new driver on
// the same schema, as the restarted app would open, relays every committed message and none of
// the unit in flight.
func TestAppKilledBetweenCommitAndRelay(t *testing.T) {
	ctx := t.Context()
	keeper := newDriver(t, nil) // owns the schema; drops it when the test ends
	schema := schemaOf(t, keeper)

	app, err := pguow.Open(ctx, dsn(t), &pguow.Options{Schema: schema})
	require.NoError(t, err)
	s := uow.NewStore(app, nil)
	committed := emitRounds(t, s, 4, "a", "b")

	inFlight, err := s.Begin(ctx)
	require.NoError(t, err)
	require.NoError(t, inFlight.Emit(uow.Message{ID: uuid.Must(uuid.NewV7()).String(), Topic: "t", Key: "a", Name: "in-flight"}))
	pid := backendPID(t, inFlight)
	_, err = keeper.Pool().Exec(ctx, "SELECT pg_terminate_backend($1)", pid)
	require.NoError(t, err)
	require.Error(t, inFlight.Commit(ctx), "the app died before this commit")
	_ = inFlight.Rollback(ctx)
	app.Close()

	restarted, err := pguow.Open(ctx, dsn(t), &pguow.Options{Schema: schema})
	require.NoError(t, err)
	defer restarted.Close()
	snk := newSink(t)
	r := outbox.NewRelay(restarted, snk.bus, &outbox.RelayOptions{ID: "after-restart", BatchSize: 3, Logger: quietLog})
	drainRelay(t, restarted, r)

	require.ElementsMatch(t, idsOf(committed), snk.delivered(), "every committed message, once, and nothing else")
	require.Equal(t, idsByKey(committed), snk.effects(t, "a", "b"))
}

func idsOf(msgs []uow.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

// TestPoolRecoversAfterRestartRelay restarts the PostgreSQL server under a relay running with
// Run over a stream of commits, so it runs only when DDD_TEST_PG_RESTART=1 (CI runs it with
// TestPoolRecoversAfterRestart, alone, after the other tests). Once the server is back, every
// message whose commit succeeded is delivered and takes effect once, in commit order per key; a
// commit that failed during the restart (it may or may not have happened) is delivered at most
// once.
func TestPoolRecoversAfterRestartRelay(t *testing.T) {
	if os.Getenv("DDD_TEST_PG_RESTART") != "1" {
		t.Skip("restarts the PostgreSQL server: set DDD_TEST_PG_RESTART=1 to run it (not alongside other tests)")
	}
	ctx := t.Context()
	d := newDriver(t, nil)
	s := uow.NewStore(d, nil)
	snk := newSink(t)
	keys := []string{"a", "b", "c"}

	relayCtx, stopRelay := context.WithCancel(ctx)
	defer stopRelay()
	r := outbox.NewRelay(d, snk.bus, &outbox.RelayOptions{ID: "r1", BatchSize: 10, Lease: 3 * time.Second,
		PollInterval: 50 * time.Millisecond, Wake: d.Listen(relayCtx), MinBackoff: 100 * time.Millisecond,
		MaxBackoff: time.Second, MaxAttempts: 1000, Logger: quietLog})
	relayDone := make(chan error, 1)
	go func() { relayDone <- r.Run(relayCtx) }()

	// The producer commits one message a unit, round robin over the keys, until told to stop.
	var (
		mu        sync.Mutex
		order     = map[string]int{} // message ID -> its place in the producer's sequence
		keyOf     = map[string]string{}
		succeeded []string // commits that returned nil
		failed    int      // commits that returned an error: stored or not
	)
	stop := make(chan struct{})
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			m := uow.Message{ID: uuid.Must(uuid.NewV7()).String(), Topic: "t", Key: keys[i%len(keys)], Name: fmt.Sprint("m", i), Payload: []byte(`{}`)}
			err := uow.Do(ctx, s, func(_ context.Context, u *uow.Unit) error { return u.Emit(m) }, nil)
			mu.Lock()
			order[m.ID], keyOf[m.ID] = i, m.Key
			if err == nil {
				succeeded = append(succeeded, m.ID)
			} else {
				failed++
			}
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	successes := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(succeeded)
	}
	eventually(t, 30*time.Second, "commits before the restart", func() (bool, error) { return successes() >= 30, nil })

	cfg, err := pgconn.ParseConfig(dsn(t))
	require.NoError(t, err)
	out, err := exec.CommandContext(ctx, "pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "restart").CombinedOutput()
	require.NoError(t, err, "pg_ctlcluster restart: %s", out)
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	eventually(t, 30*time.Second, "the server listens again", func() (bool, error) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false, err
		}
		return true, c.Close()
	})
	atRestart := successes()
	eventually(t, 30*time.Second, "commits after the restart", func() (bool, error) { return successes() >= atRestart+30, nil })
	close(stop)
	<-produced

	mu.Lock()
	want := slices.Clone(succeeded)
	t.Logf("%d commits succeeded, %d failed around the restart", len(want), failed)
	mu.Unlock()
	eventually(t, 60*time.Second, "every committed message takes effect", func() (bool, error) {
		got := map[string]bool{}
		for _, ids := range snk.effects(t, keys...) {
			for _, id := range ids {
				got[id] = true
			}
		}
		for _, id := range want {
			if !got[id] {
				return false, fmt.Errorf("%s not yet handled", id)
			}
		}
		return true, nil
	})
	eventually(t, 30*time.Second, "the outbox drains", func() (bool, error) {
		left, err := d.Pending(ctx, 1)
		return err == nil && len(left) == 0, err
	})
	stopRelay()
	require.NoError(t, <-relayDone)

	total := 0
	for k, ids := range snk.effects(t, keys...) {
		total += len(ids)
		seen := map[string]bool{}
		for i, id := range ids {
			require.False(t, seen[id], "one effect per message")
			seen[id] = true
			require.Equal(t, k, keyOf[id], "a message the producer committed")
			if i > 0 {
				require.Less(t, order[ids[i-1]], order[id], "commit order on key %s", k)
			}
		}
	}
	require.GreaterOrEqual(t, total, len(want))
	require.LessOrEqual(t, total, len(want)+failed)
	t.Logf("%d deliveries for %d effects", len(snk.delivered()), total)
}

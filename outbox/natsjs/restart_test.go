package natsjs_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
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

// RestartVar enables TestRelayRecoversAfterNATSRestart: it restarts the machine's shared NATS
// server, which would break the other tests running meanwhile.
const restartVar = "DDD_TEST_NATS_RESTART"

const (
	natsAddr   = "127.0.0.1:4222"
	natsServer = "/usr/sbin/nats-server"
)

// natsUp reports whether the NATS port accepts connections.
func natsUp() bool {
	c, err := net.DialTimeout("tcp", natsAddr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// waitPort waits until natsUp() == up, or fails the test after d.
func waitPort(t *testing.T, up bool, d time.Duration) {
	t.Helper()
	require.Eventually(t, func() bool { return natsUp() == up }, d, 20*time.Millisecond, "port %s up=%v", natsAddr, up)
}

// startNATS starts the server the way the machine does, once the previous process is gone.
func startNATS(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool {
		// --status exits 0 while a nats-server process runs, 1 or 3 when there is none.
		return exec.Command("start-stop-daemon", "--status", "--exec", natsServer).Run() != nil
	}, 30*time.Second, 20*time.Millisecond, "the old nats-server did not exit")
	out, err := exec.Command("start-stop-daemon", "--start", "--oknodo", "--background", "--exec", natsServer, "--",
		"-a", "127.0.0.1", "-p", "4222", "-js", "-sd", "/var/lib/nats-server", "-l", "/var/log/nats-server.log").CombinedOutput()
	require.NoError(t, err, "start-stop-daemon: %s", out)
}

// ensureNATS starts the server if its port is closed.
func ensureNATS(t *testing.T) {
	t.Helper()
	if !natsUp() {
		t.Log("cleanup: NATS is down, starting it again")
		startNATS(t)
		waitPort(t, true, 30*time.Second)
	}
}

// killNATS stops the server (SIGTERM, as pkill sends).
func killNATS(t *testing.T) {
	t.Helper()
	out, err := exec.Command("pkill", "-x", "nats-server").CombinedOutput()
	require.NoError(t, err, "pkill: %s", out)
}

// ledger is the consumer's aggregate: how often each message took effect, and the order of the
// effects per key.
type ledgerID string

type ledger struct {
	aggregate.Root[ledgerID]
	Seen  map[string]int      `json:"seen"`
	Order map[string][]string `json:"order"`
}

func (*ledger) AggregateType() string { return "ledger" }

// TestRelayRecoversAfterNATSRestart: a producer commits messages steadily, a relay publishes
// them to a file-backed stream, a durable consumer applies them through an Idempotent unit;
// meanwhile the NATS server is killed and started again. Afterwards the outbox drains and every
// committed message has had exactly one effect, in commit order per key.
func TestRelayRecoversAfterNATSRestart(t *testing.T) {
	if os.Getenv(restartVar) != "1" {
		t.Skipf("%s is not 1: skipping the test that restarts the shared NATS server (run it alone)", restartVar)
	}
	url := testenv.NATS(t)
	// Whatever happens, leave a NATS server running. Registered first, so it runs last.
	t.Cleanup(func() { ensureNATS(t) })

	var reconnects, disconnects atomic.Int32
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond),
		nats.DisconnectErrHandler(func(*nats.Conn, error) { disconnects.Add(1) }),
		nats.ReconnectHandler(func(*nats.Conn) { reconnects.Add(1) }))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	// An ack lost with the server must not hold the relay's batch until its lease ends.
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(2*time.Second))
	require.NoError(t, err)

	ctx := context.Background()
	name := testenv.Name("R")
	prefix := name + "."
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{prefix + ">"},
		Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute})
	require.NoError(t, err)
	t.Cleanup(func() {
		ensureNATS(t)
		dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := js.DeleteStream(dctx, name); err != nil {
			t.Logf("cleanup: deleting stream %s: %v", name, err)
		}
	})
	cons, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: "restart", AckPolicy: jetstream.AckExplicitPolicy, AckWait: 2 * time.Second,
	})
	require.NoError(t, err)

	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))

	// Consumer: effects counted and ordered per key in its own store, deduplicated by the inbox.
	consumerStore := uow.NewStore(memuow.New(nil), nil)
	require.NoError(t, uow.Do(ctx, consumerStore, func(ctx context.Context, u *uow.Unit) error {
		root, err := aggregate.NewRoot[ledgerID]("l")
		if err != nil {
			return err
		}
		return uow.Repo[ledger, ledgerID](u).Add(ctx, &ledger{Root: root, Seen: map[string]int{}, Order: map[string][]string{}})
	}, nil))
	var handled, absorbed atomic.Int64 // handler calls; deliveries the inbox absorbed
	effect := func(ctx context.Context, u *uow.Unit, m uow.Message) error {
		handled.Add(1)
		l, err := uow.Repo[ledger, ledgerID](u).Get(ctx, "l")
		if err != nil {
			return err
		}
		l.Seen[m.ID]++
		l.Order[m.Key] = append(l.Order[m.Key], m.ID)
		return nil
	}
	idem := outbox.Idempotent(consumerStore, "restart", effect, nil)
	var deliveries atomic.Int64
	h := func(ctx context.Context, m uow.Message) error {
		deliveries.Add(1)
		before := handled.Load()
		err := idem(ctx, m)
		if err == nil && handled.Load() == before {
			absorbed.Add(1)
		}
		return err
	}
	consCtx, stopCons := context.WithCancel(ctx)
	consDone := make(chan error, 1)
	go func() {
		// Consume returns on a broken pull (the server restart may end it): start it again.
		for consCtx.Err() == nil {
			if err := natsjs.Consume(consCtx, cons, h, &natsjs.ConsumeOptions{MinBackoff: 50 * time.Millisecond,
				MaxBackoff: 500 * time.Millisecond, MaxDeliveries: 1000, Logger: logger}); err != nil {
				t.Logf("consume ended: %v; starting again", err)
				time.Sleep(100 * time.Millisecond)
			}
		}
		consDone <- nil
	}()
	t.Cleanup(func() { stopCons(); <-consDone })

	// Relay.
	producer := memuow.New(nil)
	producerStore := uow.NewStore(producer, nil)
	var published, failedBatches, longestBatch atomic.Int64
	relay := outbox.NewRelay(producer, natsjs.NewPublisher(js, &natsjs.Options{Prefix: prefix}), &outbox.RelayOptions{
		ID: "restart-relay", BatchSize: 20, Lease: 10 * time.Second, PollInterval: 20 * time.Millisecond,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, MaxAttempts: 1_000_000,
		Logger: logger,
		Observe: func(s outbox.BatchStats) {
			published.Add(int64(s.Published))
			if d := int64(s.Duration); d > longestBatch.Load() {
				longestBatch.Store(d) // Observe is called from the relay's one goroutine
			}
			if s.Failed > 0 {
				failedBatches.Add(1)
			}
		},
	})
	relayCtx, stopRelay := context.WithCancel(ctx)
	relayDone := make(chan error, 1)
	go func() { relayDone <- relay.Run(relayCtx) }()
	t.Cleanup(func() { stopRelay(); <-relayDone })

	// Producer: one message per unit every few milliseconds, on 4 keys.
	var (
		mu        sync.Mutex
		committed []uow.Message
	)
	prodCtx, stopProd := context.WithCancel(ctx)
	prodDone := make(chan struct{})
	go func() {
		defer close(prodDone)
		for i := 0; prodCtx.Err() == nil; i++ {
			m := uow.Message{ID: fmt.Sprintf("m-%05d", i), Topic: "orders", Key: fmt.Sprint("k", i%4),
				Name: fmt.Sprint("E", i), Payload: []byte(fmt.Sprintf(`{"n":%d}`, i))}
			if err := uow.Do(ctx, producerStore, func(ctx context.Context, u *uow.Unit) error { return u.Emit(m) }, nil); err != nil {
				t.Errorf("producer commit %d: %v", i, err)
				return
			}
			mu.Lock()
			committed = append(committed, m)
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	t.Cleanup(func() { stopProd(); <-prodDone })
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(committed) }

	// Let it flow, then restart the server while the producer keeps committing.
	require.Eventually(t, func() bool { return published.Load() >= 100 }, 10*time.Second, 10*time.Millisecond)
	beforeKill, publishedBeforeKill := count(), published.Load()
	killed := time.Now()
	killNATS(t)
	waitPort(t, false, 10*time.Second)
	// Longer than the publish-ack timeout (2s): buffered publications time out, the relay
	// retries them, and the copies the client resends after the reconnect are deduplicated.
	time.Sleep(3 * time.Second)
	startNATS(t)
	waitPort(t, true, 30*time.Second)
	outage := time.Since(killed)
	duringOutage := count() - beforeKill
	require.Eventually(t, func() bool { return nc.Status() == nats.CONNECTED }, 30*time.Second, 10*time.Millisecond)
	reconnected := time.Since(killed)

	// Keep producing a little after the restart, then stop and drain.
	time.Sleep(time.Second)
	stopProd()
	<-prodDone
	mu.Lock()
	all := append([]uow.Message(nil), committed...)
	mu.Unlock()

	ledgerNow := func() *ledger {
		var l *ledger
		require.NoError(t, uow.Do(ctx, consumerStore, func(ctx context.Context, u *uow.Unit) error {
			var err error
			l, err = uow.Repo[ledger, ledgerID](u).Get(ctx, "l")
			return err
		}, nil))
		return l
	}
	deadline := time.Now().Add(60 * time.Second)
	var l *ledger
	for {
		l = ledgerNow()
		if len(producer.Messages()) == 0 && len(l.Seen) >= len(all) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not drained after 60s: %d of %d in the outbox, %d of %d took effect",
				len(producer.Messages()), len(all), len(l.Seen), len(all))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Let stray redeliveries (AckWait 2s) arrive, so that a second effect would show.
	time.Sleep(3 * time.Second)
	l = ledgerNow()

	want := map[string][]string{}
	for _, m := range all {
		require.Equal(t, 1, l.Seen[m.ID], "effects of %s", m.ID)
		want[m.Key] = append(want[m.Key], m.ID)
	}
	require.Len(t, l.Seen, len(all), "no effect of a message that was never committed")
	for k, ids := range want {
		require.Equal(t, ids, l.Order[k], "effect order of key %s is commit order", k)
	}
	info, err := stream.Info(ctx)
	require.NoError(t, err)

	t.Logf("committed %d (%d before the kill, %d during the outage), relay acked %d (%d batches had failures, the longest took %v), stream holds %d",
		len(all), beforeKill, duringOutage, published.Load(), failedBatches.Load(),
		time.Duration(longestBatch.Load()).Round(time.Millisecond), info.State.Msgs)
	t.Logf("published before the kill %d; consumer deliveries %d, effects %d, duplicates absorbed by the inbox %d",
		publishedBeforeKill, deliveries.Load(), len(l.Seen), absorbed.Load())
	t.Logf("outage (kill to port open) %v, client reconnected after %v; disconnects %d, reconnects %d",
		outage.Round(time.Millisecond), reconnected.Round(time.Millisecond), disconnects.Load(), reconnects.Load())
}

// testWriter sends log records to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dddkit/ddd/internal/testenv"
	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/outbox/natsjs"
)

// The -only nats part of the -relay mode measures the outbox end to end into NATS JetStream:
//
//	go run ./internal/bench -relay -only nats -messages 20000 -batches 100,1000 \
//	    -dsn 'postgres://...' -nats nats://127.0.0.1:4222
//
// For each -batches level it seeds -messages messages into a fresh outbox (as the drain does),
// creates a fresh JetStream stream (file storage, a unique name, deleted afterwards), and times one
// outbox.Relay publishing through natsjs.Publisher from its start until the stream holds every
// message and the outbox is empty. -relays is ignored: this part runs one relay.

// natsStall is how long the stream and the outbox may go without progress before a run fails.
const natsStall = 30 * time.Second

// natsResult is one drain of a seeded outbox into a JetStream stream.
type natsResult struct {
	batch    int
	messages int
	elapsed  time.Duration
	stream   string // the stream's name; it is deleted when the run returns
}

func (r natsResult) perSecond() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.messages) / r.elapsed.Seconds()
}

// runNATSBench runs the nats part against the PostgreSQL server at dsn and the NATS server at
// natsURL ("" means $DDD_TEST_NATS), prints its table to w and returns its rows.
func runNATSBench(ctx context.Context, w io.Writer, dsn, natsURL string, cfg relayConfig) ([]natsResult, error) {
	if natsURL == "" {
		natsURL = os.Getenv(testenv.NATSVar)
	}
	if natsURL == "" {
		return nil, fmt.Errorf("bench: -nats or %s is required for -only nats", testenv.NATSVar)
	}
	poolDSN, err := withPoolSize(dsn, 8)
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(natsURL)
	if err != nil {
		return nil, fmt.Errorf("bench: connecting to NATS: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("bench: jetstream: %w", err)
	}
	var results []natsResult
	for _, b := range cfg.batches {
		fmt.Fprintf(os.Stderr, "nats: 1 relay, batch %d: seeding %d messages\n", b, cfg.messages)
		r, err := natsDrainOnce(ctx, poolDSN, js, b, cfg)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "  %.0f msgs/s\n", r.perSecond())
		results = append(results, r)
	}
	natsReport(w, results)
	return results, nil
}

// natsDrainOnce seeds a fresh outbox with cfg.messages messages and times one relay at batch size
// batch publishing them into a fresh file-backed stream, until the stream holds them all and the
// outbox is empty.
func natsDrainOnce(ctx context.Context, poolDSN string, js jetstream.JetStream, batch int, cfg relayConfig) (natsResult, error) {
	s, err := newRelaySchema(ctx, poolDSN)
	if err != nil {
		return natsResult{}, err
	}
	defer s.close()
	if err := seedOutbox(ctx, s, cfg.messages, cfg.keys); err != nil {
		return natsResult{}, err
	}
	name := testenv.Name("BENCH_")
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: name, Subjects: []string{name + ".>"}, Storage: jetstream.FileStorage,
	})
	if err != nil {
		return natsResult{}, fmt.Errorf("bench: creating stream %s: %w", name, err)
	}
	defer func() { _ = js.DeleteStream(context.Background(), name) }()

	pub := natsjs.NewPublisher(js, &natsjs.Options{Prefix: name + "."})
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	relay := outbox.NewRelay(s.drv, pub, &outbox.RelayOptions{
		ID: "bench-nats", BatchSize: batch, PollInterval: cfg.drainPoll, Logger: logger,
	})
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	start := time.Now()
	wg.Go(func() { _ = relay.Run(rctx) })
	elapsed, werr := waitDrained(ctx, s, stream, cfg.messages, start)
	stop()
	wg.Wait()
	if werr != nil {
		return natsResult{}, werr
	}
	return natsResult{batch: batch, messages: cfg.messages, elapsed: elapsed, stream: name}, nil
}

// waitDrained polls until stream holds want messages and the outbox is empty, returning the time
// since start at which it saw both; it fails if neither moves for natsStall, or if the stream
// holds more than want.
func waitDrained(ctx context.Context, s *relaySchema, stream jetstream.Stream, want int, start time.Time) (time.Duration, error) {
	var (
		inStream   uint64
		left       = -1
		lastChange = time.Now()
	)
	for {
		info, err := stream.Info(ctx)
		if err != nil {
			return 0, fmt.Errorf("bench: stream info: %w", err)
		}
		if info.State.Msgs != inStream {
			inStream, lastChange = info.State.Msgs, time.Now()
		}
		if inStream > uint64(want) {
			return 0, fmt.Errorf("bench: the stream holds %d messages, %d were seeded", inStream, want)
		}
		if inStream == uint64(want) {
			var n int
			if err := s.drv.Pool().QueryRow(ctx, "SELECT count(*) FROM "+s.table).Scan(&n); err != nil {
				return 0, fmt.Errorf("bench: counting the outbox: %w", err)
			}
			if n == 0 {
				return time.Since(start), nil
			}
			if n != left {
				left, lastChange = n, time.Now()
			}
		}
		if time.Since(lastChange) > natsStall {
			return 0, fmt.Errorf("bench: no progress for %v: the stream holds %d of %d messages: %w",
				natsStall, inStream, want, errStalled)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// errStalled is wrapped by a run that stopped making progress.
var errStalled = errors.New("bench: drain stalled")

// natsReport prints one row per drain into JetStream.
func natsReport(w io.Writer, results []natsResult) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "driver\tpublisher\trelays\tbatch\tmessages\tseconds\tmsgs/s\t\n")
	for _, r := range results {
		fmt.Fprintf(tw, "postgres\tnatsjs (file)\t1\t%d\t%d\t%.2f\t%.0f\t\n", r.batch, r.messages,
			r.elapsed.Seconds(), r.perSecond())
	}
	_ = tw.Flush()
}

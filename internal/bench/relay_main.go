package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

// The -relay mode measures the outbox relay on PostgreSQL instead of transfers:
//
//	go run ./internal/bench -relay -driver postgres -dsn 'postgres://...' -messages 100000
//
// (a) it drains -messages messages seeded (with COPY, -keys keys) into a fresh outbox, once per
// -relays and -batches level, with outbox.Relay.Run and with a hand-written FOR UPDATE SKIP
// LOCKED loop, to an in-process counting publisher, in -rounds alternating rounds, and prints the
// median msgs/s and the ratio; (b) it
// commits -rate messages a second for -latency, with NOTIFY waking the relay and then with
// polling only at each -polls interval, and prints the commit-to-publish latency p50/p99.
//
// The mode has flags of its own, so it is dispatched before main's flags are parsed.
// relayMain parses the -relay mode's flags from args and runs it, printing the tables to w.
func relayMain(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("bench -relay", flag.ContinueOnError)
	var (
		_         = fs.Bool("relay", true, "measure the outbox relay (this mode)")
		driver    = fs.String("driver", "postgres", "postgres (the only driver of this mode)")
		dsn       = fs.String("dsn", "", "PostgreSQL DSN (default: $DDD_TEST_POSTGRES)")
		messages  = fs.Int("messages", 100_000, "messages seeded per drain")
		keys      = fs.Int("keys", 1000, "keys the seeded messages cycle through")
		rounds    = fs.Int("rounds", 1, "alternating rounds per drain level; medians are reported")
		batches   = fs.String("batches", "1,100,1000", "comma-separated batch sizes")
		relays    = fs.String("relays", "1,2", "comma-separated numbers of relays (and hand-written workers)")
		drainPoll = fs.Duration("drain-poll", 0, "the relays' PollInterval while draining (0: the library's default, 1s)")
		rate      = fs.Int("rate", 200, "commits per second in the latency runs")
		latency   = fs.Duration("latency", 5*time.Second, "how long each latency run commits")
		polls     = fs.String("polls", "1s,100ms", "polling-only latency runs, comma-separated intervals")
		only      = fs.String("only", "", "drain, latency or nats: run only that part")
		natsURL   = fs.String("nats", "", "NATS URL for -only nats, end to end into JetStream (default: $DDD_TEST_NATS)")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *driver != "postgres" {
		return fmt.Errorf("-relay measures postgres only, not %q", *driver)
	}
	if *dsn == "" {
		*dsn = os.Getenv("DDD_TEST_POSTGRES")
	}
	if *dsn == "" {
		return fmt.Errorf("-dsn or DDD_TEST_POSTGRES is required")
	}
	cfg := relayConfig{messages: *messages, rounds: *rounds, keys: *keys, drainPoll: *drainPoll, rate: *rate, latency: *latency}
	var err error
	if cfg.batches, err = parseLevels(*batches); err != nil {
		return fmt.Errorf("-batches: %w", err)
	}
	if cfg.workers, err = parseLevels(*relays); err != nil {
		return fmt.Errorf("-relays: %w", err)
	}
	if cfg.polls, err = parseDurations(*polls); err != nil {
		return fmt.Errorf("-polls: %w", err)
	}
	switch {
	case cfg.messages < 1 || cfg.keys < 1 || cfg.rounds < 1 || cfg.rate < 1 || cfg.latency <= 0:
		return fmt.Errorf("-messages, -keys, -rounds, -rate and -latency must be positive")
	case *only == "drain":
		cfg.skipLat = true
	case *only == "latency":
		cfg.skipDrain = true
	case *only == "nats":
		_, err = runNATSBench(ctx, w, *dsn, *natsURL, cfg)
		return err
	case *only != "":
		return fmt.Errorf("-only %q: drain, latency or nats", *only)
	}
	return runRelayBench(ctx, w, *dsn, cfg)
}

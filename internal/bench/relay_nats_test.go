package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/internal/testenv"
)

func TestNATSReport(t *testing.T) {
	var out bytes.Buffer
	natsReport(&out, []natsResult{
		{batch: 100, messages: 1000, elapsed: 2 * time.Second},
		{batch: 1000, messages: 1000, elapsed: 0},
	})
	s := out.String()
	require.Equal(t, 3, strings.Count(s, "\n"))
	require.Contains(t, s, "msgs/s")
	require.Contains(t, s, "2.00")
	require.Contains(t, s, "500")
}

func TestRelayMainNATSNeedsAURL(t *testing.T) {
	t.Setenv(testenv.PostgresVar, "postgres://nowhere")
	t.Setenv(testenv.NATSVar, "")
	err := relayMain(context.Background(), []string{"-relay", "-only", "nats"}, &bytes.Buffer{})
	require.ErrorContains(t, err, "-nats")
}

// TestNATSBenchEndToEnd drains 500 seeded messages into JetStream at two batch sizes: each run
// ends with the stream holding every message and the outbox empty (waitDrained checks both), and
// its stream is deleted afterwards.
func TestNATSBenchEndToEnd(t *testing.T) {
	dsn := testenv.Postgres(t)
	url := testenv.NATS(t)
	var out bytes.Buffer
	results, err := runNATSBench(context.Background(), &out, dsn, url, relayConfig{
		messages: 500, keys: 100, batches: []int{50, 1000}, drainPoll: 10 * time.Millisecond,
	})
	require.NoError(t, err)
	require.Len(t, results, 2)
	require.Equal(t, 3, strings.Count(out.String(), "\n"), out.String())

	nc, err := nats.Connect(url)
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	for _, r := range results {
		require.Equal(t, 500, r.messages)
		require.Positive(t, r.perSecond())
		_, err := js.Stream(context.Background(), r.stream)
		require.ErrorIs(t, err, jetstream.ErrStreamNotFound, "stream %s was deleted", r.stream)
	}
}

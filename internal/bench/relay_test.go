package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/internal/testenv"
	"github.com/dddkit/ddd/uow"
)

func TestParseDurations(t *testing.T) {
	got, err := parseDurations("1s, 100ms")
	require.NoError(t, err)
	require.Equal(t, []time.Duration{time.Second, 100 * time.Millisecond}, got)
	got, err = parseDurations(" ")
	require.NoError(t, err)
	require.Empty(t, got)
	for _, bad := range []string{"1s,", "x", "0s", "-1s"} {
		_, err := parseDurations(bad)
		require.Error(t, err, bad)
	}
}

func TestPercentiles(t *testing.T) {
	p50, p99, mx := percentiles(nil)
	require.Zero(t, p50+p99+mx)
	var d []time.Duration
	for i := 200; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	p50, p99, mx = percentiles(d)
	require.Equal(t, 101*time.Millisecond, p50)
	require.Equal(t, 199*time.Millisecond, p99)
	require.Equal(t, 200*time.Millisecond, mx)
}

func TestSeedRowSpreadsKeys(t *testing.T) {
	now := time.Now()
	a, b, c := seedRow(0, 3, now), seedRow(1, 3, now), seedRow(3, 3, now)
	require.NotEqual(t, a.Key, b.Key)
	require.Equal(t, a.Key, c.Key)
	require.NotEqual(t, a.ID, c.ID)
	require.Equal(t, now, a.CreatedAt)
	require.NotEmpty(t, a.Topic)
	require.NotEmpty(t, a.Name)
	require.Contains(t, string(a.Payload), `"amount":1`)
}

func TestCountingPublisherClosesDoneAtTarget(t *testing.T) {
	p := newCountingPublisher(3)
	require.NoError(t, p.Publish(context.Background(), make([]uow.Message, 2)))
	select {
	case <-p.done:
		t.Fatal("done before the target")
	default:
	}
	require.NoError(t, p.Publish(context.Background(), make([]uow.Message, 2)))
	require.NoError(t, p.Publish(context.Background(), make([]uow.Message, 1))) // no second close
	<-p.done
	require.EqualValues(t, 5, p.n.Load())
}

func TestDrainReportRatio(t *testing.T) {
	var out bytes.Buffer
	drainReport(&out, []drainResult{
		{impl: relayLibName, workers: 2, batch: 100, messages: 1000, elapsed: 2 * time.Second},
		{impl: relayHandName, workers: 2, batch: 100, messages: 1000, elapsed: time.Second},
		{impl: relayLibName, workers: 1, batch: 1, messages: 10, elapsed: time.Second},
	})
	s := out.String()
	require.Contains(t, s, "0.50x")
	require.Contains(t, s, "500")
	require.Equal(t, 4, strings.Count(s, "\n"))
}

func TestMedianDrain(t *testing.T) {
	rounds := []drainResult{{elapsed: 3 * time.Second}, {elapsed: time.Second}, {elapsed: 2 * time.Second}}
	require.Equal(t, 2*time.Second, medianDrain(rounds).elapsed)
	require.Equal(t, 3*time.Second, medianDrain(rounds[:1]).elapsed)
	require.Equal(t, 3*time.Second, medianDrain(rounds[:2]).elapsed, "the slower of the middle two")
}

func TestLatencyReport(t *testing.T) {
	var out bytes.Buffer
	latencyReport(&out, []latencyResult{{mode: "poll 100ms", rate: 200, messages: 1000, p50: 51 * time.Millisecond, p99: 99 * time.Millisecond, max: 101 * time.Millisecond}})
	require.Contains(t, out.String(), "poll 100ms")
	require.Contains(t, out.String(), "51ms")
}

func TestRelayMainRejectsBadFlags(t *testing.T) {
	t.Setenv("DDD_TEST_POSTGRES", "postgres://nowhere")
	ctx := context.Background()
	for _, args := range [][]string{
		{"-relay", "-driver", "sqlite"},
		{"-relay", "-batches", "0"},
		{"-relay", "-relays", "x"},
		{"-relay", "-polls", "fast"},
		{"-relay", "-messages", "0"},
		{"-relay", "-rounds", "0"},
		{"-relay", "-only", "both"},
	} {
		require.Error(t, relayMain(ctx, args, &bytes.Buffer{}), args)
	}
}

// TestRelayBenchOnPostgres runs both drains and the latency runs briefly on PostgreSQL: every
// seeded message is published once and the outbox ends empty (drainOnce checks it), and every
// committed message is published. The drain polls every 10ms: with 7 keys a claim of 50 takes
// at most 7 messages, and Run sleeps PollInterval after any batch that is not full.
func TestRelayBenchOnPostgres(t *testing.T) {
	dsn := testenv.Postgres(t)
	var out bytes.Buffer
	err := runRelayBench(context.Background(), &out, dsn, relayConfig{
		messages: 300, keys: 7, batches: []int{1, 50}, workers: []int{2}, drainPoll: 10 * time.Millisecond,
		rate: 100, latency: 300 * time.Millisecond, polls: []time.Duration{50 * time.Millisecond},
	})
	require.NoError(t, err)
	s := out.String()
	require.Contains(t, s, relayLibName)
	require.Contains(t, s, relayHandName)
	require.Contains(t, s, "NOTIFY")
	require.Contains(t, s, "poll 50ms")
}

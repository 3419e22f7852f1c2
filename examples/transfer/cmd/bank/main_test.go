package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/examples/transfer/internal/teststore"
)

// TestDemoDefault runs the README's main job as it is typed, with no flags, in a scratch
// directory: the books reconcile.
func TestDemoDefault(t *testing.T) {
	t.Chdir(t.TempDir())
	var out, errw bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"demo"}, &out, &errw), "%s\n%s", &out, &errw)
	s := out.String()
	assert.Contains(t, s, "bank demo: sqlite")
	assert.Regexp(t, `transfers: \d+ posted, \d+ refused`, s)
	assert.Contains(t, s, "USD: 100 accounts, balances 10000.00 USD, deposits 10000.00 USD")
	assert.Contains(t, s, "every balance equals its deposits + credits - debits")
	assert.Contains(t, s, "audit: every account agrees")
	assert.Contains(t, errw.String(), "transfers: 2000/2000") // the progress, off a terminal
	_, err := os.Stat("bank-demo.db")
	assert.True(t, os.IsNotExist(err), "the demo removes its fresh store")
}

// TestDemoStrategies runs a short demo with each strategy and contention on memory.
func TestDemoStrategies(t *testing.T) {
	for _, s := range []string{"optimistic", "pessimistic", "keyed", "eventual"} {
		for _, c := range []string{"uniform", "hot"} {
			t.Run(s+"/"+c, func(t *testing.T) {
				var out, errw bytes.Buffer
				err := run(t.Context(), []string{"demo", "--db", "memory", "--strategy", s, "--contention", c,
					"--accounts", "20", "--transfers", "300", "--balance", "5.00"}, &out, &errw)
				require.NoError(t, err, "%s\n%s", &out, &errw)
				assert.Contains(t, out.String(), "strategy "+s+", "+c+" contention")
				assert.Contains(t, out.String(), "USD: 20 accounts, balances 100.00 USD, deposits 100.00 USD")
				assert.Regexp(t, `outbox: \d+ messages relayed to the in-process bus`, out.String())
			})
		}
	}
}

// TestDemoPostgresNATS runs the demo on PostgreSQL with the outbox published to NATS JetStream:
// the stream receives every message the relay reports.
func TestDemoPostgresNATS(t *testing.T) {
	pg, natsURL := teststore.Service(t, "DDD_TEST_POSTGRES"), teststore.Service(t, "DDD_TEST_NATS")
	nc, err := nats.Connect(natsURL)
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	before := uint64(0)
	if st, err := js.Stream(t.Context(), stream); err == nil {
		info, err := st.Info(t.Context())
		require.NoError(t, err)
		before = info.State.Msgs
	}
	var out, errw bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"demo", "--db", pg, "--broker", natsURL, "--strategy", "keyed",
		"--accounts", "20", "--transfers", "200"}, &out, &errw), "%s\n%s", &out, &errw)
	m := regexp.MustCompile(`outbox: (\d+) messages relayed to NATS JetStream`).FindStringSubmatch(out.String())
	require.NotNil(t, m, out.String())
	st, err := js.Stream(t.Context(), stream)
	require.NoError(t, err)
	info, err := st.Info(t.Context())
	require.NoError(t, err)
	assert.Equal(t, m[1], strconv.FormatUint(info.State.Msgs-before, 10))
	assert.Contains(t, out.String(), "every balance equals")
}

// syncBuffer is a buffer written by one goroutine and read by another.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestServe starts bank serve on a free port, opens an account through the API, reads it back,
// and stops it with the context.
func TestServe(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var out, errw syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "--db", "memory", "--addr", "127.0.0.1:0"}, &out, &errw) }()
	var base string
	require.Eventually(t, func() bool {
		m := regexp.MustCompile(`serving on (http://\S+)`).FindStringSubmatch(out.String())
		if m != nil {
			base = m[1]
		}
		return m != nil
	}, 10*time.Second, 10*time.Millisecond)

	res, err := http.Post(base+"/commands/open-account", "application/json",
		strings.NewReader(`{"number":"000000000042","currency":"EUR"}`))
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusCreated, res.StatusCode)
	res, err = http.Get(base + "/accounts")
	require.NoError(t, err)
	var body bytes.Buffer
	_, _ = body.ReadFrom(res.Body)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body.String(), `"000000000042"`)

	// A request the HTTP server refuses before any handler runs is a problem too.
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	require.NoError(t, err)
	_, err = io.WriteString(c, "GET /accounts HTTP/1.1\r\n\r\n") // no Host
	require.NoError(t, err)
	raw, err := io.ReadAll(c)
	c.Close()
	require.NoError(t, err)
	res, err = http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	require.NoError(t, err)
	body.Reset()
	_, _ = body.ReadFrom(res.Body)
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
	assert.Contains(t, body.String(), `"code":"malformed_request"`)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// TestBadArguments checks the usage errors.
func TestBadArguments(t *testing.T) {
	for _, args := range [][]string{
		{"nonsense"},
		{"demo", "--strategy", "reckless"},
		{"demo", "--contention", "lukewarm"},
		{"demo", "--accounts", "1"},
		{"demo", "--balance", "ten"},
		{"demo", "--db", "oracle://nope"},
		{"serve", "--strategy", "default"},
		{"bench", "--goroutines", "0"},
		{"bench", "--strategies", "reckless"},
	} {
		var out, errw bytes.Buffer
		assert.Error(t, run(t.Context(), args, &out, &errw), "%q", args)
	}
	var out, errw bytes.Buffer
	assert.Error(t, run(t.Context(), nil, &out, &errw))
	assert.Contains(t, errw.String(), "usage: bank <command>")
}

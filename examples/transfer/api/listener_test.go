package api_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/examples/transfer"
	"github.com/dddkit/ddd/examples/transfer/api"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
)

// wire records, per connection, the bytes an http.Server wrote: a listener around
// api.NewListener's, so that a test can compare them with the bytes that reached the client.
type wire struct {
	net.Listener
	mu     sync.Mutex
	writes []*bytes.Buffer
}

func (w *wire) Accept() (net.Conn, error) {
	c, err := w.Listener.Accept()
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	b := &bytes.Buffer{}
	w.writes = append(w.writes, b)
	return &wireConn{Conn: c, mu: &w.mu, b: b}, nil
}

// written returns what the server wrote on the i-th connection.
func (w *wire) written(i int) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes[i].String()
}

type wireConn struct {
	net.Conn
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (c *wireConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.b.Write(p)
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// serveRaw serves h with an http.Server on 127.0.0.1:0 through api.NewListener (and, when w is
// not nil, w around it), and returns the address.
func serveRaw(t *testing.T, h http.Handler, w *wire) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var l net.Listener = api.NewListener(ln)
	if w != nil {
		w.Listener = l
		l = w
	}
	srv := &http.Server{Handler: h, MaxHeaderBytes: 1 << 10, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	return ln.Addr().String()
}

// exchange sends raw on a new connection and returns everything the server answers until it
// closes the connection.
func exchange(t *testing.T, addr, raw string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(20*time.Second)))
	_, err = io.WriteString(c, raw)
	require.NoError(t, err)
	b, err := io.ReadAll(c)
	require.NoError(t, err)
	return string(b)
}

// requireRawProblem reads one answer from raw and checks that it is a problem with the status
// and code, whose detail contains detail, and that nothing follows it.
func requireRawProblem(t *testing.T, raw string, status int, code, detail string) {
	t.Helper()
	r := bufio.NewReader(strings.NewReader(raw))
	res, err := http.ReadResponse(r, nil)
	require.NoError(t, err, "%q", raw)
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	assert.Equal(t, status, res.StatusCode, "%q", raw)
	assert.Equal(t, strconv.Itoa(status)+" "+http.StatusText(status), res.Status)
	assert.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
	assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
	assert.Equal(t, int64(len(body)), res.ContentLength, "a Content-Length")
	assert.True(t, res.Close, "Connection: close")
	p := requireProblem(t, response{status: res.StatusCode, header: res.Header, body: body}, status, code)
	assert.Contains(t, p.Detail, detail)
	rest, _ := io.ReadAll(r)
	assert.Empty(t, rest, "nothing after the answer")
}

func bankHandler(t *testing.T) http.Handler {
	t.Helper()
	b, err := transfer.New(uow.NewStore(memuow.New(nil), nil), nil)
	require.NoError(t, err)
	return api.New(b, nil)
}

// TestListenerAnswersServerErrorsAsProblems sends, over raw TCP, each kind of request that Go's
// HTTP server refuses before any handler runs: every answer is a problem, with the server's
// status.
func TestListenerAnswersServerErrorsAsProblems(t *testing.T) {
	addr := serveRaw(t, bankHandler(t), nil)
	cases := []struct {
		name, request string
		status        int
		code, detail  string
	}{
		{"malformed Content-Length", "POST /commands/deposit HTTP/1.1\r\nHost: bank\r\nContent-Length: abc\r\n\r\n",
			400, "malformed_request", "not valid HTTP/1.1"},
		{"two Content-Lengths", "POST /commands/deposit HTTP/1.1\r\nHost: bank\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
			400, "malformed_request", "not valid HTTP/1.1"},
		{"header over the limit", "GET /accounts HTTP/1.1\r\nHost: bank\r\nX-Padding: " + strings.Repeat("p", 8<<10) + "\r\n\r\n",
			431, "header_too_large", "header is larger"},
		{"malformed request line", "GARBAGE\r\n\r\n", 400, "malformed_request", "not valid HTTP/1.1"},
		{"unsupported Transfer-Encoding", "POST /commands/deposit HTTP/1.1\r\nHost: bank\r\nTransfer-Encoding: gzip\r\n\r\n",
			501, "unsupported_transfer_encoding", "Transfer-Encoding"},
		{"no Host", "GET /accounts HTTP/1.1\r\n\r\n", 400, "malformed_request", "missing required Host header"},
		{"malformed Host", "GET /accounts HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "malformed_request", "malformed Host header"},
		{"invalid header name", "GET /accounts HTTP/1.1\r\nHost: bank\r\nBad Name: x\r\n\r\n", 400, "malformed_request", "invalid header name"},
		{"control character in a header", "GET /accounts HTTP/1.1\r\nHost: bank\r\nX: a\x01b\r\n\r\n", 400, "malformed_request", "not valid"},
		{"HTTP/3.0", "GET /accounts HTTP/3.0\r\nHost: bank\r\n\r\n", 505, "http_version_not_supported", "HTTP/1.1"},
		{"unknown expectation", "GET /accounts HTTP/1.1\r\nHost: bank\r\nExpect: coffee\r\n\r\n", 417, "expectation_failed", "100-continue"},
		{"unknown expectation, HTTP/1.0", "GET /accounts HTTP/1.0\r\nExpect: coffee\r\n\r\n", 417, "expectation_failed", "100-continue"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			requireRawProblem(t, exchange(t, addr, c.request), c.status, c.code, c.detail)
		})
	}
}

// TestListenerPassesAnswersThrough checks that every byte the server writes for the handler,
// on keep-alive connections with pipelined requests, reaches the client unchanged, and that a
// refused request pipelined after good ones is a problem after their answers, unchanged.
func TestListenerPassesAnswersThrough(t *testing.T) {
	w := &wire{}
	addr := serveRaw(t, bankHandler(t), w)
	open := `{"number":"000000000001","currency":"USD"}`
	pipelined := "GET /accounts HTTP/1.1\r\nHost: bank\r\n\r\n" +
		"POST /commands/open-account HTTP/1.1\r\nHost: bank\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(open)) + "\r\n\r\n" + open +
		"GET /totals HTTP/1.1\r\nHost: bank\r\n\r\n" +
		"HEAD /accounts HTTP/1.1\r\nHost: bank\r\n\r\n" +
		"POST /commands/transfer HTTP/1.1\r\nHost: bank\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}" +
		"GET /accounts HTTP/1.1\r\nHost: bank\r\nConnection: close\r\n\r\n"
	got := exchange(t, addr, pipelined)
	assert.Equal(t, w.written(0), got, "the bytes the server wrote, unchanged")
	r := bufio.NewReader(strings.NewReader(got))
	for _, want := range []struct {
		method string
		status int
	}{{"GET", 200}, {"POST", 201}, {"GET", 200}, {"HEAD", 200}, {"POST", 422}, {"GET", 200}} {
		res, err := http.ReadResponse(r, &http.Request{Method: want.method})
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, res.Body)
		assert.Equal(t, want.status, res.StatusCode)
	}

	// Good requests, then one the server refuses itself: their answers, then the problem.
	got = exchange(t, addr, "GET /accounts HTTP/1.1\r\nHost: bank\r\n\r\nGET /totals HTTP/1.1\r\nHost: bank\r\n\r\nGARBAGE\r\n\r\n")
	server := w.written(1)
	answers, canned, ok := strings.Cut(server, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain")
	require.True(t, ok, "%q", server)
	require.Empty(t, strings.TrimPrefix(canned, "; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request"))
	require.True(t, strings.HasPrefix(got, answers), "the good answers unchanged")
	r = bufio.NewReader(strings.NewReader(got))
	for range 2 {
		res, err := http.ReadResponse(r, nil)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, res.Body)
		assert.Equal(t, 200, res.StatusCode)
	}
	rest, _ := io.ReadAll(r)
	requireRawProblem(t, string(rest), 400, "malformed_request", "not valid HTTP/1.1")
}

// TestListenerLeavesHandlersAlone serves handlers that answer what the server's own errors look
// like, text/plain 400, 431 and 417 with "Connection: close", and a body holding the server's
// error text: the client receives what the server wrote, byte for byte.
func TestListenerLeavesHandlersAlone(t *testing.T) {
	canned := "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request"
	mux := http.NewServeMux()
	mux.HandleFunc("/400", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		http.Error(w, "400 Bad Request", http.StatusBadRequest)
	})
	mux.HandleFunc("/431", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		w.Header()["Date"] = nil
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusRequestHeaderFieldsTooLarge)
		_, _ = io.WriteString(w, "431 Request Header Fields Too Large")
	})
	mux.HandleFunc("/417", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusExpectationFailed)
		_, _ = io.WriteString(w, "no")
	})
	mux.HandleFunc("/body", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, canned+strings.Repeat(canned, 3000)) // past the server's 4 KiB buffer
	})
	w := &wire{}
	addr := serveRaw(t, mux, w)
	for i, path := range []string{"/400", "/431", "/417", "/body"} {
		got := exchange(t, addr, "GET "+path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		assert.Equal(t, w.written(i), got, path)
		assert.NotContains(t, got, "problem+json", path)
	}
	// The HTTP/1.0 form of a body read until the connection closes.
	got := exchange(t, addr, "GET /body HTTP/1.0\r\n\r\n")
	assert.Equal(t, w.written(4), got)
}

func TestNewListenerNil(t *testing.T) {
	assert.Panics(t, func() { api.NewListener(nil) })
}

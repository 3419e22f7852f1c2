package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// NewListener returns l with each connection it accepts answering the HTTP server's own errors
// as problems: serve the API with srv.Serve(api.NewListener(ln)), and every answer it gives is a
// problem details object, not only the handler's.
//
// Go's http.Server answers some requests before any handler runs: a request line, a header or
// its framing it cannot read (400), a header over MaxHeaderBytes (431), a Transfer-Encoding
// other than chunked (501), an HTTP version it does not speak (505). It writes those answers,
// text/plain, straight to the connection, where no handler can change them. A connection of
// this listener recognises exactly those answers, a whole write of the server's fixed form, and
// writes instead an application/problem+json answer with the same status, a Content-Length and
// "Connection: close" (codes malformed_request, header_too_large, unsupported_transfer_encoding,
// http_version_not_supported; see the package documentation). The server also answers an Expect
// header other than 100-continue itself, with an empty 417 and "Connection: close": that answer
// becomes the expectation_failed problem (a handler's own empty 417 with "Connection: close"
// would too; the API's never answers 417). Every other byte, every answer of the handler
// included, passes through unchanged.
//
// The listener is for HTTP/1.x served in clear, as cmd/bank serves it: behind TLS the server
// writes to the TLS connection, and a listener wrapped by tls.NewListener sees only encrypted
// bytes (terminate TLS in front of the server, or leave those answers as they are). The
// connections keep the accepted connection's CloseWrite, which the server calls after a 431.
// NewListener panics if l is nil.
func NewListener(l net.Listener) net.Listener {
	if l == nil {
		panic("api: NewListener with a nil listener")
	}
	return &listener{l}
}

type listener struct{ net.Listener }

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &conn{c}, nil
}

// conn rewrites the server's canned error answers (see NewListener).
type conn struct{ net.Conn }

func (c *conn) Write(p []byte) (int, error) {
	answer, ok := problemFor(p)
	if !ok {
		answer, ok = expectationProblem(p)
	}
	if !ok {
		return c.Conn.Write(p)
	}
	if _, err := c.Conn.Write(answer); err != nil {
		return 0, err
	}
	return len(p), nil
}

// CloseWrite shuts down the writing side of the accepted connection, if it can (a TCP or Unix
// connection): net/http does it after a 431 so that the client reads the answer before the
// connection closes.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// cannedHeaders are the header lines of every error answer net/http's server writes to the
// connection itself (the errorHeaders of its conn.serve), between the status line and the body.
const cannedHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// The problem codes of the server's own answers.
const (
	codeMalformedRequest      = "malformed_request"
	codeHeaderTooLarge        = "header_too_large"
	codeUnsupportedEncoding   = "unsupported_transfer_encoding"
	codeHTTPVersion           = "http_version_not_supported"
	codeExpectationFailed     = "expectation_failed"
	teDetail                  = "Unsupported transfer encoding" // the body of the server's 501
	problemContentTypeHeaders = "Content-Type: application/problem+json\r\nX-Content-Type-Options: nosniff\r\n"
)

// problemFor returns the problem answer that replaces p when p is, whole, one of the answers
// net/http writes before any handler runs:
//
//	HTTP/1.1 <code> <reason><cannedHeaders><code> <reason>
//	HTTP/1.1 501 Not Implemented<cannedHeaders>Unsupported transfer encoding
//
// where reason is the status text, possibly followed by ": " and the server's own detail
// ("missing required Host header"). A handler's answer does not take this form unless built to
// mimic it byte for byte: net/http writes a handler's headers sorted (Connection before
// Content-Type) and adds Date and a Content-Length or Transfer-Encoding.
func problemFor(p []byte) ([]byte, bool) {
	rest, ok := bytes.CutPrefix(p, []byte("HTTP/1.1 "))
	if !ok {
		return nil, false
	}
	end := bytes.Index(rest, []byte("\r\n"))
	if end < 4 || !bytes.HasPrefix(rest[end:], []byte(cannedHeaders)) {
		return nil, false
	}
	line, body := string(rest[:end]), string(rest[end+len(cannedHeaders):])
	status, err := strconv.Atoi(line[:3])
	if err != nil || line[3] != ' ' || status < 400 || status > 599 {
		return nil, false
	}
	text := http.StatusText(status)
	reason := line[4:]
	detail, hasDetail := strings.CutPrefix(reason, text+": ")
	switch {
	case text == "":
		return nil, false
	case status == http.StatusNotImplemented && reason == text && body == teDetail:
	case body == line && (reason == text || hasDetail && detail != ""):
	default:
		return nil, false
	}
	if !hasDetail {
		detail = ""
	}
	code, title, what := serverProblem(status, detail)
	b := problemJSON(status, code, title, what)
	head := fmt.Sprintf("HTTP/1.1 %d %s\r\n%sContent-Length: %d\r\nConnection: close\r\n\r\n", status, text, problemContentTypeHeaders, len(b))
	return append([]byte(head), b...), true
}

// expectationProblem returns the problem answer that replaces p when p is, whole, the 417 that
// net/http writes for an Expect header other than 100-continue:
//
//	HTTP/1.x 417 Expectation Failed\r\nConnection: close\r\nDate: <date>\r\nContent-Length: 0\r\n\r\n
func expectationProblem(p []byte) ([]byte, bool) {
	const (
		status = "417 Expectation Failed\r\nConnection: close\r\nDate: "
		length = "\r\nContent-Length: 0\r\n\r\n"
	)
	if len(p) < len("HTTP/1.x ") || !bytes.HasPrefix(p, []byte("HTTP/1.")) || p[7] != '0' && p[7] != '1' || p[8] != ' ' {
		return nil, false
	}
	date, ok := bytes.CutPrefix(p[9:], []byte(status))
	if !ok {
		return nil, false
	}
	if date, ok = bytes.CutSuffix(date, []byte(length)); !ok || len(date) == 0 || bytes.ContainsAny(date, "\r\n") {
		return nil, false
	}
	b := problemJSON(http.StatusExpectationFailed, codeExpectationFailed, "Expectation failed",
		"the server meets no expectation but 100-continue: send the request without its Expect header")
	head := fmt.Sprintf("%s 417 Expectation Failed\r\nConnection: close\r\n%sDate: %s\r\nContent-Length: %d\r\n\r\n",
		p[:8], problemContentTypeHeaders, date, len(b))
	return append([]byte(head), b...), true
}

// problemJSON is the body of a problem answer.
func problemJSON(status int, code, title, detail string) []byte {
	b, _ := json.Marshal(problem{ // strings and an int: it always encodes
		Type:   problemTypeBase + strings.ReplaceAll(code, "_", "-"),
		Title:  title,
		Status: status,
		Detail: detail,
		Code:   code,
	})
	return append(b, '\n')
}

// serverProblem returns the code, title and detail of the problem answering the server's own
// error of this status; detail is the server's (after "Bad Request: "), or "".
func serverProblem(status int, detail string) (code, title, what string) {
	switch status {
	case http.StatusRequestHeaderFieldsTooLarge:
		return codeHeaderTooLarge, "Request header too large",
			"the request's header is larger than the server accepts"
	case http.StatusNotImplemented:
		return codeUnsupportedEncoding, "Unsupported transfer encoding",
			"the request's Transfer-Encoding is not one the server implements: send the body with a Content-Length or chunked"
	case http.StatusHTTPVersionNotSupported:
		return codeHTTPVersion, "HTTP version not supported",
			"the server speaks HTTP/1.0 and HTTP/1.1 here"
	}
	what = "the request is not valid HTTP/1.1: its request line, a header or its framing is malformed"
	if detail != "" {
		what = "the request is not valid HTTP/1.1: " + detail
	}
	title = "Malformed request"
	if status != http.StatusBadRequest {
		title = http.StatusText(status)
	}
	return codeMalformedRequest, title, what
}

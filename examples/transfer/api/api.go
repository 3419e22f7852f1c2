package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/dddkit/ddd/examples/transfer"
)

// defaultMaxBody is the largest command body accepted when Options.MaxBody is not set: 64 KiB.
const defaultMaxBody = 64 << 10

// Options tune the handler New returns. A nil *Options, like the zero value, means the
// defaults.
type Options struct {
	// Logger receives the technical errors (at Error level, with the error) and the commands
	// that ran out of retries (at Warn level); nil means slog.Default().
	Logger *slog.Logger
	// MaxBody is the largest command body accepted, in bytes: a larger one is answered 413.
	// Zero or less means 64 KiB.
	MaxBody int64
}

// server is the handler: the routes of the package documentation on one http.ServeMux.
type server struct {
	bank     *transfer.Bank
	finder   *transfer.Finder
	log      *slog.Logger
	maxBody  int64
	mux      *http.ServeMux
	commands map[string]func(http.ResponseWriter, *http.Request) error
}

// New returns the bank's HTTP JSON API on b: the commands and queries listed in the package
// documentation, answering every error as a problem details object. opts may be nil.
//
// The handler is safe for concurrent use. It serves paths from the root ("/commands/deposit",
// "/accounts"); to mount it under a prefix, wrap it in http.StripPrefix. New panics if b is
// nil.
func New(b *transfer.Bank, opts *Options) http.Handler {
	if b == nil {
		panic("api: New with a nil bank")
	}
	s := &server{bank: b, finder: b.Finder(), log: slog.Default(), maxBody: defaultMaxBody, mux: http.NewServeMux()}
	if opts != nil {
		if opts.Logger != nil {
			s.log = opts.Logger
		}
		if opts.MaxBody > 0 {
			s.maxBody = opts.MaxBody
		}
	}
	s.commands = map[string]func(http.ResponseWriter, *http.Request) error{
		"open-account": s.openAccount,
		"deposit":      s.deposit,
		"transfer":     s.transfer,
	}
	s.handle("POST /commands/{name}", s.command)
	s.handle("GET /accounts", s.balances)
	s.handle("GET /accounts/{number}/statement", s.statement)
	s.handle("GET /transfers", s.transfersOver)
	s.handle("GET /totals", s.totals)
	s.handle("GET /reconciliation", s.reconcile)
	return s
}

// handle registers h for pattern, answering the error it returns as a problem.
func (s *server) handle(pattern string, h func(http.ResponseWriter, *http.Request) error) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

// ServeHTTP routes r. A request no route matches gets ServeMux's answer, except that its 404 and
// 405 (which keeps its Allow header) are problem details like every other error.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern != "" {
		s.mux.ServeHTTP(w, r) // it sets the path values, which Handler does not
		return
	}
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	s.mux.ServeHTTP(rec, r)
	switch rec.status {
	case http.StatusNotFound:
		s.fail(w, r, &apiError{status: http.StatusNotFound, code: codeNotFound,
			detail: "no resource at " + r.URL.Path + "; see the package documentation for the routes"})
	case http.StatusMethodNotAllowed:
		if allow := rec.header.Values("Allow"); len(allow) > 0 {
			w.Header()["Allow"] = allow
		}
		s.fail(w, r, &apiError{status: http.StatusMethodNotAllowed, code: codeMethodNotAllowed,
			detail: "method " + r.Method + " is not allowed on " + r.URL.Path})
	default: // a redirect to the clean path, say
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
	}
}

// reply writes v as JSON with the status. An error (v does not encode) is technical, and
// nothing is written then.
func reply(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return nil
}

// recorder keeps what ServeMux answers to a request no route matches.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	wrote  bool
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

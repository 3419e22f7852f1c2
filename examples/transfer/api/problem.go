package api

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/examples/transfer"
	"github.com/dddkit/ddd/uow"
)

// problemTypeBase prefixes every problem type URI: the code follows, '_' written '-'.
const problemTypeBase = "https://dddkit.dev/problems/"

// The API's own problem codes; the business-rule codes are the bank's.
const (
	codeMalformedJSON    = "malformed_json"
	codeInvalidParameter = "invalid_parameter"
	codeBodyTooLarge     = "body_too_large"
	codeUnsupportedMedia = "unsupported_media_type"
	codeUnknownCommand   = "unknown_command"
	codeNotFound         = "not_found"
	codeMethodNotAllowed = "method_not_allowed"
	codeContention       = "contention"
	codeInternal         = "internal"
)

// titles are the titles of the API's own problem types.
var titles = map[string]string{
	codeMalformedJSON:    "Malformed JSON body",
	codeInvalidParameter: "Invalid parameter",
	codeBodyTooLarge:     "Request body too large",
	codeUnsupportedMedia: "Unsupported media type",
	codeUnknownCommand:   "Unknown command",
	codeNotFound:         "Not found",
	codeMethodNotAllowed: "Method not allowed",
	codeContention:       "Too much contention",
	codeInternal:         "Internal error",
}

// ruleStatus is the status of each business rule of the bank; a rule missing here is 422.
var ruleStatus = map[string]int{
	transfer.ErrInsufficientFunds.Code: http.StatusConflict,
	transfer.ErrDuplicateTransfer.Code: http.StatusConflict,
	transfer.ErrDuplicateDeposit.Code:  http.StatusConflict,
	transfer.ErrAccountExists.Code:     http.StatusConflict,
	transfer.ErrInvalidInput.Code:      http.StatusUnprocessableEntity,
	transfer.ErrSameAccount.Code:       http.StatusUnprocessableEntity,
	transfer.ErrCurrencyMismatch.Code:  http.StatusUnprocessableEntity,
	transfer.ErrUnknownAccount.Code:    http.StatusUnprocessableEntity,
}

// problem is an RFC 9457 problem details object, with the extension member "code".
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Code   string `json:"code"`
}

// apiError is a problem the API finds itself (in the request, or in its route), or a rule error
// answered with another status than ruleStatus's. title "" means the code's title.
type apiError struct {
	status              int
	code, title, detail string
}

func (e *apiError) Error() string { return e.code + ": " + e.detail }

// malformed returns the 400 problem of a body that is not the command's JSON object.
func malformed(detail string) error {
	return &apiError{status: http.StatusBadRequest, code: codeMalformedJSON, detail: detail}
}

// badParameter returns the 400 problem of a bad query parameter or path segment.
func badParameter(detail string) error {
	return &apiError{status: http.StatusBadRequest, code: codeInvalidParameter, detail: detail}
}

// fail answers err as a problem: the API's own, a business rule's (its detail is the error's
// message, written for users), 503 for conflicts that outlasted the retries, and otherwise a
// technical error, logged and answered 500 with a detail that reveals nothing of it.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		ae   *apiError
		rule *aggregate.RuleError
	)
	switch {
	case errors.As(err, &ae):
		writeProblem(w, ae.status, ae.code, ae.title, ae.detail)
	case errors.As(err, &rule):
		status, ok := ruleStatus[rule.Code]
		if !ok {
			status = http.StatusUnprocessableEntity
		}
		writeProblem(w, status, rule.Code, ruleTitle(rule), err.Error())
	case errors.Is(err, uow.ErrConflict):
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "api: command ran out of retries on conflicts",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		w.Header().Set("Retry-After", "1")
		writeProblem(w, http.StatusServiceUnavailable, codeContention, "",
			"concurrent requests changed the same accounts on every attempt; retry the request")
	default:
		s.log.LogAttrs(r.Context(), slog.LevelError, "api: technical error",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		writeProblem(w, http.StatusInternalServerError, codeInternal, "",
			"the server could not complete the request; the error was logged")
	}
}

// ruleTitle is the rule's message, capitalised: the same for every occurrence of the code.
func ruleTitle(rule *aggregate.RuleError) string {
	m := rule.Message
	if m != "" && m[0] >= 'a' && m[0] <= 'z' {
		m = string(m[0]-'a'+'A') + m[1:]
	}
	return m
}

// writeProblem writes a problem details object; title "" means the code's title.
func writeProblem(w http.ResponseWriter, status int, code, title, detail string) {
	if title == "" {
		title = titles[code]
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(problemJSON(status, code, title, detail))
}

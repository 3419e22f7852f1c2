package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/dddkit/ddd/examples/transfer"
	"github.com/dddkit/ddd/money"
)

// command runs the command named in the path, after checking that the body is JSON.
func (s *server) command(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	run, ok := s.commands[name]
	if !ok {
		return &apiError{status: http.StatusNotFound, code: codeUnknownCommand,
			detail: fmt.Sprintf("no command %q: the commands are open-account, deposit and transfer", name)}
	}
	if err := checkJSON(r.Header.Get("Content-Type")); err != nil {
		w.Header().Set("Accept-Post", "application/json")
		return err
	}
	return run(w, r)
}

// checkJSON returns the 415 problem unless the content type is application/json (in UTF-8, the
// only charset JSON has).
func checkJSON(contentType string) error {
	mt, params, err := mime.ParseMediaType(contentType)
	if err == nil && mt == "application/json" {
		if cs, ok := params["charset"]; !ok || strings.EqualFold(cs, "utf-8") {
			return nil
		}
	}
	shown := contentType
	if shown == "" {
		shown = "none"
	}
	return &apiError{status: http.StatusUnsupportedMediaType, code: codeUnsupportedMedia,
		detail: fmt.Sprintf("commands take Content-Type application/json, not %s", shown)}
}

// openAccountCommand is the body of open-account.
type openAccountCommand struct {
	Number   transfer.AccountNumber `json:"number"`
	Currency string                 `json:"currency"`
}

// openAccount opens an account: 201 with the number and currency.
func (s *server) openAccount(w http.ResponseWriter, r *http.Request) error {
	c, err := decode[openAccountCommand](w, r, s.maxBody)
	if err != nil {
		return err
	}
	cur, err := money.Lookup(c.Currency)
	if err != nil {
		return fmt.Errorf("%w: currency: %w", transfer.ErrInvalidInput, err)
	}
	if err := s.bank.OpenAccount(r.Context(), c.Number, cur); err != nil {
		return err
	}
	return reply(w, http.StatusCreated, openAccountCommand{Number: c.Number, Currency: cur.Code()})
}

// deposit makes a deposit: 200 with its outcome.
func (s *server) deposit(w http.ResponseWriter, r *http.Request) error {
	c, err := decode[transfer.DepositRequest](w, r, s.maxBody)
	if err != nil {
		return err
	}
	out, err := s.bank.Deposit(r.Context(), c)
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, out)
}

// transferCommand is the body of transfer: a transfer.Request and a strategy. The request's
// fields are repeated rather than embedded, so that decoding errors name the JSON field alone.
type transferCommand struct {
	Number transfer.TransferNumber `json:"number"`
	From   transfer.AccountNumber  `json:"from"`
	To     transfer.AccountNumber  `json:"to"`
	Amount money.Money             `json:"amount"`
	// Strategy is a strategy's name; "" means the bank's.
	Strategy string `json:"strategy"`
}

// transfer posts a transfer: 200 with its outcome.
func (s *server) transfer(w http.ResponseWriter, r *http.Request) error {
	c, err := decode[transferCommand](w, r, s.maxBody)
	if err != nil {
		return err
	}
	strategy := transfer.Default
	if c.Strategy != "" {
		if strategy, err = transfer.ParseStrategy(c.Strategy); err != nil {
			return err
		}
	}
	req := transfer.Request{Number: c.Number, From: c.From, To: c.To, Amount: c.Amount}
	out, err := s.bank.Transfer(r.Context(), req, strategy)
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, out) // the outcome names the strategy used
}

// decode reads the request's body, at most max bytes, and decodes it with decodeBody: exactly
// one JSON object of T's fields, named exactly, each once, and no others. Its errors are
// problems: 400 for a body that is not that, 413 for a body over max, and a rule error (422) for
// an amount of money in a well-formed object that money refuses (too many decimals, an unknown
// currency).
func decode[T any](w http.ResponseWriter, r *http.Request, max int64) (T, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var zero T
		return zero, bodyError(err)
	}
	return decodeBody[T](body)
}

// bodyError turns a decoding error into its problem.
func bodyError(err error) error {
	var (
		syntax    *json.SyntaxError
		wrongType *json.UnmarshalTypeError
		tooLarge  *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooLarge):
		return &apiError{status: http.StatusRequestEntityTooLarge, code: codeBodyTooLarge,
			detail: fmt.Sprintf("the body is larger than %d bytes", tooLarge.Limit)}
	case err == io.EOF:
		return malformed("the body is empty: want a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return malformed("the body ends inside a JSON value")
	case errors.As(err, &syntax):
		return malformed(fmt.Sprintf("malformed JSON at byte %d: %v", syntax.Offset, err))
	case errors.As(err, &wrongType):
		if wrongType.Field == "" {
			return malformed(fmt.Sprintf("want a JSON object, not %s", article(wrongType.Value)))
		}
		return malformed(fmt.Sprintf("field %q: want %s, not %s", wrongType.Field, kind(wrongType.Type), article(wrongType.Value)))
	case errors.Is(err, money.ErrSyntax):
		// Its message may name money's Go types: say what is wanted instead.
		return malformed(`an amount of money is malformed: want {"amount":"12.34","currency":"USD"}`)
	case isMoneyError(err):
		return fmt.Errorf("%w: %w", transfer.ErrInvalidInput, err)
	default: // an unknown field, or a body that could not be read
		return malformed(strings.TrimPrefix(err.Error(), "json: "))
	}
}

// isMoneyError reports whether err is money's (other than ErrSyntax): an amount that is well
// formed but refused.
func isMoneyError(err error) bool {
	for _, target := range []error{money.ErrUnknownCurrency, money.ErrInvalidCurrency, money.ErrPrecision,
		money.ErrOverflow, money.ErrInvalidArgument, money.ErrCurrencyMismatch} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// kind names the JSON value that decodes into t.
func kind(t reflect.Type) string {
	if t == nil {
		return "another value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "an object"
	}
}

// article prefixes a JSON value's description ("number", "array", "object") with its article.
func article(v string) string {
	if v != "" && strings.ContainsRune("aeiou", rune(v[0])) {
		return "an " + v
	}
	return "a " + v
}

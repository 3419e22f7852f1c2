package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/examples/transfer"
)

// The commands' shapes written out by hand, independently of shapeOf's reflection: each
// member's name, and whether its value is an amount of money.
var (
	refMoney    = map[string]bool{"amount": false, "currency": false, "minorUnits": false}
	refOpen     = map[string]bool{"number": false, "currency": false}
	refDeposit  = map[string]bool{"id": false, "account": false, "amount": true}
	refTransfer = map[string]bool{"number": false, "from": false, "to": false, "amount": true, "strategy": false}
)

// FuzzDecodeBody checks decodeBody against encoding/json and a reference check of the names,
// for every command: it never panics; it fails only with the 400 problem or a rule error (money
// refused an amount); what it accepts, encoding/json decodes to the same value, and it is one
// object whose names are the command's, exactly and once, in every object; and what
// encoding/json decodes from such a body, it accepts.
//
//	go test ./examples/transfer/api -run '^$' -fuzz FuzzDecodeBody -fuzztime 1m
func FuzzDecodeBody(f *testing.F) {
	for _, seed := range []string{
		`{"number":"000000000001","currency":"USD"}`,
		`{"id":"dep-1","account":"000000000001","amount":{"amount":"1.00","currency":"USD"}}`,
		`{"number":"tr-1","from":"000000000001","to":"000000000002","amount":{"amount":"2.50","currency":"USD"},"strategy":"keyed"}`,
		`{"NUMBER":"tr-1"}`,
		`{"Number":"tr-1","number":"tr-2"}`,
		`{"number":"tr-1","number":"tr-1"}`,
		`{"n\u0075mber":"tr-1","number":"tr-2"}`,
		`{"\u017Ftrategy":"keyed"}`, // ſ folds to s: encoding/json alone would take it for "strategy"
		`{"amount":{"Amount":"1.00","currency":"USD"}}`,
		`{"amount":{"amount":"1.00","amount":"2.00","currency":"USD"}}`,
		`{"amount":{"amount":"0.5","currency":"BTC","minorUnits":8}}`,
		`{"amount":{"amount":1.00,"currency":"USD"},"id":"d"}`,
		`{"amount":[{"a":1,"a":2}]}`,
		`{"currency":{"code":"USD","code":"EUR"}}`,
		`{"number":"x"} {"number":"y"}`,
		`{"number":"x"}x`,
		`{"number":"x"}` + "\n\t ",
		`[{"number":"x"}]`,
		`null`, `"s"`, `12`, `true`, ``, ` `, `{`, `{"number":`, `{"a":[[[[[]]]]]}`,
		"{\"number\":\"\xff\"}",
		`{"":"empty name"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkDecode[openAccountCommand](t, body, refOpen)
		checkDecode[transfer.DepositRequest](t, body, refDeposit)
		checkDecode[transferCommand](t, body, refTransfer)
	})
}

func checkDecode[T any](t *testing.T, body []byte, ref map[string]bool) {
	t.Helper()
	got, err := decodeBody[T](body)
	if err != nil {
		var (
			ae   *apiError
			rule *aggregate.RuleError
		)
		switch {
		case errors.As(err, &ae):
			if ae.status != 400 || ae.code != codeMalformedJSON || ae.detail == "" {
				t.Fatalf("%q: problem %+v, want a 400 malformed_json with a detail", body, ae)
			}
		case errors.As(err, &rule):
			if rule.Code != transfer.ErrInvalidInput.Code {
				t.Fatalf("%q: rule %v, want invalid_input", body, err)
			}
		default:
			t.Fatalf("%q: error %v is no problem", body, err)
		}
	}

	var want T
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	stdErr := dec.Decode(&want)
	if stdErr == nil && strings.Trim(string(body[dec.InputOffset():]), " \t\r\n") != "" {
		stdErr = errors.New("data after the value")
	}
	exact := exactNames(body, ref)

	if err == nil {
		if stdErr != nil {
			t.Fatalf("%q: accepted, but encoding/json refuses it: %v", body, stdErr)
		}
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if !bytes.Equal(g, w) {
			t.Fatalf("%q: decoded %s, encoding/json %s", body, g, w)
		}
		if !exact {
			t.Fatalf("%q: accepted, but its names are not exactly the command's, once each", body)
		}
		return
	}
	var rule *aggregate.RuleError
	if stdErr == nil && exact && !errors.As(err, &rule) {
		t.Fatalf("%q: refused (%v), but it is one object with exact names that encoding/json decodes", body, err)
	}
}

// exactNames is the reference check: body is one JSON object (and JSON whitespace), every
// object in it has each name once, the body's names are among ref's, and the members ref marks
// as money hold objects whose names are among refMoney's.
func exactNames(body []byte, ref map[string]bool) bool {
	if !json.Valid(body) || !bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{")) {
		return false
	}
	var walk func(dec *json.Decoder, names map[string]bool) bool
	walk = func(dec *json.Decoder, names map[string]bool) bool {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		d, ok := tok.(json.Delim)
		if !ok {
			return true
		}
		if d == '[' {
			for dec.More() {
				if !walk(dec, nil) {
					return false
				}
			}
			_, err := dec.Token()
			return err == nil
		}
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil || seen[tok.(string)] {
				return false
			}
			name := tok.(string)
			seen[name] = true
			var inner map[string]bool
			if names != nil {
				isMoney, ok := names[name]
				if !ok {
					return false
				}
				if isMoney {
					inner = refMoney
				}
			}
			if !walk(dec, inner) {
				return false
			}
		}
		_, err = dec.Token()
		return err == nil
	}
	return walk(json.NewDecoder(bytes.NewReader(body)), ref)
}

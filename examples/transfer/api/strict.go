package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/dddkit/ddd/money"
)

// encoding/json matches a member name to a field case-insensitively and keeps the last of two
// members with one name, so {"NUMBER":...} or {"number":"a","number":"b"} would each decode
// into a command. A command is money moving: the API reads exactly what the package
// documentation shows, or nothing. Before the body is decoded, strict walks the JSON value and
// checks every object against the shape of the Go value it decodes into: each member name spelled
// exactly as its json tag, none twice. encoding/json then decodes what strict accepted.

// shape is the JSON object a Go type decodes from: its member names, exactly as spelled, each
// with the shape of its own value. A nil *shape is a value whose member names are not checked:
// only that no object inside it has a member twice.
type shape struct {
	money   bool // an amount of money, as package money encodes it
	members map[string]*shape
}

// moneyShape is money.Money's JSON object, {"amount":"12.34","currency":"USD"}, with
// "minorUnits" for a custom currency (money.Money.MarshalJSON).
var moneyShape = &shape{money: true, members: map[string]*shape{"amount": nil, "currency": nil, "minorUnits": nil}}

// shapeOf returns the shape of the JSON object t decodes from, or nil for a value that is no
// object the API checks: the exported fields of a struct under their json names (an embedded
// struct's promoted), and money.Money's members.
func shapeOf(t reflect.Type) *shape {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[money.Money]() {
		return moneyShape
	}
	if t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) {
		return nil
	}
	s := &shape{members: map[string]*shape{}}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if !f.IsExported() && !f.Anonymous || tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			if inner := shapeOf(f.Type); inner != nil && !inner.money {
				for n, m := range inner.members {
					s.members[n] = m
				}
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		s.members[name] = shapeOf(f.Type)
	}
	return s
}

// strict checks the JSON value dec reads next, which encoding/json has found well formed: every
// object has each member once, and an object of shape s only s's members, spelled exactly. path
// names the value for the problem's detail ("" for the body). Its error is the 400 problem.
func (s *shape) strict(dec *json.Decoder, path string) error {
	tok, err := token(dec)
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('['):
		for dec.More() {
			if err := (*shape)(nil).strict(dec, path); err != nil {
				return err
			}
		}
		_, err = token(dec) // ]
		return err
	case json.Delim('{'):
	default:
		return nil // a string, a number, true, false or null
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := token(dec)
		if err != nil {
			return err
		}
		name, _ := tok.(string) // unescaped: "n\u0075mber" is "number"
		if seen[name] {
			return malformed(fmt.Sprintf("duplicate field %q%s: each field may appear once", name, s.in(path)))
		}
		seen[name] = true
		var inner *shape
		if s != nil {
			m, ok := s.members[name]
			if !ok {
				return malformed(s.unknown(name, path))
			}
			inner = m
		}
		child := name
		if path != "" {
			child = path + "." + name
		}
		if err := inner.strict(dec, child); err != nil {
			return err
		}
	}
	_, err = token(dec) // }
	return err
}

// token reads the next token of a value encoding/json has found well formed: an error would be
// a bug, answered as the 400 problem rather than a 500.
func token(dec *json.Decoder) (json.Token, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, malformed("malformed JSON: " + strings.TrimPrefix(err.Error(), "json: "))
	}
	return tok, nil
}

// in names the object at path for a detail: nothing for the body.
func (s *shape) in(path string) string {
	switch {
	case path == "":
		return ""
	case s != nil && s.money:
		return fmt.Sprintf(` in the amount of money %q`, path)
	}
	return fmt.Sprintf(" in %q", path)
}

// unknown is the detail of a member name that s does not have, naming the member it differs
// from only in case, if any.
func (s *shape) unknown(name, path string) string {
	d := fmt.Sprintf("unknown field %q%s", name, s.in(path))
	for m := range s.members {
		if strings.EqualFold(m, name) {
			return d + fmt.Sprintf(": field names are case-sensitive, did you mean %q?", m)
		}
	}
	if s.money {
		d += `: want {"amount":"12.34","currency":"USD"}`
	}
	return d
}

// decodeBody decodes body, a whole request body, into a T: exactly one JSON object (JSON
// whitespace around it) whose member names are T's json names, exactly, each at most once, and
// likewise inside its amounts of money. Its errors are problems: 400 for a body that is not
// that, and a rule error (422) for an amount of money in a well-formed object that money
// refuses (too many decimals, an unknown currency).
func decodeBody[T any](body []byte) (T, error) {
	var zero T
	dec := json.NewDecoder(bytes.NewReader(body))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil { // the syntax of the first value, its depth
		return zero, bodyError(err)
	}
	switch raw[0] {
	case '{':
	case 'n':
		return zero, malformed("the body is null: want a JSON object")
	default:
		return zero, malformed("want a JSON object, not " + article(jsonKind(raw[0])))
	}
	if strings.Trim(string(body[dec.InputOffset():]), " \t\r\n") != "" {
		return zero, malformed("data after the JSON object: want exactly one object")
	}
	if err := shapeOf(reflect.TypeFor[T]()).strict(json.NewDecoder(bytes.NewReader(raw)), ""); err != nil {
		return zero, err
	}
	var v T
	dec = json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields() // strict has made sure; kept as a second line
	if err := dec.Decode(&v); err != nil {
		return zero, bodyError(err)
	}
	return v, nil
}

// jsonKind names the JSON value that starts with c.
func jsonKind(c byte) string {
	switch c {
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	}
	return "number"
}

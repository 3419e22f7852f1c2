// Package jsonmatch compares top-level fields of JSON documents with query values the way the
// drivers of package uow must (driver.Querier): as JSON values, numbers exactly (1 == 1.0, 1e2 ==
// 100), strings, booleans and null by value; a missing field never matches. memuow filters with
// it, and the SQL drivers use it to finish what their SQL pre-filter leaves.
package jsonmatch

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"

	"github.com/dddkit/ddd/uow/driver"
)

// jsonKind is the type of a scalar JSON value; other is an object or array, equal to nothing.
type jsonKind uint8

const (
	jsonOther jsonKind = iota
	jsonNull
	jsonBool
	jsonString
	jsonNumber
)

// scalar is a JSON scalar in a form that compares exactly: numbers as rationals, so 1 == 1.0
// and 1e2 == 100.
type scalar struct {
	kind jsonKind
	b    bool
	s    string
	n    *big.Rat
}

func (a scalar) equal(b scalar) bool {
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case jsonNull:
		return true
	case jsonBool:
		return a.b == b.b
	case jsonString:
		return a.s == b.s
	case jsonNumber:
		return a.n.Cmp(b.n) == 0
	}
	return false
}

var (
	jsonNumberType    = reflect.TypeFor[json.Number]()
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// filterScalar converts the value of a filter field. It takes nil, json.Number and values whose
// kind is a string, bool, integer or float (named types such as type Status string included),
// except types with their own JSON or text encoding, which would not compare as their kind.
// Floats compare as the shortest decimal that reads back as the same float, the form
// encoding/json writes, so the filter value 0.1 matches the document number 0.1.
func filterScalar(name string, v any) (scalar, error) {
	if v == nil {
		return scalar{kind: jsonNull}, nil
	}
	rv := reflect.ValueOf(v)
	t := rv.Type()
	if t == jsonNumberType {
		n, ok := new(big.Rat).SetString(rv.String())
		if !ok {
			return scalar{}, fmt.Errorf("%w: filter field %q: %q is not a JSON number", driver.ErrInvalid, name, rv.String())
		}
		return scalar{kind: jsonNumber, n: n}, nil
	}
	if t.Implements(jsonMarshalerType) || t.Implements(textMarshalerType) {
		return scalar{}, fmt.Errorf("%w: filter field %q: unsupported value type %T", driver.ErrInvalid, name, v)
	}
	switch rv.Kind() {
	case reflect.String:
		return scalar{kind: jsonString, s: rv.String()}, nil
	case reflect.Bool:
		return scalar{kind: jsonBool, b: rv.Bool()}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return scalar{kind: jsonNumber, n: new(big.Rat).SetInt64(rv.Int())}, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return scalar{kind: jsonNumber, n: new(big.Rat).SetUint64(rv.Uint())}, nil
	case reflect.Float32, reflect.Float64:
		f := rv.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return scalar{}, fmt.Errorf("%w: filter field %q: %v is not a JSON number", driver.ErrInvalid, name, f)
		}
		bits := 64
		if rv.Kind() == reflect.Float32 {
			bits = 32
		}
		n, _ := new(big.Rat).SetString(strconv.FormatFloat(f, 'g', -1, bits))
		return scalar{kind: jsonNumber, n: n}, nil
	}
	return scalar{}, fmt.Errorf("%w: filter field %q: unsupported value type %T", driver.ErrInvalid, name, v)
}

// docScalar decodes one JSON value of a document; ok is false if it is not valid JSON.
func docScalar(raw json.RawMessage) (s scalar, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return scalar{}, false
	}
	switch v := v.(type) {
	case nil:
		return scalar{kind: jsonNull}, true
	case bool:
		return scalar{kind: jsonBool, b: v}, true
	case string:
		return scalar{kind: jsonString, s: v}, true
	case json.Number:
		n, ok := new(big.Rat).SetString(v.String())
		if !ok {
			return scalar{}, false
		}
		return scalar{kind: jsonNumber, n: n}, true
	}
	return scalar{kind: jsonOther}, true
}

// condition is a parsed filter field.
type condition struct {
	name  string
	value scalar
}

// Filter is a parsed list of field conditions. The zero Filter matches every document.
type Filter struct {
	conds []condition
}

// Parse checks the filter values and returns the Filter. A value that is not nil, a
// json.Number, or of a string, bool, integer or float kind (named types included, except types
// with their own JSON or text encoding) is an error wrapping driver.ErrInvalid.
func Parse(where []driver.Field) (Filter, error) {
	conds := make([]condition, len(where))
	for i, f := range where {
		v, err := filterScalar(f.Name, f.Value)
		if err != nil {
			return Filter{}, err
		}
		conds[i] = condition{name: f.Name, value: v}
	}
	return Filter{conds: conds}, nil
}

// Match reports whether the document data has every condition's field, equal to its value.
// A document that is not a JSON object matches only an empty filter.
func (f Filter) Match(data []byte) bool {
	conds := f.conds
	if len(conds) == 0 {
		return true
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return false
	}
	for _, c := range conds {
		raw, ok := doc[c.name]
		if !ok {
			return false
		}
		v, ok := docScalar(raw)
		if !ok || !v.equal(c.value) {
			return false
		}
	}
	return true
}

// Strings returns the conditions on string values, which SQL can pre-filter by the field's text
// (data->>'status' = 'open'); the others are checked by Match only.
func (f Filter) Strings() []driver.Field {
	var out []driver.Field
	for _, c := range f.conds {
		if c.value.kind == jsonString {
			out = append(out, driver.Field{Name: c.name, Value: c.value.s})
		}
	}
	return out
}

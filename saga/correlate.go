package saga

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/dddkit/ddd/uow"
)

// ByField returns a Correlator that reads the key from the top-level field name of the message's
// JSON payload: a string as it is, a number in its JSON text ("42"). A payload that is not a JSON
// object, a missing or null field, another JSON type and an empty string are errors wrapping
// ErrInvalid.
func ByField(name string) Correlator {
	return func(m uow.Message) (string, error) {
		return fieldKey(m.Payload, name)
	}
}

// fieldKey decodes only the payload's top level, keeping each value raw, and reads one field.
func fieldKey(payload []byte, name string) (string, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(payload, &top); err != nil {
		return "", fmt.Errorf("%w: payload is not a JSON object: %w", ErrInvalid, err)
	}
	raw, ok := top[name]
	if !ok || bytes.Equal(raw, []byte("null")) {
		return "", fmt.Errorf("%w: payload has no field %q", ErrInvalid, name)
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("%w: field %q: %w", ErrInvalid, name, err)
	}
	switch v := v.(type) {
	case string:
		if v == "" {
			return "", fmt.Errorf("%w: field %q is empty", ErrInvalid, name)
		}
		return v, nil
	case json.Number:
		return v.String(), nil
	default:
		return "", fmt.Errorf("%w: field %q is a %T, not a string or number", ErrInvalid, name, v)
	}
}

// ByHeader returns a Correlator that reads the key from the message header name (a reply that
// carries the saga key it answers, say). A missing or empty header is an error wrapping
// ErrInvalid.
func ByHeader(name string) Correlator {
	return func(m uow.Message) (string, error) {
		if k := m.Headers[name]; k != "" {
			return k, nil
		}
		return "", fmt.Errorf("%w: message has no header %q", ErrInvalid, name)
	}
}

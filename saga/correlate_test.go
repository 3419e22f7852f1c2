package saga_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/saga"
	"github.com/dddkit/ddd/uow"
)

func TestByField(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    string // "" means an error wrapping saga.ErrInvalid
	}{
		{name: "string", payload: `{"id":"order-7"}`, want: "order-7"},
		{name: "string among other fields", payload: `{"amount":3,"id":"order-7","tags":["a"]}`, want: "order-7"},
		{name: "whitespace around", payload: " \n{ \"id\" :\t\"order-7\" }\n", want: "order-7"},
		{name: "unicode escapes", payload: `{"id":"caf\u00e9-\ud83d\ude00"}`, want: "café-😀"},
		{name: "escaped quote", payload: `{"id":"a\"b"}`, want: `a"b`},
		{name: "top level beside a nested id", payload: `{"order":{"id":"inner"},"id":"outer"}`, want: "outer"},
		{name: "integer", payload: `{"id":42}`, want: "42"},
		{name: "integer with whitespace", payload: `{"id" : 42 }`, want: "42"},
		{name: "number kept as its JSON text", payload: `{"id":-1.5e3}`, want: "-1.5e3"},
		{name: "big integer kept exactly", payload: `{"id":12345678901234567890123}`, want: "12345678901234567890123"},
		{name: "zero", payload: `{"id":0}`, want: "0"},
		{name: "missing field", payload: `{"other":"order-7"}`},
		{name: "field names are case-sensitive", payload: `{"ID":"order-7"}`},
		{name: "only nested", payload: `{"order":{"id":"order-7"}}`},
		{name: "null", payload: `{"id":null}`},
		{name: "empty string", payload: `{"id":""}`},
		{name: "true", payload: `{"id":true}`},
		{name: "false", payload: `{"id":false}`},
		{name: "object", payload: `{"id":{"value":"order-7"}}`},
		{name: "array", payload: `{"id":["order-7"]}`},
		{name: "empty object", payload: `{}`},
		{name: "payload is an array", payload: `[{"id":"order-7"}]`},
		{name: "payload is a string", payload: `"order-7"`},
		{name: "payload is a number", payload: `42`},
		{name: "payload is null", payload: `null`},
		{name: "invalid JSON", payload: `{"id":"order-7"`},
		{name: "invalid JSON in another field", payload: `{"id":"order-7","x":}`},
		{name: "trailing data", payload: `{"id":"order-7"} {}`},
		{name: "empty payload", payload: ``},
		{name: "blank payload", payload: "  \n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := saga.ByField("id")(uow.Message{ID: "m1", Name: "OrderPlaced", Payload: []byte(tt.payload)})
			if tt.want == "" {
				require.ErrorIs(t, err, saga.ErrInvalid)
				assert.Empty(t, key)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, key)
		})
	}
}

func TestByFieldNilPayload(t *testing.T) {
	key, err := saga.ByField("id")(uow.Message{ID: "m1", Name: "OrderPlaced"})
	require.ErrorIs(t, err, saga.ErrInvalid)
	assert.Empty(t, key)
}

func TestByHeader(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string]string
		payload string
		want    string // "" means an error wrapping saga.ErrInvalid
	}{
		{name: "present", headers: map[string]string{"saga-key": "order-7"}, want: "order-7"},
		{name: "among other headers", headers: map[string]string{"correlation-id": "c", "saga-key": "order-7"}, want: "order-7"},
		{name: "payload not read", headers: map[string]string{"saga-key": "order-7"}, payload: `not JSON`, want: "order-7"},
		{name: "kept as it is", headers: map[string]string{"saga-key": " 42 "}, want: " 42 "},
		{name: "missing", headers: map[string]string{"correlation-id": "order-7"}},
		{name: "names are case-sensitive", headers: map[string]string{"Saga-Key": "order-7"}},
		{name: "empty", headers: map[string]string{"saga-key": ""}},
		{name: "no headers", headers: nil},
		{name: "in the payload only", payload: `{"saga-key":"order-7"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := uow.Message{ID: "m1", Name: "Reply", Headers: tt.headers, Payload: []byte(tt.payload)}
			key, err := saga.ByHeader("saga-key")(m)
			if tt.want == "" {
				require.ErrorIs(t, err, saga.ErrInvalid)
				assert.Empty(t, key)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, key)
		})
	}
}

// FuzzByField checks ByField("id") against encoding/json: it never panics, a key it returns
// is never empty, a non-empty string field is returned as encoding/json decodes it, a number
// field as its JSON text, and every error wraps ErrInvalid.
func FuzzByField(f *testing.F) {
	for _, seed := range []string{
		`{"id":"order-7"}`,
		`{"id":42}`,
		`{"id":-1.5e3}`,
		`{"id":"caf\u00e9 \ud83d\ude00"}`,
		`{"id":"\ud800"}`,
		`{"order":{"id":"inner","lines":[{"id":1}]},"id":"outer"}`,
		`{"order":{"id":"inner"}}`,
		`{"id":null}`,
		`{"id":""}`,
		`{"id":true}`,
		`{"id":{"id":"x"}}`,
		`{"id":["x"]}`,
		`["id"]`,
		`"id"`,
		`{"id":"order-7"`,
		`{"id":"a","id":"b"}`,
		"{\"id\":\"\xff\xfe\"}",
		``,
	} {
		f.Add([]byte(seed))
	}
	byID := saga.ByField("id")
	f.Fuzz(func(t *testing.T, payload []byte) {
		key, err := byID(uow.Message{ID: "m1", Name: "Fuzzed", Payload: payload})
		if err != nil {
			if !errors.Is(err, saga.ErrInvalid) {
				t.Fatalf("payload %q: error %v does not wrap ErrInvalid", payload, err)
			}
		} else if key == "" {
			t.Fatalf("payload %q: empty key without an error", payload)
		}

		var top map[string]json.RawMessage
		if json.Unmarshal(payload, &top) != nil {
			if err == nil {
				t.Fatalf("payload %q is not a JSON object, got key %q", payload, key)
			}
			return
		}
		raw, ok := top["id"]
		raw = bytes.TrimSpace(raw)
		var want string
		switch {
		case !ok || len(raw) == 0:
			want = ""
		case raw[0] == '"':
			if uerr := json.Unmarshal(raw, &want); uerr != nil {
				t.Fatalf("payload %q: encoding/json cannot decode the field it split: %v", payload, uerr)
			}
		case raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9':
			want = string(raw)
		}
		switch {
		case want == "" && err == nil:
			t.Fatalf("payload %q: field %s is no key, got %q", payload, raw, key)
		case want != "" && err != nil:
			t.Fatalf("payload %q: want key %q, got error %v", payload, want, err)
		case want != "" && key != want:
			t.Fatalf("payload %q: key %q, encoding/json decodes %q", payload, key, want)
		}
	})
}

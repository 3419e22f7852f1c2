package memuow_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
)

type status string

type textStatus string

func (s textStatus) MarshalText() ([]byte, error) { return []byte("T" + s), nil }

func TestFind(t *testing.T) {
	d := memuow.New(nil)
	require.NoError(t, commit(t, d, writes(
		ins("doc", "f", `{"n":"1"}`),
		ins("doc", "a", `{"n":1,"s":"x","b":true,"z":null,"f":0.1,"big":12345678901234567890,"obj":{"n":1},"arr":[1]}`),
		ins("doc", "c", `{"n":1e0,"s":"x"}`),
		ins("doc", "b", `{"n":1.0,"s":"y","b":false,"f":0.10000000000000001}`),
		ins("doc", "d", `{"n":2,"s":"1","n":3}`),
		ins("doc", "e", `[1,2]`),
		ins("doc", "g", `not json`),
		ins("other", "a", `{"n":1}`),
	)))
	tests := []struct {
		name  string
		where []uow.Field
		want  []string
	}{
		{"no filter: every record of the kind", nil, []string{"a", "b", "c", "d", "e", "f", "g"}},
		{"int", []uow.Field{{Name: "n", Value: 1}}, []string{"a", "b", "c"}},
		{"float equal to an int", []uow.Field{{Name: "n", Value: 1.0}}, []string{"a", "b", "c"}},
		{"json.Number", []uow.Field{{Name: "n", Value: json.Number("10e-1")}}, []string{"a", "b", "c"}},
		{"int8", []uow.Field{{Name: "n", Value: int8(1)}}, []string{"a", "b", "c"}},
		{"uint", []uow.Field{{Name: "n", Value: uint(1)}}, []string{"a", "b", "c"}},
		{"float32", []uow.Field{{Name: "n", Value: float32(1)}}, []string{"a", "b", "c"}},
		{"a duplicate field: the last one counts", []uow.Field{{Name: "n", Value: 3}}, []string{"d"}},
		{"number against a string", []uow.Field{{Name: "s", Value: 1}}, nil},
		{"string against a number", []uow.Field{{Name: "n", Value: "1"}}, []string{"f"}},
		{"string", []uow.Field{{Name: "s", Value: "x"}}, []string{"a", "c"}},
		{"named string type", []uow.Field{{Name: "s", Value: status("x")}}, []string{"a", "c"}},
		{"true", []uow.Field{{Name: "b", Value: true}}, []string{"a"}},
		{"false", []uow.Field{{Name: "b", Value: false}}, []string{"b"}},
		{"null", []uow.Field{{Name: "z", Value: nil}}, []string{"a"}},
		{"a missing field does not match nil", []uow.Field{{Name: "q", Value: nil}}, nil},
		{"float 0.1 as encoding/json writes it", []uow.Field{{Name: "f", Value: 0.1}}, []string{"a"}},
		{"float32 0.1", []uow.Field{{Name: "f", Value: float32(0.1)}}, []string{"a"}},
		{"exact decimal", []uow.Field{{Name: "f", Value: json.Number("0.10000000000000001")}}, []string{"b"}},
		{"big integer exactly", []uow.Field{{Name: "big", Value: uint64(12345678901234567890)}}, []string{"a"}},
		{"big integer against its float", []uow.Field{{Name: "big", Value: float64(12345678901234567890)}}, nil},
		{"objects match nothing", []uow.Field{{Name: "obj", Value: 1}}, nil},
		{"arrays match nothing", []uow.Field{{Name: "arr", Value: 1}}, nil},
		{"every field must match", []uow.Field{{Name: "n", Value: 1}, {Name: "s", Value: "x"}}, []string{"a", "c"}},
		{"no record matches", []uow.Field{{Name: "n", Value: 1}, {Name: "s", Value: "1"}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tx := begin(t, d)
			recs, err := tx.Find(t.Context(), "doc", tc.where)
			require.NoError(t, err)
			var ids []string
			for _, r := range recs {
				require.Equal(t, "doc", r.Kind)
				want, _ := d.Get("doc", r.ID)
				require.Equal(t, want, r)
				ids = append(ids, r.ID)
			}
			require.Equal(t, tc.want, ids)
		})
	}
}

func TestFindInvalidFilter(t *testing.T) {
	var nilString *string
	bad := map[string]any{
		"struct":       struct{}{},
		"slice":        []int{1},
		"map":          map[string]any{},
		"pointer":      nilString,
		"time":         time.Now(),
		"text encoded": textStatus("x"),
		"bad number":   json.Number("one"),
		"NaN":          math.NaN(),
		"infinity":     math.Inf(-1),
	}
	d := memuow.New(nil) // the filter fails even with no records
	for name, v := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := begin(t, d).Find(t.Context(), "doc", []uow.Field{{Name: "s", Value: "x"}, {Name: "n", Value: v}})
			require.ErrorIs(t, err, uow.ErrInvalid)
			require.ErrorContains(t, err, `"n"`)
		})
	}
}

package jsonmatch

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/dddkit/ddd/uow"
)

func TestMatch(t *testing.T) {
	doc := []byte(`{"status":"open","n":1,"big":100,"ok":true,"gone":null,"obj":{"a":1}}`)
	type status string
	tests := []struct {
		name  string
		where []uow.Field
		want  bool
	}{
		{"no conditions", nil, true},
		{"string", []uow.Field{{Name: "status", Value: "open"}}, true},
		{"named string type", []uow.Field{{Name: "status", Value: status("open")}}, true},
		{"other string", []uow.Field{{Name: "status", Value: "closed"}}, false},
		{"integer equals 1.0", []uow.Field{{Name: "n", Value: 1.0}}, true},
		{"exponent", []uow.Field{{Name: "big", Value: json.Number("1e2")}}, true},
		{"number is not its text", []uow.Field{{Name: "n", Value: "1"}}, false},
		{"bool", []uow.Field{{Name: "ok", Value: true}}, true},
		{"null", []uow.Field{{Name: "gone", Value: nil}}, true},
		{"missing field is not null", []uow.Field{{Name: "absent", Value: nil}}, false},
		{"object equals nothing", []uow.Field{{Name: "obj", Value: "x"}}, false},
		{"all must hold", []uow.Field{{Name: "status", Value: "open"}, {Name: "n", Value: 2}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(tt.where)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Match(doc); got != tt.want {
				t.Fatalf("Match = %v, want %v", got, tt.want)
			}
		})
	}
	f, _ := Parse([]uow.Field{{Name: "status", Value: "open"}})
	if f.Match([]byte(`[1,2]`)) || f.Match([]byte(`not json`)) {
		t.Fatal("a document that is not an object matches only an empty filter")
	}
}

func TestParseRejectsUnsupportedValues(t *testing.T) {
	for _, v := range []any{struct{}{}, []int{1}, map[string]int{}, json.RawMessage(`1`)} {
		if _, err := Parse([]uow.Field{{Name: "x", Value: v}}); !errors.Is(err, uow.ErrInvalid) {
			t.Errorf("Parse(%T) = %v, want ErrInvalid", v, err)
		}
	}
}

func TestStrings(t *testing.T) {
	f, err := Parse([]uow.Field{{Name: "a", Value: "x"}, {Name: "b", Value: 1}, {Name: "c", Value: "y"}})
	if err != nil {
		t.Fatal(err)
	}
	got := f.Strings()
	if len(got) != 2 || got[0] != (uow.Field{Name: "a", Value: "x"}) || got[1] != (uow.Field{Name: "c", Value: "y"}) {
		t.Fatalf("Strings = %v", got)
	}
}

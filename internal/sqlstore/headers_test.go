package sqlstore

import (
	"encoding/json"
	"maps"
	"testing"
)

// headerSeeds are inputs of the headers column: what uow writes, and forms the fast path must
// leave to encoding/json or reject.
var headerSeeds = []string{
	`{}`, `null`, `{"a":"b"}`, `{"correlation-id":"c-1","aggregate-type":"account"}`,
	` { "a" : "b" , "c":"d" } `, `{"a":"b","a":"c"}`, `{"a":"\u003c"}`, `{"a":"x\"y"}`,
	`{"é":"ü"}`, "{\"a\":\"\xff\"}", `{"a":1}`, `{"a":null}`, `{"a":"b",}`, `{"a" "b"}`, `{"a":"b"`,
	`{"a":"b"}x`, `[]`, `"a"`, ``, `{`, `{"a":"b"}}`, "{\"a\":\"\x7f\"}", "{\"a\":\"\t\"}",
}

func TestDecodeHeadersMatchesEncodingJSON(t *testing.T) {
	for _, s := range headerSeeds {
		checkHeaders(t, []byte(s))
	}
	if h, ok := plainHeaders([]byte(`{"a":"b","c":"d"}`)); !ok || len(h) != 2 {
		t.Errorf("plainHeaders of a flat object of plain strings = %v, %v; want it read directly", h, ok)
	}
}

func FuzzDecodeHeaders(f *testing.F) {
	for _, s := range headerSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkHeaders)
}

// checkHeaders fails t unless decodeHeaders(b) is what json.Unmarshal into a map[string]string
// gives: the same map, or an error for the same inputs.
func checkHeaders(t *testing.T, b []byte) {
	var want map[string]string
	wantErr := json.Unmarshal(b, &want)
	got, err := decodeHeaders(b)
	switch {
	case (err != nil) != (wantErr != nil):
		t.Fatalf("decodeHeaders(%q) error = %v, encoding/json's = %v", b, err, wantErr)
	case err == nil && (!maps.Equal(got, want) || (got == nil) != (want == nil)):
		t.Fatalf("decodeHeaders(%q) = %#v, encoding/json gives %#v", b, got, want)
	}
}

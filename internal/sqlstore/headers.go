package sqlstore

import "encoding/json"

// decodeHeaders decodes a message's headers column, a JSON object of strings (or null), as
// json.Unmarshal into a map[string]string does. Relays decode one per message, so the common
// form, a flat object whose keys and values are printable ASCII with no escapes (what uow writes
// for ordinary headers), is read directly; anything else goes to encoding/json.
func decodeHeaders(b []byte) (map[string]string, error) {
	if h, ok := plainHeaders(b); ok {
		return h, nil
	}
	var h map[string]string
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, err
	}
	return h, nil
}

// plainHeaders reads b when it is an object of plain strings: printable ASCII, no backslash.
// ok is false for any other input, valid JSON or not.
func plainHeaders(b []byte) (h map[string]string, ok bool) {
	i := skipSpace(b, 0)
	if i == len(b) || b[i] != '{' {
		return nil, false
	}
	i = skipSpace(b, i+1)
	h = map[string]string{}
	if i < len(b) && b[i] == '}' {
		return h, skipSpace(b, i+1) == len(b)
	}
	for {
		var k, v string
		if k, i, ok = plainString(b, i); !ok {
			return nil, false
		}
		if i = skipSpace(b, i); i == len(b) || b[i] != ':' {
			return nil, false
		}
		if v, i, ok = plainString(b, skipSpace(b, i+1)); !ok {
			return nil, false
		}
		h[k] = v
		if i = skipSpace(b, i); i == len(b) {
			return nil, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return h, skipSpace(b, i+1) == len(b)
		default:
			return nil, false
		}
	}
}

// plainString reads the string starting at b[i] (its opening quote) when it holds only
// printable ASCII other than the backslash, and returns it and the index after its closing
// quote.
func plainString(b []byte, i int) (s string, next int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return "", 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return string(b[i+1 : j]), j + 1, true
		case c < 0x20 || c >= 0x7f || c == '\\':
			return "", 0, false
		}
	}
	return "", 0, false
}

// skipSpace returns the index of the first byte from i that is not JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

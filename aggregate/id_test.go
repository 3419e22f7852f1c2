package aggregate_test

import (
	"encoding/hex"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/aggregate"
)

type orderID string

// canonicalV7 is a lower-case canonical UUID with version 7 and the RFC 4122 variant.
var canonicalV7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewIDIsCanonicalUUIDv7(t *testing.T) {
	before := time.Now()
	const n = 1000
	seen := make(map[orderID]struct{}, n)
	for range n {
		id := aggregate.NewID[orderID]()
		require.Len(t, id, 36)
		require.Regexp(t, canonicalV7, string(id))
		require.Equal(t, strings.ToLower(string(id)), string(id))

		parsed, err := aggregate.ParseID[orderID](string(id))
		require.NoError(t, err)
		require.Equal(t, id, parsed)

		_, dup := seen[id]
		require.False(t, dup, "duplicate ID %s", id)
		seen[id] = struct{}{}
	}
	after := time.Now()

	// The first 48 bits are the Unix time in milliseconds. google/uuid may run the timestamp a
	// little ahead of the clock to keep IDs increasing, so only check a loose bound.
	id := aggregate.NewID[orderID]()
	ms := unixMillis(t, string(id))
	require.GreaterOrEqual(t, ms, before.Add(-time.Minute).UnixMilli())
	require.LessOrEqual(t, ms, after.Add(time.Minute).UnixMilli())
}

// unixMillis returns the 48-bit millisecond timestamp of a UUIDv7.
func unixMillis(t *testing.T, id string) int64 {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(id, "-", "")[:12])
	require.NoError(t, err)
	var ms int64
	for _, c := range b {
		ms = ms<<8 | int64(c)
	}
	return ms
}

// google/uuid v1.6.0 guarantees that the 64 high bits of successive NewV7 UUIDs in one process
// (48-bit milliseconds, version, 12-bit sequence) strictly increase, even within one millisecond
// or when the wall clock steps back: getV7Time keeps the last value under a mutex. As canonical
// lower-case hex preserves that order, IDs generated one after the other sort as strings.
func TestNewIDIncreasesInSequence(t *testing.T) {
	prev := aggregate.NewID[orderID]()
	for range 10_000 {
		next := aggregate.NewID[orderID]()
		require.Less(t, string(prev), string(next))
		prev = next
	}
}

func TestNewIDIncreasesAcrossMilliseconds(t *testing.T) {
	a := aggregate.NewID[orderID]()
	time.Sleep(2 * time.Millisecond)
	b := aggregate.NewID[orderID]()
	require.Less(t, string(a), string(b))
	require.LessOrEqual(t, unixMillis(t, string(a)), unixMillis(t, string(b)))
}

func TestNewIDConcurrent(t *testing.T) {
	const goroutines, each = 8, 200
	var (
		mu   sync.Mutex
		seen = make(map[orderID]struct{}, goroutines*each)
		wg   sync.WaitGroup
	)
	for range goroutines {
		wg.Go(func() {
			ids := make([]orderID, each)
			for i := range ids {
				ids[i] = aggregate.NewID[orderID]()
			}
			mu.Lock()
			defer mu.Unlock()
			for _, id := range ids {
				seen[id] = struct{}{}
			}
		})
	}
	wg.Wait()
	require.Len(t, seen, goroutines*each)
}

func TestParseID(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    orderID
		wantErr bool
	}{
		{name: "lower case v7", in: "01890a5d-ac96-774b-bcce-b302099a8057", want: "01890a5d-ac96-774b-bcce-b302099a8057"},
		{name: "upper case", in: "01890A5D-AC96-774B-BCCE-B302099A8057", want: "01890a5d-ac96-774b-bcce-b302099a8057"},
		{name: "mixed case", in: "01890a5D-Ac96-774b-BCCE-b302099a8057", want: "01890a5d-ac96-774b-bcce-b302099a8057"},
		{name: "v4 accepted", in: "f47ac10b-58cc-4372-a567-0e02b2c3d479", want: "f47ac10b-58cc-4372-a567-0e02b2c3d479"},
		{name: "max UUID accepted", in: "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", want: "ffffffff-ffff-ffff-ffff-ffffffffffff"},

		{name: "empty", in: "", wantErr: true},
		{name: "nil UUID", in: "00000000-0000-0000-0000-000000000000", wantErr: true},
		{name: "32 hex without dashes", in: "01890a5dac96774bbcceb302099a8057", wantErr: true},
		{name: "urn form", in: "urn:uuid:01890a5d-ac96-774b-bcce-b302099a8057", wantErr: true},
		{name: "braces", in: "{01890a5d-ac96-774b-bcce-b302099a8057}", wantErr: true},
		{name: "garbage", in: "not-a-uuid", wantErr: true},
		{name: "garbage of the right length", in: "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", wantErr: true},
		{name: "dashes misplaced", in: "01890a5da-c96-774b-bcce-b302099a8057", wantErr: true},
		{name: "leading space", in: " 01890a5d-ac96-774b-bcce-b302099a805", wantErr: true},
		{name: "trailing space", in: "01890a5d-ac96-774b-bcce-b302099a8057 ", wantErr: true},
		{name: "too short", in: "01890a5d-ac96-774b-bcce-b302099a805", wantErr: true},
		{name: "too long", in: "01890a5d-ac96-774b-bcce-b302099a80570", wantErr: true},
		{name: "very long", in: strings.Repeat("a", 10_000), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := aggregate.ParseID[orderID](tc.in)
			if tc.wantErr {
				require.ErrorIs(t, err, aggregate.ErrInvalidID)
				require.Empty(t, got)
				require.Less(t, len(err.Error()), 200, "the error message stays short")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseIDReturnsTheRequestedType(t *testing.T) {
	type A string
	type B string
	const s = "01890a5d-ac96-774b-bcce-b302099a8057"

	a, err := aggregate.ParseID[A](s)
	require.NoError(t, err)
	b, err := aggregate.ParseID[B](s)
	require.NoError(t, err)

	// A and B are distinct types: a == b would not compile. Each value has its own type.
	require.IsType(t, A(""), a)
	require.IsType(t, B(""), b)
	require.Equal(t, A(s), a)
	require.Equal(t, B(s), b)
	require.IsType(t, A(""), aggregate.NewID[A]())
}
